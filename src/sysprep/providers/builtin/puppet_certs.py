"""puppet-certs: remove the Puppet agent's certificates and keys."""

from __future__ import annotations

from sysprep.providers.actions import Clean
from sysprep.providers.base import Phase, Provider

CLEAN = ("etc/puppetlabs/puppet/ssl", "var/lib/puppet/ssl", "etc/puppet/ssl")


PROVIDER = Provider(
    name="puppet-certs",
    heading="Remove the Puppet agent certificates",
    description=(
        "Empties the Puppet agent's SSL folder (Puppet's own packages or the distribution's): "
        "the agent's key, "
        "its signed certificate and its certificate request carry the template's certname. "
        "Each clone requests a certificate of its own."
    ),
    phase=Phase.GENERALIZE,
    actions=(Clean(*CLEAN),),
    limits="A certname fixed in puppet.conf is not changed.",
)
