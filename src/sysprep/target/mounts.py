"""The mount table as seen by this process, and which mounts under a root are foreign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from sysprep.rules.fstab import NETWORK_FS, VIRTUAL_FS, unescape

__all__ = [
    "NETWORK_FS",
    "VIRTUAL_FS",
    "Mount",
    "is_own_mount",
    "mounts_below",
    "parse_mountinfo",
    "read_mounts",
]


@dataclass(frozen=True)
class Mount:
    mount_id: int
    parent_id: int
    device: str  # major:minor
    fs_root: str  # the directory of the source file system that is mounted ("/" unless a bind)
    mount_point: str
    fs_type: str
    source: str


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        tail = right.split()
        if len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(
            Mount(
                mount_id=int(fields[0]),
                parent_id=int(fields[1]),
                device=fields[2],
                fs_root=unescape(fields[3]),
                mount_point=unescape(fields[4]),
                fs_type=tail[0],
                source=unescape(tail[1]),
            )
        )
    return mounts


def read_mounts() -> list[Mount]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return parse_mountinfo(f.read())


def mounts_below(root: str, mounts: Iterable[Mount]) -> list[tuple[str, Mount]]:
    """Mounts strictly below `root` (a real host path), as (path relative to root, mount).

    When several mounts stack on one point, only the top one (the last listed) is visible.
    """
    root = root.rstrip("/") or "/"
    prefix = "/" if root == "/" else root + "/"
    found: dict[str, Mount] = {}
    for m in mounts:
        if m.mount_point != root and m.mount_point.startswith(prefix):
            found[m.mount_point[len(prefix) :]] = m
    return sorted(found.items())


def is_own_mount(rel: str, mount: Mount, fstab_points: Sequence[str]) -> bool:
    """A mount belongs to the target when its fstab declares it and it holds a disk file system.

    A bind mount of a sub-directory (a host folder bound into a chroot) never does, nor do
    virtual and network file systems.
    """
    if mount.fs_type in VIRTUAL_FS or mount.fs_type in NETWORK_FS:
        return False
    if mount.fs_root != "/" and mount.fs_type != "btrfs":
        return False
    return rel in fstab_points
