"""What a volume holds, from its first blocks: file system type, UUID and label.

Pure reading of superblocks (like blkid's probes, for the types that matter to an image
builder), so that nothing is attached or mounted to find out what a partition is.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from sysprep.target.image.partitions import Reader

# ext2/3/4 feature bits
EXT_COMPAT_HAS_JOURNAL = 0x4
EXT_INCOMPAT_RECOVER = 0x4
EXT_INCOMPAT_JOURNAL_DEV = 0x8
EXT4_INCOMPAT = 0x40 | 0x80 | 0x200 | 0x10000  # extents, 64bit, flex_bg, inline data
EXT4_RO_COMPAT = 0x8 | 0x20 | 0x40 | 0x400  # huge_file, dir_nlink, extra_isize, metadata_csum

LINUX_FS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs"})


@dataclass(frozen=True)
class Probe:
    type: str  # ext4, xfs, btrfs, swap, LVM2_member, crypto_LUKS, vfat, ... or "" (unknown)
    uuid: str = ""
    label: str = ""
    dirty: bool = False  # a journal that needs recovery (ext) or a log that needs replay
    devices: int = 1  # btrfs: how many devices the file system spans

    @property
    def linux_fs(self) -> bool:
        return self.type in LINUX_FS


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def probe(read: Reader, size: int) -> Probe:
    """Identify the content of a volume of `size` bytes."""
    head = read(0, 8192)
    if head[:6] == b"LUKS\xba\xbe":
        return Probe("crypto_LUKS", _text(head[168:208]))
    for sector in range(4):
        label = head[sector * 512 : sector * 512 + 32]
        if label[:8] == b"LABELONE" and label[24:32] == b"LVM2 001":
            (off,) = struct.unpack_from("<I", label, 20)
            pvh = head[sector * 512 + off : sector * 512 + off + 32]
            return Probe("LVM2_member", format_pv_uuid(pvh))
    if head[:4] == b"XFSB":
        return Probe("xfs", str(uuid.UUID(bytes=head[32:48])), _text(head[108:120]))
    sb = head[1024:2048]
    if len(sb) >= 264 and struct.unpack_from("<H", sb, 56)[0] == 0xEF53:
        return _ext(sb)
    swap = _swap(read, head)
    if swap is not None:
        return swap
    if size > 65536 + 4096:
        bt = read(65536, 4096)
        if bt[64:72] == b"_BHRfS_M":
            (ndev,) = struct.unpack_from("<Q", bt, 0x88)
            return Probe(
                "btrfs",
                str(uuid.UUID(bytes=bt[32:48])),
                _text(bt[0x12B : 0x12B + 256]),
                devices=int(ndev),
            )
    fat = _fat(head)
    if fat is not None:
        return fat
    if head[3:11] == b"NTFS    ":
        return Probe("ntfs")
    if head[1024 + 0 : 1024 + 4] == b"\x10\x20\xf5\xf2":
        return Probe("f2fs")
    if head[1024:1028] == b"\xe2\xe1\xf5\xe0":
        return Probe("erofs")
    if head[:4] in (b"hsqs", b"sqsh"):
        return Probe("squashfs")
    if size > 32774 and read(32769, 5) == b"CD001":
        return Probe("iso9660")
    return Probe("")


def format_pv_uuid(raw: bytes) -> str:
    """LVM prints the 32 characters of a PV UUID grouped 6-4-4-4-4-4-6."""
    s = raw[:32].decode("ascii", "replace")
    return "-".join((s[0:6], s[6:10], s[10:14], s[14:18], s[18:22], s[22:26], s[26:32]))


def _ext(sb: bytes) -> Probe:
    compat, incompat, ro_compat = struct.unpack_from("<III", sb, 92)
    if incompat & EXT_INCOMPAT_JOURNAL_DEV:
        return Probe("jbd", str(uuid.UUID(bytes=sb[104:120])))
    if incompat & EXT4_INCOMPAT or ro_compat & EXT4_RO_COMPAT:
        kind = "ext4"
    elif compat & EXT_COMPAT_HAS_JOURNAL:
        kind = "ext3"
    else:
        kind = "ext2"
    return Probe(
        kind,
        str(uuid.UUID(bytes=sb[104:120])),
        _text(sb[120:136]),
        dirty=bool(incompat & EXT_INCOMPAT_RECOVER),
    )


def _swap(read: Reader, head: bytes) -> Probe | None:
    for page in (4096, 8192, 16384, 65536):
        magic = head[page - 10 : page] if page <= len(head) else read(page - 10, 10)
        if magic in (b"SWAPSPACE2", b"SWAP-SPACE"):
            info = head[1024 : 1024 + 44]
            return Probe("swap", str(uuid.UUID(bytes=info[12:28])), _text(info[28:44]))
    return None


def _fat(head: bytes) -> Probe | None:
    if head[510:512] != b"\x55\xaa" or head[0] not in (0xEB, 0xE9):
        return None
    (bytes_per_sector,) = struct.unpack_from("<H", head, 11)
    if bytes_per_sector not in (512, 1024, 2048, 4096):
        return None
    if head[82:87] == b"FAT32":
        (serial,) = struct.unpack_from("<I", head, 67)
        label = head[71:82]
    elif head[54:59] in (b"FAT12", b"FAT16"):
        (serial,) = struct.unpack_from("<I", head, 39)
        label = head[43:54]
    else:
        return None
    vol = f"{serial >> 16:04X}-{serial & 0xFFFF:04X}"
    text = label.decode("ascii", "replace").strip()
    return Probe("vfat", vol, "" if text == "NO NAME" else text)
