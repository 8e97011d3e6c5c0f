"""The image file itself: is it one, which format, may it be changed, is anyone using it."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from dataclasses import dataclass

from sysprep.errors import UsageError
from sysprep.target import hostroot
from sysprep.target.image import loop

MIN_SIZE = 64 * 1024
QCOW2_MAGIC = b"QFI\xfb"
# incompatible feature bits of qcow2 v3
QCOW2_DIRTY = 1
QCOW2_CORRUPT = 2
QCOW2_EXTERNAL_DATA = 4

OTHER_FORMATS = (
    (0, b"KDMV", "vmdk"), (0, b"# Disk DescriptorFile", "vmdk"), (0, b"vhdxfile", "vhdx"),
    (0, b"conectix", "vpc (vhd)"), (0, b"QED\0", "qed"), (64, b"\x7f\x10\xda\xbe", "vdi"),
)


@dataclass(frozen=True)
class ImageFile:
    path: str
    format: str  # raw or qcow2
    size: int  # file size (raw) or virtual size (qcow2)
    dev: int
    ino: int


def check(path: str, fmt: str | None, *, writable: bool) -> ImageFile:
    """Everything about the file that can be refused before anything is attached."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such image file") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    if hostroot.host_root_backing().holds(st):
        raise UsageError(f"{path} holds the running system's root file system: sysprep never "
                         "prepares the system it runs on as an image (omit --image for the live "
                         "system)")
    if stat.S_ISBLK(st.st_mode):
        raise UsageError(f"{path} is a block device: --image takes a disk image file (sysprep "
                         "never works on block devices, so it cannot touch the host's disks)")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file, so not a disk image")
    if st.st_size < MIN_SIZE:
        raise UsageError(f"{path}: not a disk image ({st.st_size} bytes)")
    if writable:
        _check_writable(path, st)
    with open(path, "rb") as f:
        head = f.read(512)
    detected = _detect(head)
    if detected not in ("raw", "qcow2"):
        raise UsageError(f"{path}: {detected} images are not supported; convert it first "
                         f"(qemu-img convert -O qcow2 {path} out.qcow2)")
    if fmt is not None and fmt != detected:
        if fmt == "qcow2":
            raise UsageError(f"{path}: --format qcow2, but the file is not a qcow2 image")
        raise UsageError(f"{path}: --format raw, but the file is a {detected} image (a raw view "
                         "of it would be its qcow2 metadata, not the guest's disk)")
    size = st.st_size if detected == "raw" else _qcow2_checks(path, head)
    return ImageFile(os.path.abspath(path), detected, size, st.st_dev, st.st_ino)


def _detect(head: bytes) -> str:
    if head[:4] == QCOW2_MAGIC:
        return "qcow2"
    for offset, magic, name in OTHER_FORMATS:
        if head[offset:offset + len(magic)] == magic:
            return name
    return "raw"


def _check_writable(path: str, st: os.stat_result) -> None:
    if not st.st_mode & 0o222:
        raise UsageError(f"{path}: the image file is read-only (mode {stat.S_IMODE(st.st_mode):04o}); "
                         "make it writable, or add --dry-run to only see what would change")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        why = {errno.EROFS: "it is on a read-only file system",
               errno.EPERM: "it is immutable (chattr +i)",
               errno.EACCES: "permission denied",
               errno.ETXTBSY: "it is in use"}.get(e.errno or 0, e.strerror or str(e))
        raise UsageError(f"{path}: the image file cannot be written ({why}); add --dry-run to "
                         "only see what would change") from None
    os.close(fd)


def _qcow2_checks(path: str, head: bytes) -> int:
    if len(head) < 72:
        raise UsageError(f"{path}: truncated qcow2 header")
    version, backing_off, backing_len = struct.unpack_from(">IQI", head, 4)
    (size,) = struct.unpack_from(">Q", head, 24)
    (crypt,) = struct.unpack_from(">I", head, 32)
    if version not in (2, 3):
        raise UsageError(f"{path}: qcow2 version {version} is not supported")
    if crypt != 0:
        raise UsageError(f"{path}: the qcow2 image is encrypted; sysprep cannot open it")
    if backing_off != 0 and backing_len != 0:
        raise UsageError(f"{path}: the qcow2 image has a backing file; sysprep does not follow "
                         "backing files named inside an image (they could be any host file): "
                         "flatten it first (qemu-img convert) or run on a standalone copy")
    if version == 3 and len(head) >= 80:
        (incompatible,) = struct.unpack_from(">Q", head, 72)
        if incompatible & QCOW2_CORRUPT:
            raise UsageError(f"{path}: the qcow2 image is marked corrupt; repair it first "
                             f"(qemu-img check -r all {path})")
        if incompatible & QCOW2_EXTERNAL_DATA:
            raise UsageError(f"{path}: the qcow2 image keeps its data in an external file; "
                             "sysprep does not follow file names stored in an image")
    if size < MIN_SIZE:
        raise UsageError(f"{path}: qcow2 image of {size} bytes is too small to be a disk")
    return int(size)


# struct flock: l_type, l_whence, l_start, l_len, l_pid (+ padding); locks are OFD locks,
# which conflict with QEMU's (it uses the same kind) and are tied to our open file.
_FLOCK = struct.Struct("@hhqqi4x")


def in_use(path: str, fd: int) -> str | None:
    """Who else uses the image: another process's lock (QEMU takes them) or a loop device."""
    devices = loop.users_of(path)
    if devices:
        return f"it is attached to {', '.join(devices)} (losetup -d to release it)"
    probe = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        got = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, probe)
    except OSError:
        return None
    l_type, *_rest, pid = _FLOCK.unpack(got)
    if l_type != fcntl.F_UNLCK:
        who = f" by PID {pid}" if pid > 0 else ""
        return f"it is locked{who} (a virtual machine or another tool has it open)"
    return None


def hold(fd: int, path: str, *, exclusive: bool) -> None:
    """Lock the whole image for as long as `fd` is open: QEMU will not open it meanwhile."""
    kind = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, _FLOCK.pack(kind, os.SEEK_SET, 0, 0, 0))
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            raise UsageError(f"{path}: the image is in use by another process (it is locked); "
                             "stop the virtual machine or tool using it first") from None
        raise
