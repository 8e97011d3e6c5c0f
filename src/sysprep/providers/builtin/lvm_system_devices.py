"""lvm-system-devices: remove LVM's list of this machine's physical volumes."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/lvm/devices/system.devices",)


PROVIDER = Provider(
    name="lvm-system-devices",
    heading="Remove LVM2 system.devices file",
    description=(
        "LVM may scan only the devices whose WWIDs are listed in "
        "/etc/lvm/devices/system.devices. A clone's disks have other WWIDs, so LVM would not "
        "find its physical volumes; without the file, LVM scans every device."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
