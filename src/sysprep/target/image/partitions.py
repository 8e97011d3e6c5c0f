"""Partition tables (GPT and MBR, with logical partitions), parsed defensively from raw bytes.

The table is untrusted: every offset and count is checked against the disk size, GPT
checksums are verified (the backup table is used when the primary is damaged), extended
partition chains are bounded and loop-checked, and overlapping partitions are refused.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Callable

from sysprep.errors import UsageError

Reader = Callable[[int, int], bytes]  # (offset, length) -> bytes (short at the end of the disk)

SECTOR = 512
MAX_GPT_ENTRIES = 1024
MAX_LOGICAL = 128
EXTENDED = frozenset({0x05, 0x0F, 0x85})
PROTECTIVE = 0xEE

# GPT partition types sysprep cares about (lower case)
GPT_BIOS_BOOT = "21686148-6449-6e6f-744e-656564454649"
GPT_ESP = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes from the start of the disk
    size: int  # bytes
    type: str  # GPT: type GUID; MBR: "0x83"
    uuid: str  # GPT: unique partition GUID; MBR: "<disk signature>-<number>" as Linux shows it
    name: str = ""  # GPT partition name

    @property
    def bios_boot(self) -> bool:
        return self.type == GPT_BIOS_BOOT

    @property
    def esp(self) -> bool:
        return self.type in (GPT_ESP, "0xef")


@dataclass(frozen=True)
class PartitionTable:
    kind: str  # "gpt", "dos" or "none" (a file system or PV on the whole disk)
    disk_id: str
    partitions: tuple[Partition, ...]
    sector: int = SECTOR


class BadTable(UsageError):
    """A partition table that cannot be trusted."""


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


def read_table(read: Reader, size: int, what: str = "disk") -> PartitionTable:
    """The partition table of a disk of `size` bytes, read through `read`."""
    mbr = read(0, SECTOR)
    if len(mbr) < SECTOR:
        return PartitionTable("none", "", ())
    for sector in (512, 4096):
        hdr = read(sector, 92)
        if hdr[:8] == b"EFI PART":
            return _read_gpt(read, size, sector, what)
    if mbr[510:512] != b"\x55\xaa":
        return PartitionTable("none", "", ())
    entries = [struct.unpack_from("<B3xB3xII", mbr, 446 + 16 * i) for i in range(4)]
    if any(t == PROTECTIVE for _, t, _, _ in entries):
        raise BadTable(
            f"{what}: the protective MBR announces a GPT, but no valid GPT header "
            "was found (the partition table is damaged)"
        )
    if not _plausible_mbr(entries, size):
        return PartitionTable("none", "", ())
    return _read_dos(read, size, mbr, entries, what)


def _plausible_mbr(entries: list[tuple[int, int, int, int]], size: int) -> bool:
    """A FAT or NTFS boot sector also ends in 55 AA: only a sane table counts as one."""
    used = [(status, t, lba, n) for status, t, lba, n in entries if t != 0]
    if not used:
        return False
    for status, _t, lba, n in used:
        if status not in (0x00, 0x80) or n == 0 or lba == 0:
            return False
        if (lba + n) * SECTOR > size:
            return False
    return True


def _read_dos(
    read: Reader, size: int, mbr: bytes, entries: list[tuple[int, int, int, int]], what: str
) -> PartitionTable:
    sig = struct.unpack_from("<I", mbr, 440)[0]
    disk_id = f"{sig:08x}"
    parts: list[Partition] = []
    extended: tuple[int, int] | None = None
    for i, (_status, ptype, lba, count) in enumerate(entries, start=1):
        if ptype == 0 or count == 0:
            continue
        _check_bounds(what, i, lba * SECTOR, count * SECTOR, size)
        if ptype in EXTENDED:
            if extended is not None:
                raise BadTable(f"{what}: two extended partitions in the MBR")
            extended = (lba, count)
            continue
        parts.append(
            Partition(i, lba * SECTOR, count * SECTOR, f"0x{ptype:02x}", f"{disk_id}-{i:02d}")
        )
    if extended is not None:
        parts.extend(_read_logical(read, size, extended, disk_id, what))
    _check_overlaps(what, parts)
    return PartitionTable("dos", disk_id, tuple(parts))


def _read_logical(
    read: Reader, size: int, extended: tuple[int, int], disk_id: str, what: str
) -> list[Partition]:
    ext_start, ext_count = extended
    parts: list[Partition] = []
    seen: set[int] = set()
    ebr_lba = ext_start
    number = 5
    while True:
        if ebr_lba in seen or len(seen) >= MAX_LOGICAL:
            raise BadTable(f"{what}: the chain of logical partitions loops or is too long")
        seen.add(ebr_lba)
        if not ext_start <= ebr_lba < ext_start + ext_count:
            raise BadTable(
                f"{what}: a logical partition table points outside the extended partition"
            )
        ebr = read(ebr_lba * SECTOR, SECTOR)
        if len(ebr) < SECTOR or ebr[510:512] != b"\x55\xaa":
            break
        _s1, t1, lba1, n1 = struct.unpack_from("<B3xB3xII", ebr, 446)
        _s2, t2, lba2, _n2 = struct.unpack_from("<B3xB3xII", ebr, 462)
        if t1 != 0 and n1 != 0:
            start = (ebr_lba + lba1) * SECTOR
            _check_bounds(what, number, start, n1 * SECTOR, size)
            if start + n1 * SECTOR > (ext_start + ext_count) * SECTOR:
                raise BadTable(
                    f"{what}: logical partition {number} ends outside the extended partition"
                )
            parts.append(
                Partition(number, start, n1 * SECTOR, f"0x{t1:02x}", f"{disk_id}-{number:02d}")
            )
            number += 1
        if t2 == 0 or t2 not in EXTENDED:
            break
        ebr_lba = ext_start + lba2
    return parts


def _read_gpt(read: Reader, size: int, sector: int, what: str) -> PartitionTable:
    primary = _gpt_header(read, sector, size)
    table = None
    if primary is not None:
        table = _gpt_entries(read, primary, sector, size, what)
    if table is None:
        backup_lba = size // sector - 1
        backup = _gpt_header(read, backup_lba * sector, size)
        if backup is not None:
            table = _gpt_entries(read, backup, sector, size, what)
    if table is None:
        raise BadTable(
            f"{what}: the GPT is damaged (bad checksums in the primary and the backup "
            "table); repair it with gdisk or sgdisk"
        )
    return table


@dataclass(frozen=True)
class _GptHeader:
    disk_guid: str
    entries_lba: int
    count: int
    entry_size: int
    entries_crc: int
    first_usable: int
    last_usable: int


def _gpt_header(read: Reader, offset: int, size: int) -> _GptHeader | None:
    raw = read(offset, 512)
    if len(raw) < 92 or raw[:8] != b"EFI PART":
        return None
    (hsize,) = struct.unpack_from("<I", raw, 12)
    if not 92 <= hsize <= 512:
        return None
    (crc,) = struct.unpack_from("<I", raw, 16)
    if zlib.crc32(raw[:16] + b"\0\0\0\0" + raw[20:hsize]) & 0xFFFFFFFF != crc:
        return None
    first_usable, last_usable = struct.unpack_from("<QQ", raw, 40)
    disk_guid = _guid(raw[56:72])
    entries_lba, count, entry_size, entries_crc = struct.unpack_from("<QIII", raw, 72)
    if count > MAX_GPT_ENTRIES or entry_size < 128 or entry_size > 4096 or entry_size % 8:
        return None
    return _GptHeader(
        disk_guid, entries_lba, count, entry_size, entries_crc, first_usable, last_usable
    )


def _gpt_entries(
    read: Reader, h: _GptHeader, sector: int, size: int, what: str
) -> PartitionTable | None:
    length = h.count * h.entry_size
    start = h.entries_lba * sector
    if start + length > size:
        return None
    raw = read(start, length)
    if len(raw) < length or zlib.crc32(raw) & 0xFFFFFFFF != h.entries_crc:
        return None
    parts: list[Partition] = []
    for i in range(h.count):
        e = raw[i * h.entry_size : (i + 1) * h.entry_size]
        if e[:16] == b"\0" * 16:
            continue
        first, last = struct.unpack_from("<QQ", e, 32)
        if last < first:
            raise BadTable(f"{what}: GPT partition {i + 1} ends before it starts")
        name = e[56:128].decode("utf-16-le", "replace").split("\0", 1)[0]
        part = Partition(
            i + 1, first * sector, (last - first + 1) * sector, _guid(e[:16]), _guid(e[16:32]), name
        )
        _check_bounds(what, i + 1, part.start, part.size, size)
        parts.append(part)
    _check_overlaps(what, parts)
    return PartitionTable("gpt", h.disk_guid, tuple(parts), sector)


def _check_bounds(what: str, number: int, start: int, length: int, size: int) -> None:
    if start <= 0 or length <= 0 or start + length > size:
        raise BadTable(
            f"{what}: partition {number} lies outside the disk "
            f"(bytes {start}..{start + length} of {size}); the table is damaged "
            "or the image was truncated"
        )


def _check_overlaps(what: str, parts: list[Partition]) -> None:
    ordered = sorted(parts, key=lambda p: p.start)
    for a, b in zip(ordered, ordered[1:]):
        if a.start + a.size > b.start:
            raise BadTable(f"{what}: partitions {a.number} and {b.number} overlap")
