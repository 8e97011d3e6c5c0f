"""The mount table as seen by this process, and which mounts under a root are foreign."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Sequence

# File systems that hold no part of an installed system: never descended into.
VIRTUAL_FS = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2",
        "mqueue", "debugfs", "tracefs", "securityfs", "pstore", "efivarfs", "bpf",
        "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "rpc_pipefs",
        "nsfs", "overlay", "squashfs", "fuse", "fuse.portal", "fuse.gvfsd-fuse",
    }
)
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "sshfs"})


@dataclass(frozen=True)
class Mount:
    mount_id: int
    parent_id: int
    device: str  # major:minor
    fs_root: str  # the directory of the source file system that is mounted ("/" unless a bind)
    mount_point: str
    fs_type: str
    source: str


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


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
                fs_root=_unescape(fields[3]),
                mount_point=_unescape(fields[4]),
                fs_type=tail[0],
                source=_unescape(tail[1]),
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


def parse_fstab_mount_points(text: str) -> list[str]:
    """Mount points (relative, no leading slash) of the local file systems an fstab declares."""
    points = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = _unescape(fields[1]), fields[2]
        if fstype in ("swap", "none") or fstype in VIRTUAL_FS or fstype in NETWORK_FS:
            continue
        opts = fields[3].split(",") if len(fields) > 3 else []
        if "bind" in opts or "rbind" in opts:
            continue
        rel = os.path.normpath(point).lstrip("/")
        if rel and rel != ".":
            points.append(rel)
    return points
