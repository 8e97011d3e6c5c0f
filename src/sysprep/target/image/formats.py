"""The image file itself: is it one, which format, may it be changed, is anyone using it."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
import struct
from dataclasses import dataclass
from typing import Any

from sysprep.errors import UsageError
from sysprep.run import CLEAN_PATH, run
from sysprep.target import hostroot
from sysprep.target.image import blockdev, loop

MIN_SIZE = 64 * 1024
MAX_CHAIN = 64  # backing files below an overlay
QCOW2_MAGIC = b"QFI\xfb"
# incompatible feature bits of qcow2 v3
QCOW2_DIRTY = 1
QCOW2_CORRUPT = 2
QCOW2_EXTERNAL_DATA = 4

# Formats attached through qemu-storage-daemon (qemu reads and writes them); the name is
# qemu's driver name, which is also what --format takes.
QEMU_FORMATS = ("qcow2", "vmdk", "vhdx", "vdi", "vpc")
FORMATS = ("raw", *QEMU_FORMATS)
HEAD_MAGIC = (
    (0, QCOW2_MAGIC, "qcow2"),
    (0, b"KDMV", "vmdk"),
    (0, b"# Disk DescriptorFile", "vmdk"),
    (0, b"vhdxfile", "vhdx"),
    (0, b"conectix", "vpc"),
    (64, b"\x7f\x10\xda\xbe", "vdi"),
    (0, b"QED\0", "qed"),
    (0, b"Bochs Virtual HD Image", "bochs"),
    (0, b"#!/bin/sh\n#V2.0 Format", "cloop"),
    (0, b"WithoutFreeSpace", "parallels"),
    (0, b"WithouFreSpacExt", "parallels"),
)
# What qemu can read but sysprep will not write through it, and why.
REFUSED = {
    "qed": "qemu's QED driver is deprecated and no longer tested for writing",
    "bochs": "qemu reads bochs images but cannot write them",
    "cloop": "qemu reads cloop images but cannot write them",
    "dmg": "qemu reads dmg images but cannot write them",
    "parallels": "qemu's parallels driver is not one sysprep writes through (untested)",
}
# VMDK subformats qemu rewrites in place; streamOptimized grains are compressed, and qemu
# refuses to overwrite a grain it already holds, so a run would fail half-way.
VMDK_WRITABLE = (
    "monolithicSparse",
    "monolithicFlat",
    "twoGbMaxExtentSparse",
    "twoGbMaxExtentFlat",
    "vmfs",
)


@dataclass(frozen=True)
class ImageFile:
    path: str
    format: str  # raw, or one of QEMU_FORMATS
    size: int  # file size (raw) or virtual size
    dev: int
    ino: int
    backing: tuple[str, ...] = ()  # the backing chain below it, top first; opened read-only
    block: bool = False  # a block device (--allow-block-device)


def check(path: str, fmt: str | None, *, writable: bool, allow_block: bool = False) -> ImageFile:
    """Everything about the file that can be refused before anything is attached."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such image file") from None
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    if hostroot.host_root_backing().holds(st):
        raise UsageError(
            f"{path} holds the running system's root file system: sysprep never "
            "prepares the system it runs on as an image (omit --image for the live "
            "system)"
        )
    if stat.S_ISBLK(st.st_mode):
        return _block_device(path, st, fmt, writable=writable, allowed=allow_block)
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: not a regular file, so not a disk image")
    with open(path, "rb") as f:
        head = f.read(512)
        f.seek(max(0, st.st_size - 512))
        tail = f.read(512)
    detected = _detect(head, tail)
    # a sparse format's file may be small (a split VMDK's descriptor is a few lines of text):
    # its virtual size is what counts
    if st.st_size < MIN_SIZE and detected == "raw":
        raise UsageError(f"{path}: not a disk image ({st.st_size} bytes)")
    if writable:
        _check_writable(path, st)
    if detected in REFUSED:
        raise UsageError(
            f"{path}: a {detected} image: {REFUSED[detected]}; convert it first "
            f"(qemu-img convert -O qcow2 {path} out.qcow2)"
        )
    if fmt is not None and fmt != detected:
        if fmt != "raw":
            raise UsageError(f"{path}: --format {fmt}, but the file is a {detected} image")
        raise UsageError(
            f"{path}: --format raw, but the file is a {detected} image (a raw view "
            f"of it would be its {detected} metadata, not the guest's disk)"
        )
    if detected == "raw":
        return ImageFile(os.path.abspath(path), "raw", st.st_size, st.st_dev, st.st_ino)
    if detected == "qcow2":
        _qcow2_checks(path, head)
    size, backing = qemu_checks(os.path.abspath(path), detected)
    if size < MIN_SIZE:
        raise UsageError(f"{path}: a {detected} image of {size} bytes is too small to be a disk")
    return ImageFile(os.path.abspath(path), detected, size, st.st_dev, st.st_ino, backing)


def _detect(head: bytes, tail: bytes = b"") -> str:
    for offset, magic, name in HEAD_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    # a fixed VHD has its footer only at the end; a dmg its "koly" trailer
    if tail[:8] == b"conectix":
        return "vpc"
    if tail[:4] == b"koly":
        return "dmg"
    return "raw"


def _block_device(
    path: str, st: os.stat_result, fmt: str | None, *, writable: bool, allowed: bool
) -> ImageFile:
    if not allowed:
        raise UsageError(
            f"{path} is a block device: sysprep works on one only when asked "
            "(--allow-block-device), so that a mistyped name cannot touch the "
            "host's disks"
        )
    if fmt not in (None, "raw"):
        raise UsageError(f"{path}: a block device is read as raw (--format {fmt} is for files)")
    holder = blockdev.holder(path, st.st_rdev)
    if holder:
        raise UsageError(f"{path}: the device is in use: {holder}")
    size = blockdev.size(path)
    if size < MIN_SIZE:
        raise UsageError(f"{path}: not a disk ({size} bytes)")
    if writable:
        _check_writable(path, st)
    return ImageFile(os.path.abspath(path), "raw", size, st.st_dev, st.st_ino, block=True)


def qemu_checks(path: str, fmt: str) -> tuple[int, tuple[str, ...]]:
    """Ask qemu-img what the image is; refuse what sysprep will not write through qemu.
    Returns the virtual size and the backing chain (plain files, top first), each layer
    checked before qemu is let to open it."""
    top = _info(path, fmt)
    if fmt == "vmdk":
        _vmdk_checks(path, top.get("format-specific", {}).get("data", {}))
    chain: list[str] = []
    seen = {os.stat(path).st_ino}
    layer = top
    while True:
        name = str(layer.get("full-backing-filename") or layer.get("backing-filename") or "")
        if not name:
            return int(top["virtual-size"]), tuple(chain)
        backing = _backing_file(path, name)
        st = os.stat(backing)
        if st.st_ino in seen or len(chain) >= MAX_CHAIN:
            raise UsageError(f"{path}: its backing chain loops or is longer than {MAX_CHAIN}")
        seen.add(st.st_ino)
        chain.append(backing)
        with open(backing, "rb") as f:
            head = f.read(512)
        # the format the image records, else what the backing file is: never qemu's guess
        layer_fmt = str(layer.get("backing-filename-format") or _detect(head))
        if layer_fmt not in FORMATS:
            raise UsageError(
                f"{path}: its backing file {backing} is a {layer_fmt} image, not one "
                f"of {', '.join(FORMATS)}"
            )
        layer = _info(backing, layer_fmt)


def _info(path: str, fmt: str) -> dict[str, Any]:
    """qemu-img info of one file, its backing file not opened (-f: qemu does not guess)."""
    tool = shutil.which("qemu-img", path=CLEAN_PATH)
    if tool is None:
        raise UsageError(
            f"{path}: {fmt} images need qemu-img and qemu-storage-daemon (Debian: "
            "apt install qemu-utils qemu-system-common), or convert it to raw"
        )
    result = run([tool, "info", "--output=json", "-f", fmt, path], check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["qemu-img info failed"])[-1]
        if "lock" in detail.lower():
            raise UsageError(f"{path}: the image is in use by another process ({detail})")
        raise UsageError(f"{path}: qemu cannot open it as {fmt}: {detail}")
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def _vmdk_checks(path: str, data: dict[str, object]) -> None:
    kind = str(data.get("create-type", ""))
    if kind not in VMDK_WRITABLE:
        raise UsageError(
            f"{path}: a {kind or 'unknown'} VMDK: qemu cannot safely rewrite it in "
            "place (a streamOptimized one keeps its data compressed); convert it "
            f"first (qemu-img convert -O vmdk -o subformat=monolithicSparse {path} "
            "out.vmdk)"
        )
    here = os.path.dirname(os.path.realpath(path))
    extents = data.get("extents", [])
    for extent in extents if isinstance(extents, list) else []:
        name = str(extent.get("filename", "")) if isinstance(extent, dict) else ""
        if name and os.path.dirname(os.path.realpath(name)) != here:
            # a descriptor is text anyone can edit: its extents may name any host file
            raise UsageError(
                f"{path}: its extent {name} is not beside the descriptor; sysprep "
                "only writes extents in the descriptor's own folder"
            )


def _backing_file(path: str, name: str) -> str:
    """A backing file qemu will open read-only: a plain file, never a device or a protocol
    (a name stored in an image is untrusted: it could name any host file or server)."""
    if not name or name.startswith("json:") or ("://" in name) or not os.path.isabs(name):
        raise UsageError(
            f"{path}: its backing file {name!r} is not a plain file name; sysprep "
            "follows backing chains of local files only"
        )
    try:
        st = os.stat(name)
    except OSError as e:
        raise UsageError(f"{path}: its backing file {name}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: its backing file {name} is not a regular file")
    if hostroot.host_root_backing().holds(st):
        raise UsageError(f"{path}: its backing file {name} holds the running system's root")
    return name


def _check_writable(path: str, st: os.stat_result) -> None:
    if not st.st_mode & 0o222:
        raise UsageError(
            f"{path}: the image file is read-only (mode {stat.S_IMODE(st.st_mode):04o}); "
            "make it writable, or add --dry-run to only see what would change"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        why = {
            errno.EROFS: "it is on a read-only file system",
            errno.EPERM: "it is immutable (chattr +i)",
            errno.EACCES: "permission denied",
            errno.ETXTBSY: "it is in use",
        }.get(e.errno or 0, e.strerror or str(e))
        raise UsageError(
            f"{path}: the image file cannot be written ({why}); add --dry-run to "
            "only see what would change"
        ) from None
    os.close(fd)


def _qcow2_checks(path: str, head: bytes) -> None:
    if len(head) < 72:
        raise UsageError(f"{path}: truncated qcow2 header")
    (version,) = struct.unpack_from(">I", head, 4)
    (crypt,) = struct.unpack_from(">I", head, 32)
    if version not in (2, 3):
        raise UsageError(f"{path}: qcow2 version {version} is not supported")
    if crypt != 0:
        raise UsageError(f"{path}: the qcow2 image is encrypted; sysprep cannot open it")
    if version == 3 and len(head) >= 80:
        (incompatible,) = struct.unpack_from(">Q", head, 72)
        if incompatible & QCOW2_CORRUPT:
            raise UsageError(
                f"{path}: the qcow2 image is marked corrupt; repair it first "
                f"(qemu-img check -r all {path})"
            )
        if incompatible & QCOW2_EXTERNAL_DATA:
            raise UsageError(
                f"{path}: the qcow2 image keeps its data in an external file; "
                "sysprep does not follow file names stored in an image"
            )


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
            raise UsageError(
                f"{path}: the image is in use by another process (it is locked); "
                "stop the virtual machine or tool using it first"
            ) from None
        raise
