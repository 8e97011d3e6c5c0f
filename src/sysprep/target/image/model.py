"""The image session's model: disks, volumes, mounts, and the state every step shares."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from sysprep.errors import RunError
from sysprep.request import TargetSpec
from sysprep.target.confined import Confined
from sysprep.target.image import formats, fstab, loop, lvm
from sysprep.target.image.cleanup import Cleanup
from sysprep.target.image.partitions import Partition, PartitionTable
from sysprep.target.image.probe import Probe
from sysprep.target.lock import TargetLock

if TYPE_CHECKING:
    import subprocess

# What a run writes once the deferred work ended: record(root file system, error or "").
Record = Callable[[Confined, str], None]


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


@dataclass
class Disk:
    index: int
    file: formats.ImageFile
    backing: str  # the file loop devices read: the image itself, or its FUSE export
    fd: int
    size: int
    read_only: bool
    table: PartitionTable | None = None

    @property
    def name(self) -> str:
        return f"/dev/sd{_letters(self.index)}"

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        return os.pread(self.fd, min(length, self.size - offset), offset)


@dataclass
class Volume:
    """A partition, a whole disk or a logical volume: a byte range of one disk."""

    name: str  # /dev/sda2, /dev/vg/lv
    disk: Disk
    offset: int
    size: int
    probe: Probe
    partition: Partition | None = None
    lv: tuple[str, str] | None = None  # (volume group, logical volume)
    unreachable: str = ""  # why sysprep cannot map it (e.g. a striped LV without device-mapper)
    loop: loop.Loop | None = None

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset >= self.size:
            return b""
        return self.disk.read(self.offset + offset, min(length, self.size - offset))

    @property
    def short(self) -> str:
        return self.name[5:] if self.name.startswith("/dev/") else self.name

    def describe(self) -> str:
        kind = self.probe.type or "unknown content"
        return f"{self.name} ({kind})"

    def names(self) -> set[str]:
        """Device names the guest may use for this volume."""
        out = {self.name}
        if self.lv is not None:
            out.add(f"/dev/mapper/{lvm.mapper_name(*self.lv)}")
        return out


@dataclass
class Mounted:
    volume: Volume
    path: str  # host path where it was mounted, for messages and the root's Confined only
    rel: str  # relative to the image's root; "" for the root itself
    options: tuple[str, ...]
    read_only: bool
    extra: tuple[str, ...] = ()  # the options that choose what is mounted (btrfs subvolume)
    fd: int = -1  # O_PATH descriptor of the mount's root, taken when it was mounted
    parent_fd: int = -1  # O_PATH descriptor of the folder holding the mount point
    name: str = ""  # the mount point's name in that folder
    key: tuple[int, int, int | None] = (0, 0, None)  # st_dev, st_ino and mount id of its root


@dataclass
class Finish:
    """How the end of an image session went."""

    error: str  # what failed in unmounting or in the deferred work ("" when nothing did)
    recorded: bool = False  # the run's last step (its image state) was written
    problem: str = ""  # what failed in mounting the root again, recording, unmounting it

    @property
    def failure(self) -> str:
        return "; ".join(x for x in (self.error, self.problem) if x)


@dataclass
class _Recorder:
    record: Record
    holders: list[tuple[Volume, str, tuple[str, ...]]]  # what to mount again below the root


@dataclass
class VolumeGroupInfo:
    vg: lvm.VolumeGroup
    pvs: dict[str, Volume]  # PV UUID -> the volume holding it


@dataclass
class SessionState:
    """What the steps of an image session (attach, inspect, mount) share."""

    spec: TargetSpec
    dry_run: bool
    cleanup: Cleanup
    workdir: str = ""
    disks: list[Disk] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    groups: list[VolumeGroupInfo] = field(default_factory=list)
    mounts: list[Mounted] = field(default_factory=list)
    root: Mounted | None = None
    notes: list[str] = field(default_factory=list)
    deferred: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    say: Callable[[str], None] | None = None
    _recorder: _Recorder | None = None
    _loops: list[loop.Loop] = field(default_factory=list)
    _raw_fds: dict[str, int] = field(default_factory=dict)  # opened, not yet a Disk
    _guardian: subprocess.Popen[bytes] | None = None
    _fs_types: frozenset[str] = field(default_factory=lambda: _kernel_filesystems())
    _btrfs_locks: dict[str, TargetLock] = field(default_factory=dict)
    _trees: dict[tuple[str, str], str] = field(default_factory=dict)  # what is mounted, where

    # -- what the target layer and image providers use --------------------------------

    @property
    def root_path(self) -> str:
        assert self.root is not None
        return self.root.path

    @property
    def own_mounts(self) -> list[str]:
        return [m.rel for m in self.mounts if m.rel]

    def reachable(self) -> list[Volume]:
        return [v for v in self.volumes if not v.unreachable]

    def device(self, vol: Volume) -> str:
        """A block device for the volume (a loop device, attached on first use)."""
        if vol.unreachable:
            raise RunError(f"{vol.name}: {vol.unreachable}")
        if vol.loop is None or vol.loop.fd < 0:
            vol.loop = loop.attach(
                vol.disk.fd,
                vol.offset,
                vol.size,
                read_only=self.dry_run,
                name=f"sysprep:{vol.short}",
            )
            self._loops.append(vol.loop)
        return vol.loop.path

    def mounted(self, vol: Volume) -> list[Mounted]:
        return [m for m in self.mounts if m.volume is vol]

    def _say(self, msg: str) -> None:
        if self.say is not None:
            self.say(msg)

    def _what(self) -> str:
        return ", ".join(d.file.path for d in self.disks)

    def lookup(self, ref: fstab.DeviceRef) -> Volume | None:
        """The volume an fstab/crypttab source names, among the image's own volumes."""
        for vol in self.volumes:
            p = vol.probe
            if ref.kind == "uuid" and p.uuid and p.uuid.lower() == ref.value:
                return vol
            if ref.kind == "label" and p.label and p.label == ref.value:
                return vol
            part = vol.partition
            if part is not None and ref.kind == "partuuid" and part.uuid.lower() == ref.value:
                return vol
            if (
                part is not None
                and ref.kind == "partlabel"
                and part.name
                and part.name == ref.value
            ):
                return vol
            if ref.kind == "path" and ref.value in vol.names():
                return vol
        if ref.kind == "path":
            pos = fstab.disk_and_partition(ref.value)
            if pos is not None:
                index, number = pos
                for vol in self.volumes:
                    if (
                        vol.lv is None
                        and vol.disk.index == index
                        and (
                            (vol.partition is None and number == 0)
                            or (vol.partition is not None and vol.partition.number == number)
                        )
                    ):
                        return vol
        return None


def _kernel_filesystems() -> frozenset[str]:
    try:
        with open("/proc/filesystems", encoding="ascii") as f:
            return frozenset(line.split()[-1] for line in f if line.strip())
    except OSError:
        return frozenset({"ext4", "xfs", "btrfs"})
