"""Zeroing and discarding the free space of a mounted file system, through its root's
descriptor."""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time

from sysprep.errors import RunError


def zero_free_space(root_fd: int, st_dev: int) -> int:
    """Fill the file system's free space with zeros, then free it again; returns bytes.

    The file is made in the mount's root by its descriptor, and checked to be on it."""
    name = f".sysprep-zero-{os.getpid()}-{time.monotonic_ns()}"
    fd = os.open(
        name,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
        dir_fd=root_fd,
    )
    written = 0
    chunk = bytes(4 * 1024 * 1024)
    try:
        os.unlink(
            name, dir_fd=root_fd
        )  # nothing is left behind, even if we are killed while writing
        if os.fstat(fd).st_dev != st_dev:
            raise RunError("internal error: the zero-fill file is not on the file system it fills")
        while True:
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    break
                raise
            if n == 0:
                break
            written += n
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


FITRIM = 0xC0185879  # _IOWR('X', 121, struct fstrim_range)


def trim(root_fd: int, st_dev: int) -> int:
    """Discard the free space of the file system whose root is open as `root_fd` (the FITRIM
    ioctl fstrim uses, on that very folder, not on a path); returns the bytes discarded."""
    fd = os.open(f"/proc/self/fd/{root_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if os.fstat(fd).st_dev != st_dev:
            raise RunError("internal error: the file system to discard is not the one mounted")
        arg = bytearray(struct.pack("QQQ", 0, 2**64 - 1, 0))  # start, length, minimum extent
        fcntl.ioctl(fd, FITRIM, arg)
        return int(struct.unpack("QQQ", arg)[1])  # the kernel puts what it discarded in length
    finally:
        os.close(fd)


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"
