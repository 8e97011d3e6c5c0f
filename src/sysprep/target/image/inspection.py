"""Inspecting the attached disks: partitions, LVM, and which file system is the root."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from sysprep.errors import RunError, UsageError
from sysprep.target import osrelease
from sysprep.target.image import fstab, lvm
from sysprep.target.image.model import Volume, VolumeGroupInfo
from sysprep.target.image.mount import MountSteps, read_only_view
from sysprep.target.image.partitions import read_table
from sysprep.target.image.probe import Probe, probe

BTRFS_TOP = "5"


class InspectSteps(MountSteps):
    # -- scan -------------------------------------------------------------------------

    def scan(self) -> None:
        for disk in self.disks:
            what = f"{disk.file.path} ({disk.name})"
            disk.table = read_table(disk.read, disk.size, what)
            if disk.table.kind == "none":
                self.volumes.append(_probed(Volume(disk.name, disk, 0, disk.size, Probe(""))))
                continue
            for part in disk.table.partitions:
                self.volumes.append(
                    _probed(
                        Volume(
                            f"{disk.name}{part.number}",
                            disk,
                            part.start,
                            part.size,
                            Probe(""),
                            partition=part,
                        )
                    )
                )
        self._scan_lvm()

    def _scan_lvm(self) -> None:
        found: dict[str, tuple[lvm.VolumeGroup, dict[str, Volume]]] = {}
        pv_volumes = [v for v in self.volumes if v.probe.type == "LVM2_member"]
        for vol in pv_volumes:
            label = lvm.read_label(vol.read, vol.name)
            if label is None:
                continue
            text = lvm.read_metadata_text(vol.read, label, vol.name)
            if text is None:
                self.notes.append(f"{vol.name}: LVM physical volume without metadata: skipped")
                continue
            vg = lvm.volume_group(lvm.parse_text(text, vol.name), vol.name)
            known = found.get(vg.id)
            if known is None or vg.seqno > known[0].seqno:
                found[vg.id] = (vg, known[1] if known else {})
            found[vg.id][1][label.uuid] = vol
        for vg, pvs in found.values():
            self.groups.append(VolumeGroupInfo(vg, pvs))
            for lv in vg.lvs:
                if not lv.visible:
                    continue
                self.volumes.append(self._lv_volume(vg, lv, pvs))

    def _lv_volume(
        self, vg: lvm.VolumeGroup, lv: lvm.LogicalVolume, pvs: dict[str, Volume]
    ) -> Volume:
        name = f"/dev/{vg.name}/{lv.name}"
        any_pv = next(iter(pvs.values()))
        try:
            pv_key, offset, length = lvm.linear_range(vg, lv)
        except lvm.NotLinear as e:
            return Volume(
                name,
                any_pv.disk,
                0,
                0,
                Probe(""),
                lv=(vg.name, lv.name),
                unreachable=f"{e}; sysprep maps only linear logical volumes (this "
                "kernel has no device-mapper)",
            )
        pv = vg.pv(pv_key)
        holder = pvs.get(pv.id) if pv else None
        if holder is None:
            return Volume(
                name,
                any_pv.disk,
                0,
                0,
                Probe(""),
                lv=(vg.name, lv.name),
                unreachable=f"its physical volume {pv.id if pv else pv_key} is not in "
                "the images given (add the other disks with --image)",
            )
        if offset + length > holder.size:
            raise lvm.BadMetadata(f"{name} lies outside its physical volume {holder.name}")
        return _probed(
            Volume(
                name, holder.disk, holder.offset + offset, length, Probe(""), lv=(vg.name, lv.name)
            )
        )

    # -- find the root ----------------------------------------------------------------

    def find_root(self) -> tuple[Volume, str | None, osrelease.OsRelease]:
        encrypted = [v for v in self.volumes if v.probe.type == "crypto_LUKS"]
        if encrypted:
            names = ", ".join(v.name for v in encrypted)
            raise UsageError(
                f"{self._what()}: {names} is encrypted (LUKS); sysprep cannot clean "
                "what it cannot read, and opening LUKS needs its key and the kernel's "
                "device-mapper (dm-crypt). Open and mount it yourself and use --root"
            )
        if self.spec.root_fs:
            vol, subvol = self._by_root_fs(self.spec.root_fs)
            found = self._os_in(vol, subvol)
            if not found:
                raise UsageError(
                    f"--root-fs {self.spec.root_fs}: no operating system there (no etc/os-release)"
                )
            if len(found) > 1:
                choices = ", ".join(f"{vol.name}:{s}" for s, _ in found)
                raise UsageError(
                    f"--root-fs {self.spec.root_fs}: several systems in its "
                    f"subvolumes; choose one of {choices}"
                )
            return vol, found[0][0], found[0][1]
        roots: list[tuple[Volume, str | None, osrelease.OsRelease]] = []
        for vol in self.volumes:
            if vol.probe.linux_fs and not vol.unreachable:
                roots.extend((vol, s, rel) for s, rel in self._os_in(vol, None))
        if len(roots) == 1:
            return roots[0]
        if len(roots) > 1:
            listing = ", ".join(
                f"{v.name}{':' + s if s else ''} ({r.pretty_name})" for v, s, r in roots
            )
            raise UsageError(
                f"{self._what()}: several operating systems found: {listing}; choose "
                "one with --root-fs DEV"
            )
        raise UsageError(self._no_os_message())

    def _no_os_message(self) -> str:
        contents = [
            v.describe() + (f": {v.unreachable}" if v.unreachable else "") for v in self.volumes
        ]
        if not any(v.probe.type for v in self.volumes) and all(
            d.table is not None and d.table.kind == "none" for d in self.disks
        ):
            return f"{self._what()}: not a disk image (no partition table and no file system found)"
        linux = [v for v in self.volumes if v.probe.linux_fs]
        unknown = [v for v in self.volumes if not v.probe.type or not v.probe.linux_fs]
        if not linux:
            return (
                f"{self._what()}: no Linux file system found (sysprep reads ext2/3/4, xfs and "
                f"btrfs); the image holds {', '.join(contents) or 'nothing'}"
            )
        hint = f"; also {', '.join(v.describe() for v in unknown)}" if unknown else ""
        hint += "".join(f"; {note}" for note in self.notes)
        return (
            f"{self._what()}: no operating system found: none of "
            f"{', '.join(v.describe() for v in linux)} has etc/os-release{hint}"
        )

    def _by_root_fs(self, text: str) -> tuple[Volume, str | None]:
        dev, _, subvol = text.partition(":")
        ref = fstab.device_ref(dev)  # UUID=, LABEL=, PARTUUID=, PARTLABEL= or /dev/...
        vol = self.lookup(ref if ref.kind != "none" else fstab.device_ref("/dev/" + dev))
        if vol is None:
            names = ", ".join(v.describe() for v in self.volumes)
            raise UsageError(
                f"--root-fs {text}: no such volume in the image (it has {names}; "
                "name one as /dev/sdXN, UUID=, LABEL=, PARTUUID= or PARTLABEL=)"
            )
        if vol.unreachable:
            raise UsageError(f"--root-fs {text}: {vol.unreachable}")
        if not vol.probe.linux_fs:
            raise UsageError(f"--root-fs {text}: {vol.describe()} is not a Linux file system")
        if subvol and vol.probe.type != "btrfs":
            raise UsageError(
                f"--root-fs {text}: {vol.describe()} is not btrfs, so it has no "
                f"subvolume {subvol!r}: give --root-fs {dev}"
            )
        return vol, subvol or None

    def _os_in(
        self, vol: Volume, subvol: str | None
    ) -> list[tuple[str | None, osrelease.OsRelease]]:
        """Operating systems on a file system (btrfs: in its subvolumes too), mounted read-only."""
        if not self._supported(vol):
            return []
        point = tempfile.mkdtemp(prefix="probe-", dir=self.workdir)
        top = vol.probe.type == "btrfs" and subvol is None
        opts = ("subvolid=" + BTRFS_TOP,) if top else (("subvol=" + subvol,) if subvol else ())
        try:
            mnt = self._mount_in_workdir(
                vol, os.path.basename(point), read_only=True, extra=opts, track=False
            )
        except RunError as e:  # a damaged file system need not stop the search for the root
            self.notes.append(str(e))
            with contextlib.suppress(OSError):
                os.rmdir(point)
            return []
        found: list[tuple[str | None, osrelease.OsRelease]] = []
        try:
            rel = _os_release_at(point)
            if rel is not None:
                found.append((subvol, rel))
            if top:
                for name in sorted(os.listdir(point)):
                    path = os.path.join(point, name)
                    st = os.lstat(path)
                    if stat.S_ISDIR(st.st_mode) and st.st_ino == 256:  # a subvolume's root
                        rel = _os_release_at(path)
                        if rel is not None:
                            found.append((name, rel))
        finally:
            self._unmount(mnt)
            os.rmdir(point)
        return found


def _probed(vol: Volume) -> Volume:
    """The volume with what its content is, read through its own byte range."""
    vol.probe = probe(vol.read, vol.size)
    return vol


def _os_release_at(path: str) -> osrelease.OsRelease | None:
    with read_only_view(path, []) as fs:
        rel = osrelease.read(fs)
        if rel is None and fs.lstat("etc/os-release") is not None and fs.exists("etc/fstab"):
            # etc/os-release links into a separate /usr: still the root of a system
            return osrelease.OsRelease("linux", "", "Linux (separate /usr)")
        return rel
