"""yum-uuid: remove yum's UUID of this machine."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

PATHS = ("var/lib/yum/uuid",)


def run(ctx: Context) -> None:
    ctx.remove(*PATHS)


PROVIDER = Provider(
    name="yum-uuid",
    heading="Remove the yum UUID",
    description=(
        "Removes /var/lib/yum/uuid, which yum sends to mirrors and update services. Yum makes "
        "a new one the next time it runs."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
