"""flag-reconfiguration: ask for the system to be reconfigured at the next boot (off)."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

FLAG = ".unconfigured"


def run(ctx: Context) -> None:
    if not ctx.fs.exists(FLAG):
        ctx.write(FLAG, b"", mode=0o644)


PROVIDER = Provider(
    name="flag-reconfiguration",
    heading="Flag the system for reconfiguration",
    description=(
        "Creates /.unconfigured, which makes the Red Hat initial-setup (firstboot) tools "
        "reconfigure the system at the next boot. This may need someone at the console "
        "when the clone boots, so it is not enabled by default; sysprep's own OOBE does the "
        "same job unattended."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    default=False,
    paths=("/" + FLAG,),
)
