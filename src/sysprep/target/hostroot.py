"""The running system's own root, and what holds it: never an offline target.

A bind mount of `/` is the same directory as `/` (same device and inode) whatever its path;
the disk that holds `/` is the device of its file system, the disks and volumes under that
device (partitions, device-mapper and md members) and the files behind its loop devices.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from sysprep.target.mounts import read_mounts

SYS_BLOCK = "/sys/dev/block"


@dataclass
class Backing:
    """Block devices (dev_t) and files ((st_dev, st_ino)) that a file system lives on."""

    devices: set[int] = field(default_factory=set)
    files: set[tuple[int, int]] = field(default_factory=set)

    def holds(self, st: os.stat_result) -> bool:
        if stat.S_ISBLK(st.st_mode):
            return st.st_rdev in self.devices
        return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) in self.files


def is_host_root(path: str) -> bool:
    """Whether `path` is the running system's `/` (through a bind mount, a symlink...)."""
    st, root = os.stat(path), os.stat("/")
    return (st.st_dev, st.st_ino) == (root.st_dev, root.st_ino)


def host_root_backing() -> Backing:
    """What the running system's root file system lives on."""
    devices = [os.stat("/").st_dev]
    for m in read_mounts():  # btrfs and others report an anonymous st_dev: ask the mount table
        if m.mount_point == "/" and m.source.startswith("/dev/"):
            try:
                st = os.stat(m.source)
            except OSError:
                continue
            if stat.S_ISBLK(st.st_mode):
                devices.append(st.st_rdev)
    return backing_of(devices)


def backing_of(devices: list[int]) -> Backing:
    """These block devices and all they are made of, down to the files behind loop devices."""
    out = Backing()
    todo = list(devices)
    while todo:
        dev = todo.pop()
        if dev in out.devices:
            continue
        out.devices.add(dev)
        sysdir = os.path.realpath(f"{SYS_BLOCK}/{os.major(dev)}:{os.minor(dev)}")
        if not os.path.isdir(sysdir):
            continue  # not a block device (an anonymous device of a virtual file system)
        if os.path.exists(f"{sysdir}/partition"):  # the whole disk holds the partition
            todo += _device_numbers([os.path.dirname(sysdir)])
        slaves = f"{sysdir}/slaves"
        if os.path.isdir(slaves):
            todo += _device_numbers([f"{slaves}/{name}" for name in os.listdir(slaves)])
        backing = _read(f"{sysdir}/loop/backing_file")
        if backing and not backing.endswith(" (deleted)"):
            try:
                st = os.stat(backing)
            except OSError:
                continue
            out.files.add((st.st_dev, st.st_ino))
    return out


def _device_numbers(sysdirs: list[str]) -> list[int]:
    out = []
    for d in sysdirs:
        major, _, minor = (_read(f"{d}/dev") or "").partition(":")
        if major.isdigit() and minor.isdigit():
            out.append(os.makedev(int(major), int(minor)))
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None
