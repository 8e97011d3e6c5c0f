"""lvm-system-devices: remove LVM's list of this machine's physical volumes."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

PATHS = ("etc/lvm/devices/system.devices",)


def run(ctx: Context) -> None:
    ctx.remove(*PATHS)


PROVIDER = Provider(
    name="lvm-system-devices",
    heading="Remove LVM2 system.devices file",
    description=(
        "LVM may scan only the devices whose WWIDs are listed in "
        "/etc/lvm/devices/system.devices. A clone's disks have other WWIDs, so LVM would not "
        "find its physical volumes; without the file, LVM scans every device."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
