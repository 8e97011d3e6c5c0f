"""puppet-certs: remove the Puppet agent's certificates and keys."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

CLEAN = ("etc/puppetlabs/puppet/ssl", "var/lib/puppet/ssl", "etc/puppet/ssl")


def run(ctx: Context) -> None:
    ctx.clean(*CLEAN)


PROVIDER = Provider(
    name="puppet-certs",
    heading="Remove the Puppet agent certificates",
    description=(
        "Empties the Puppet agent's SSL folder (/etc/puppetlabs/puppet/ssl, or "
        "/var/lib/puppet/ssl and /etc/puppet/ssl for distribution packages): the agent's key, "
        "its signed certificate and its certificate request carry the template's certname. "
        "Each clone requests a certificate of its own."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple(f"/{p}/*" for p in CLEAN),
    limits="A certname fixed in puppet.conf is not changed.",
)
