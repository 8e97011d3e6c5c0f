"""yum-uuid: remove yum's UUID of this machine."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/lib/yum/uuid",)


PROVIDER = Provider(
    name="yum-uuid",
    heading="Remove the yum UUID",
    description=(
        "Removes /var/lib/yum/uuid, which yum sends to mirrors and update services. Yum makes "
        "a new one the next time it runs."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
