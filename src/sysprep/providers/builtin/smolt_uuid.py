"""smolt-uuid: remove the hardware UUID of the Smolt hardware profiler."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/sysconfig/hw-uuid", "etc/smolt/uuid", "etc/smolt/hw-uuid")


PROVIDER = Provider(
    name="smolt-uuid",
    heading="Remove the Smolt hardware UUID",
    description="Removes the UUID that identifies this machine to the Smolt hardware profiler.",
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
