"""rhn-systemid: remove the Red Hat Network system ID (activation)."""

from __future__ import annotations

from sysprep.providers.base import ACTIVATION, Context, Phase, Provider

PATHS = ("etc/sysconfig/rhn/systemid", "etc/sysconfig/rhn/systemid.save")


def run(ctx: Context) -> None:
    ctx.remove(*PATHS)


PROVIDER = Provider(
    name="rhn-systemid",
    heading="Remove the RHN system ID",
    description=(
        "Removes /etc/sysconfig/rhn/systemid, this machine's registration with Red Hat "
        "Network, Satellite 5, Spacewalk or Oracle's ULN, so that clones register on "
        "their own. Wherever the file exists, whatever the distribution says it is."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({ACTIVATION}),
    paths=tuple("/" + p for p in PATHS),
    registration=PATHS,
)
