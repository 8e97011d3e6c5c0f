"""smolt-uuid: remove the hardware UUID of the Smolt hardware profiler."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

PATHS = ("etc/sysconfig/hw-uuid", "etc/smolt/uuid", "etc/smolt/hw-uuid")


def run(ctx: Context) -> None:
    ctx.remove(*PATHS)


PROVIDER = Provider(
    name="smolt-uuid",
    heading="Remove the Smolt hardware UUID",
    description="Removes the UUID that identifies this machine to the Smolt hardware profiler.",
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
