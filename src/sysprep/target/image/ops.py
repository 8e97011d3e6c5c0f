"""Operations on the image's volumes themselves (not their files): UUIDs, swap, LVM.

Each works on a loop device of the volume, with the host's tools run through run(). LVM
commands get a private configuration: they see only the image's own devices, never activate
anything (no device-mapper needed), and write no backup into the host's /etc/lvm.
"""

from __future__ import annotations

from typing import Sequence

from sysprep.errors import RunError
from sysprep.run import run
from sysprep.target.image import lvm as labels
from sysprep.target.image.session import ImageSession, Volume

EXT = ("ext2", "ext3", "ext4")
UUID_TYPES = (*EXT, "xfs", "btrfs", "swap")


def set_uuid(session: ImageSession, vol: Volume, new: str) -> None:
    """Give an unmounted file system (or swap area) a new UUID."""
    if session.mounted(vol):
        raise RunError(f"{vol.name} is still mounted")
    dev = session.device(vol)
    kind = vol.probe.type
    if kind in EXT:
        fsck = run(["e2fsck", "-f", "-p", dev], check=False)
        if fsck.returncode not in (0, 1):
            said = [
                line.strip()
                for line in (fsck.stderr + fsck.stdout).splitlines()
                if line.strip() and not line.startswith("e2fsck ")
            ][:1] or [""]  # not the banner
            raise RunError(
                f"e2fsck found problems on {vol.name} (exit status {fsck.returncode}): "
                f"{said[0][:200]}"
            )
        run(["tune2fs", "-U", new, dev])
    elif kind == "xfs":
        run(["xfs_admin", "-U", new, dev])
    elif kind == "btrfs":
        run(["btrfstune", "-f", "-U", new, dev])
        run(["btrfs", "device", "scan", "--forget", dev], check=False)
    elif kind == "swap":
        run(["swaplabel", "-U", new, dev])
    else:
        raise RunError(f"{vol.name}: cannot change the UUID of {kind or 'unknown'} content")


def recreate_swap(session: ImageSession, vol: Volume) -> str:
    """Wipe a swap area (zeroed and discarded, so the image stays sparse) and make it again
    with the same UUID and label, so that fstab and resume settings still find it."""
    dev = session.device(vol)
    wiped = run(["blkdiscard", "-f", "-z", dev], check=False)
    how = "zeroed"
    if wiped.returncode != 0:
        run(["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "conv=fsync", "status=none"], check=False)
        how = "overwritten with zeros"
    args = ["mkswap", "-U", vol.probe.uuid] if vol.probe.uuid else ["mkswap"]
    if vol.probe.label:
        args += ["-L", vol.probe.label]
    run([*args, dev])
    return how


def lvm_config(devices: Sequence[str]) -> str:
    accept = ",".join(f'"a|^{d}$|"' for d in devices)
    return (
        f'devices {{ filter=[{accept},"r|.*|"] global_filter=[{accept},"r|.*|"] '
        "use_devicesfile=0 obtain_device_list_from_udev=0 scan_lvs=0 } "
        "backup { backup=0 archive=0 } "
        "activation { udev_sync=0 udev_rules=0 monitoring=0 }"
    )


def lvm(args: Sequence[str], devices: Sequence[str]) -> str:
    """Run an LVM command that sees only `devices` and activates nothing."""
    cmd, *rest = args
    return run(["lvm", cmd, "--config", lvm_config(devices), "--driverloaded", "n", *rest]).stdout


def new_pv_uuid(vol: Volume, devices: Sequence[str], dev: str) -> str | None:
    """Give the LVM physical volume on `dev` a new random UUID; the new one, as read back
    from its label (None when the label cannot be read)."""
    lvm(["pvchange", "-u", dev], devices)
    label = labels.read_label(vol.read, vol.name)
    return label.uuid if label is not None else None


def new_vg_uuid(vg_name: str, devices: Sequence[str]) -> None:
    """Give a volume group a new random UUID."""
    lvm(["vgchange", "-u", vg_name], devices)
