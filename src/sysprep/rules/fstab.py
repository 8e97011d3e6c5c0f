"""fstab(5): the one parser, and the file-system types that hold no part of an installed
system. The file is untrusted: entries past MAX_ENTRIES are ignored."""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_ENTRIES = 1000

# File systems that hold no part of an installed system: never descended into.
VIRTUAL_FS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "tmpfs",
        "ramfs",
        "cgroup",
        "cgroup2",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "efivarfs",
        "bpf",
        "configfs",
        "fusectl",
        "hugetlbfs",
        "autofs",
        "binfmt_misc",
        "rpc_pipefs",
        "nsfs",
        "overlay",
        "squashfs",
        "fuse",
        "fuse.portal",
        "fuse.gvfsd-fuse",
    }
)
NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "sshfs"})


def unescape(field: str) -> str:
    """A field of fstab or mountinfo, whose space, tab, newline and backslash are \\ooo."""
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


@dataclass(frozen=True)
class Entry:
    spec: str  # UUID=..., LABEL=..., /dev/..., as written
    point: str  # the mount point as written
    fstype: str
    options: tuple[str, ...]
    line: int

    @property
    def rel(self) -> str:
        """The mount point relative to the root ("" for the root itself)."""
        norm = os.path.normpath("/" + self.point)
        return norm.lstrip("/")

    def option(self, name: str) -> str | None:
        for o in self.options:
            key, sep, value = o.partition("=")
            if key == name:
                return value if sep else ""
        return None

    @property
    def local(self) -> bool:
        """A disk file system (not virtual, network, swap or a bind mount)."""
        if self.fstype in ("swap", "none", "ignore") or self.fstype in VIRTUAL_FS:
            return False
        if self.fstype in NETWORK_FS or self.fstype.startswith("fuse"):
            return False
        return not ({"bind", "rbind"} & set(self.options))


def parse(text: str) -> list[Entry]:
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        opts = tuple(o for o in (fields[3].split(",") if len(fields) > 3 else ()) if o)
        entries.append(Entry(unescape(fields[0]), unescape(fields[1]), fields[2], opts, number))
        if len(entries) >= MAX_ENTRIES:
            break
    return entries


def local_mount_points(text: str) -> list[str]:
    """Mount points (relative, no leading slash) of the local file systems an fstab declares."""
    return [e.rel for e in parse(text) if e.local and e.rel]
