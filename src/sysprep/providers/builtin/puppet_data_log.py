"""puppet-data-log: remove the data and logs of the Puppet agent."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = (
    "var/log/puppet/*",
    "var/lib/puppet/*/*",
    "var/lib/puppet/*/*/*",
    "var/log/puppetlabs/puppet/*",
    "opt/puppetlabs/puppet/cache/*/*",
    "opt/puppetlabs/puppet/cache/*/*/*",
)


PROVIDER = Provider(
    name="puppet-data-log",
    heading="Remove the data and log files of puppet",
    description=(
        "Removes the files of the Puppet agent's state and logs: /var/lib/puppet and "
        "/var/log/puppet (distribution packages), and the same under /opt/puppetlabs and "
        "/var/log/puppetlabs (Puppet's own packages). The folders stay. The agent's "
        "certificates under /etc/puppetlabs are removed by puppet-certs."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS, files_only=True),),
)
