"""Loop devices that clear themselves: bound with LOOP_CONFIGURE and the autoclear flag.

A loop device is set up over a byte range of an open file (a partition, or a logical volume
inside a physical volume) and held open by us: when our descriptor is the last one to
close (after its mounts are gone, or when we die), the kernel detaches it by itself. No
partition scanning and no device-mapper are needed, so this works on any kernel with loop.
We hold an exclusive BSD lock on it meanwhile, which keeps udev (and so blkid, udisks and
LVM's event activation) away from the image's content.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time
from dataclasses import dataclass

from sysprep.errors import RunError

LOOP_CONTROL = "/dev/loop-control"
LOOP_CLR_FD = 0x4C01
LOOP_CONFIGURE = 0x4C0A
LOOP_CTL_GET_FREE = 0x4C82
LO_FLAGS_READ_ONLY = 1
LO_FLAGS_AUTOCLEAR = 4

# struct loop_info64 (232 bytes) inside struct loop_config (304 bytes)
_INFO = struct.Struct("=QQQQQIIII64s64s32sQQ")
_CONFIG_TAIL = b"\0" * 64


@dataclass
class Loop:
    """A bound loop device, kept open by us until close()."""

    path: str
    fd: int
    offset: int
    size: int
    read_only: bool

    def close(self) -> None:
        """Detach (deferred by the kernel until the last user closes it) and let go."""
        if self.fd < 0:
            return
        try:
            fcntl.ioctl(self.fd, LOOP_CLR_FD)
        except OSError:
            pass  # already clearing, or autoclear will do it when we close
        os.close(self.fd)
        self.fd = -1


def attach(backing_fd: int, offset: int, size: int, *, read_only: bool, name: str = "") -> Loop:
    """Bind a free loop device to `size` bytes of `backing_fd` from `offset`, autoclearing."""
    flags = LO_FLAGS_AUTOCLEAR | (LO_FLAGS_READ_ONLY if read_only else 0)
    info = _INFO.pack(0, 0, 0, offset, size, 0, 0, 0, flags, name.encode()[:63], b"", b"", 0, 0)
    config = struct.pack("=II", backing_fd, 0) + info + _CONFIG_TAIL
    try:
        ctl = os.open(LOOP_CONTROL, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        raise RunError(
            f"cannot use loop devices ({LOOP_CONTROL}: {e.strerror}); is the loop driver available?"
        ) from None
    try:
        for _attempt in range(64):
            number = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
            path = f"/dev/loop{number}"
            fd = _open_node(path, number, read_only)
            try:
                # systemd-udevd leaves a block device alone while someone holds LOCK_EX on it:
                # the host does not probe the image's content, nor auto-activate an LVM volume
                # group found on it. Taken before the device exists, held until it is gone.
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.ioctl(fd, LOOP_CONFIGURE, config)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EBUSY, errno.EWOULDBLOCK):  # another process took it first
                    continue
                raise RunError(f"cannot set up {path}: {e.strerror}") from None
            return Loop(path, fd, offset, size, read_only)
    finally:
        os.close(ctl)
    raise RunError("no free loop device could be bound (64 attempts)")


def _open_node(path: str, number: int, read_only: bool) -> int:
    mode = os.O_RDONLY if read_only else os.O_RDWR
    for _ in range(100):  # the device node may appear a moment after LOOP_CTL_GET_FREE
        try:
            return os.open(path, mode | os.O_CLOEXEC)
        except FileNotFoundError:
            if not os.path.exists(f"/sys/block/loop{number}"):
                break
            time.sleep(0.01)
    raise RunError(f"{path}: the loop device node does not exist (is /dev a devtmpfs?)")


def backing_files() -> dict[str, str]:
    """Bound loop devices and the files behind them, from sysfs."""
    out: dict[str, str] = {}
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return out
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open(
                f"/sys/block/{name}/loop/backing_file", encoding="utf-8", errors="replace"
            ) as f:
                out[f"/dev/{name}"] = f.read().strip()
        except OSError:
            continue
    return out


def users_of(path: str) -> list[str]:
    """Loop devices whose backing file is `path` (by identity, when it still exists)."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    found = []
    for dev, backing in backing_files().items():
        if backing.endswith(" (deleted)"):
            continue
        try:
            bst = os.stat(backing)
        except OSError:
            continue
        if (bst.st_dev, bst.st_ino) == (st.st_dev, st.st_ino):
            found.append(dev)
    return sorted(found)
