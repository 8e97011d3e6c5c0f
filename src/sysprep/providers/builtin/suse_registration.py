"""suse-registration: remove the SUSE Customer Center registration (activation)."""

from __future__ import annotations

from sysprep.providers.base import ACTIVATION, Context, Phase, Provider

SIGNS = ("etc/zypp/credentials.d/SCCcredentials", "etc/SUSEConnect")
REMOVE = (
    "etc/SUSEConnect",
    "etc/zypp/credentials.d/*",
    "etc/zypp/services.d/*.service",
    "var/cache/cloudregister/*",
)


def run(ctx: Context) -> None:
    if any(ctx.fs.exists(s) for s in SIGNS):  # registered: otherwise there is nothing to undo
        ctx.remove(*REMOVE)


PROVIDER = Provider(
    name="suse-registration",
    heading="Remove the SUSE Customer Center registration",
    description=(
        "On a system registered with SUSEConnect (SCC, RMT or SMT): removes the system "
        "credentials, the registration's configuration, the zypper services and their "
        "credentials, and the public cloud registration cache, as 'SUSEConnect --cleanup' "
        "and 'registercloudguest --clean' do. Each clone registers on its own. Skipped with "
        "SkipRearm."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({ACTIVATION}),
    paths=tuple("/" + p for p in REMOVE),
    registration=SIGNS,
    limits="Repositories the removed services had added stay in /etc/zypp/repos.d until the "
    "clone registers again.",
)
