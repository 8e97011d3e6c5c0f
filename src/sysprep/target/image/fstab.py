"""The image's fstab: which of its own file systems go where, and the devices it names.

The fstab is untrusted: it only ever decides which volume *of the image* is mounted on which
directory *inside the image's root* (resolved by the confined layer); an entry naming
anything else (a network share, a host device, a bind mount) is skipped with a note.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# The parser is the one of sysprep.rules.fstab; here is what the image engine adds.
from sysprep.rules.fstab import Entry, parse

__all__ = ["DeviceRef", "Entry", "device_ref", "disk_and_partition", "parse"]


@dataclass(frozen=True)
class DeviceRef:
    """What an fstab or crypttab source names: ("uuid", x), ("label", x), ("partuuid", x),
    ("partlabel", x), ("path", /dev/...) or ("none", text)."""

    kind: str
    value: str


_BY = {
    "by-uuid": "uuid",
    "by-label": "label",
    "by-partuuid": "partuuid",
    "by-partlabel": "partlabel",
}


def device_ref(spec: str) -> DeviceRef:
    key, sep, value = spec.partition("=")
    if sep and key.upper() in ("UUID", "LABEL", "PARTUUID", "PARTLABEL"):
        value = value.strip('"')
        return DeviceRef(key.lower(), value.lower() if key.upper().endswith("UUID") else value)
    m = re.match(r"^/dev/disk/(by-uuid|by-label|by-partuuid|by-partlabel)/(.+)$", spec)
    if m:
        kind = _BY[m.group(1)]
        value = _unescape_udev(m.group(2))
        return DeviceRef(kind, value.lower() if kind.endswith("uuid") else value)
    if spec.startswith("/dev/"):
        return DeviceRef("path", os.path.normpath(spec))
    return DeviceRef("none", spec)


def _unescape_udev(s: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)


_DISK = re.compile(
    r"^/dev/(?:(?:s|v|xv|h)d([a-z]+)(\d*)|nvme(\d+)n1(?:p(\d+))?|mmcblk(\d+)(?:p(\d+))?)$"
)


def disk_and_partition(path: str) -> tuple[int, int] | None:
    """/dev/sdb2 -> (1, 2), /dev/vda -> (0, 0), /dev/nvme0n1p3 -> (0, 3); None otherwise.

    The guest may call its disks sd, vd, xvd, hd, nvme or mmcblk: the nth disk of the image
    is the nth --image, whatever the name.
    """
    m = _DISK.match(path)
    if m is None:
        return None
    if m.group(1) is not None:
        index = 0
        for ch in m.group(1):
            index = index * 26 + (ord(ch) - ord("a") + 1)
        return index - 1, int(m.group(2) or 0)
    if m.group(3) is not None:
        return int(m.group(3)), int(m.group(4) or 0)
    return int(m.group(5)), int(m.group(6) or 0)
