"""A block device given as an image (--allow-block-device): who holds it, how big it is.

A stopped VM's disk on an LV, a mapped RBD or an iSCSI LUN is read like a raw image file. What
must never happen is writing to a device something else uses: a mounted file system, a
device the host's LVM or device-mapper built on, one a running VM has open exclusively."""

from __future__ import annotations

import errno
import os

SYS_BLOCK = "/sys/dev/block"


def holder(path: str, rdev: int) -> str:
    """Who uses the device or one of its partitions ("" when nobody is seen to)."""
    node = f"{os.major(rdev)}:{os.minor(rdev)}"
    numbers = {node, *_partitions(node)}
    for number in sorted(numbers):
        held = _holders(number)
        if held:
            return (
                f"held by {', '.join(held)} (the host's LVM or device-mapper uses it; "
                "deactivate that first)"
            )
    mounted = _mount_points(numbers)
    if mounted:
        return f"mounted on {', '.join(mounted)}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.EBUSY:
            return (
                "another process has it open exclusively (a virtual machine, a mount in "
                "another namespace, or a file system tool)"
            )
        return ""
    os.close(fd)
    return ""


def size(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _partitions(node: str) -> list[str]:
    base = os.path.join(SYS_BLOCK, node)
    out = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in names:
        try:
            with open(os.path.join(base, name, "dev"), encoding="ascii") as f:
                out.append(f.read().strip())
        except OSError:
            continue  # not a partition's folder
    return out


def _holders(node: str) -> list[str]:
    base = os.path.join(SYS_BLOCK, node, "holders")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return []
    out = []
    for name in names:
        try:
            with open(os.path.join(base, name, "dm", "name"), encoding="utf-8") as f:
                out.append(f"/dev/{name} ({f.read().strip()})")
        except OSError:
            out.append(f"/dev/{name}")
    return out


def _mount_points(numbers: set[str]) -> list[str]:
    out = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 4 and fields[2] in numbers:
                    out.append(fields[4])
    except OSError:
        return []
    return out
