"""LVM2 read without LVM: the PV label, the metadata area, the text metadata, and where each
logical volume lies on its physical volumes.

Nothing is activated: a linear LV is one range of bytes of one PV, which a loop device at
that offset maps exactly (the way to reach an LV on a kernel without device-mapper). The
metadata is untrusted text: sizes are bounded, the parser is iterative over tokens with a
depth limit, and every extent range is checked against its PV.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Dict, List, Union

from sysprep.errors import UsageError
from sysprep.target.image.partitions import Reader
from sysprep.target.image.probe import format_pv_uuid

SECTOR = 512
MDA_MAGIC = b" LVM2 x[5A%r0N*>"
MAX_METADATA = 16 * 1024 * 1024
MAX_DEPTH = 32

Value = Union[int, str, List["Value"], Dict[str, "Value"]]


class BadMetadata(UsageError):
    """LVM metadata that cannot be read or trusted."""


@dataclass(frozen=True)
class PvLabel:
    uuid: str  # with dashes, as LVM prints it
    size: int  # device size recorded in the label (bytes)
    data_areas: tuple[tuple[int, int], ...]  # (offset, size) in bytes from the PV start
    metadata_areas: tuple[tuple[int, int], ...]


def read_label(read: Reader, what: str = "PV") -> PvLabel | None:
    """The PV label in one of the first four sectors, or None when there is none."""
    head = read(0, 4 * SECTOR)
    for sector in range(4):
        lab = head[sector * SECTOR : (sector + 1) * SECTOR]
        if lab[:8] != b"LABELONE" or lab[24:32] != b"LVM2 001":
            continue
        (offset,) = struct.unpack_from("<I", lab, 20)
        if not 32 <= offset <= SECTOR - 48:
            raise BadMetadata(f"{what}: damaged LVM label (header offset {offset})")
        pos = offset
        pv_uuid = format_pv_uuid(lab[pos : pos + 32])
        (dev_size,) = struct.unpack_from("<Q", lab, pos + 32)
        pos += 40
        lists: list[tuple[tuple[int, int], ...]] = []
        for _ in range(2):
            items = []
            while True:
                if pos + 16 > SECTOR:
                    raise BadMetadata(f"{what}: damaged LVM label (area list runs past the sector)")
                off, size = struct.unpack_from("<QQ", lab, pos)
                pos += 16
                if off == 0:
                    break
                items.append((off, size))
            lists.append(tuple(items))
        return PvLabel(pv_uuid, dev_size, lists[0], lists[1])
    return None


def read_metadata_text(read: Reader, label: PvLabel, what: str = "PV") -> str | None:
    """The newest metadata text of the PV's first usable metadata area."""
    for mda_off, mda_size in label.metadata_areas:
        hdr = read(mda_off, SECTOR)
        if len(hdr) < 64 or hdr[4:20] != MDA_MAGIC:
            continue
        (start,) = struct.unpack_from("<Q", hdr, 24)
        size = mda_size  # the label's figure; the header repeats it
        if start != mda_off or size <= SECTOR:
            continue
        off, length = struct.unpack_from("<QQ", hdr, 40)
        if length == 0 or off == 0:
            continue
        if length > MAX_METADATA or length > size or off >= size:
            raise BadMetadata(
                f"{what}: LVM metadata of {length} bytes at offset {off} does not "
                f"fit its area of {size} bytes"
            )
        if off + length <= size:
            raw = read(mda_off + off, length)
        else:  # the area is a ring buffer after its 512-byte header
            first = size - off
            raw = read(mda_off + off, first) + read(mda_off + SECTOR, length - first)
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
    return None


# -- the text format ----------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    \s+ | \#[^\n]* |
    (?P<str>"(?:[^"\\]|\\.)*") |
    (?P<num>-?\d+(?:\.\d+)?) |
    (?P<word>[A-Za-z0-9_.+\-]+) |
    (?P<punct>[={}\[\],])
""",
    re.X,
)


def _tokens(text: str, what: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise BadMetadata(f"{what}: unreadable LVM metadata near {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind is not None:
            out.append((kind, m.group(kind)))
    return out


def parse_text(text: str, what: str = "PV") -> dict[str, Value]:
    """LVM's metadata syntax: `key = value`, `section { ... }`, arrays `[a, b]`."""
    toks = _tokens(text, what)
    pos = 0

    def err(msg: str) -> BadMetadata:
        return BadMetadata(f"{what}: bad LVM metadata: {msg}")

    def value(depth: int) -> Value:
        nonlocal pos
        if pos >= len(toks):
            raise err("a value is missing at the end")
        kind, tok = toks[pos]
        pos += 1
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", tok[1:-1])
        if kind == "num":
            return int(float(tok)) if "." in tok else int(tok)
        if tok == "[":
            items: list[Value] = []
            while pos < len(toks) and toks[pos][1] != "]":
                items.append(value(depth + 1))
                if pos < len(toks) and toks[pos][1] == ",":
                    pos += 1
            if pos >= len(toks):
                raise err("an array is not closed")
            pos += 1
            return items
        raise err(f"unexpected {tok!r}")

    def section(depth: int, closing: bool) -> dict[str, Value]:
        nonlocal pos
        if depth > MAX_DEPTH:
            raise err("sections nested too deeply")
        out: dict[str, Value] = {}
        while pos < len(toks):
            kind, tok = toks[pos]
            if tok == "}" and kind == "punct":
                if not closing:
                    raise err("an unexpected '}'")
                pos += 1
                return out
            if kind not in ("word", "str", "num"):
                raise err(f"unexpected {tok!r}")
            key = tok.strip('"')
            pos += 1
            if pos >= len(toks):
                raise err(f"{key} has no value")
            if toks[pos][1] == "=":
                pos += 1
                out[key] = value(depth)
            elif toks[pos][1] == "{":
                pos += 1
                out[key] = section(depth + 1, True)
            else:
                raise err(f"{key} is followed by {toks[pos][1]!r}")
        if closing:
            raise err("a section is not closed")
        return out

    return section(0, False)


# -- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stripe:
    pv: str  # the PV's name in the metadata (pv0, pv1...)
    start_extent: int


@dataclass(frozen=True)
class Segment:
    start_extent: int
    extent_count: int
    type: str
    stripes: tuple[Stripe, ...]


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    id: str
    visible: bool
    segments: tuple[Segment, ...]

    @property
    def extents(self) -> int:
        return sum(s.extent_count for s in self.segments)


@dataclass(frozen=True)
class PhysicalVolume:
    key: str  # pv0...
    id: str  # UUID with dashes
    pe_start: int  # sectors
    pe_count: int


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    id: str
    seqno: int
    extent_size: int  # sectors
    pvs: tuple[PhysicalVolume, ...]
    lvs: tuple[LogicalVolume, ...]

    def pv(self, key: str) -> PhysicalVolume | None:
        return next((p for p in self.pvs if p.key == key), None)


def _int(d: dict[str, Value], key: str, what: str, default: int | None = None) -> int:
    v = d.get(key, default)
    if not isinstance(v, int) or v < 0:
        raise BadMetadata(f"{what}: bad or missing {key} in the LVM metadata")
    return v


def _str(d: dict[str, Value], key: str, default: str = "") -> str:
    v = d.get(key, default)
    return v if isinstance(v, str) else default


def volume_group(meta: dict[str, Value], what: str = "PV") -> VolumeGroup:
    """The volume group described by parsed metadata (its one top-level section)."""
    groups = [(k, v) for k, v in meta.items() if isinstance(v, dict)]
    if len(groups) != 1:
        raise BadMetadata(f"{what}: LVM metadata describes {len(groups)} volume groups")
    name, vg = groups[0]
    where = f"{what}: volume group {name}"
    extent_size = _int(vg, "extent_size", where)
    if extent_size == 0:
        raise BadMetadata(f"{where}: extent size 0")
    pvs = []
    pv_section = vg.get("physical_volumes", {})
    if not isinstance(pv_section, dict):
        raise BadMetadata(f"{where}: bad physical_volumes section")
    for key, pv in pv_section.items():
        if isinstance(pv, dict):
            pvs.append(
                PhysicalVolume(
                    key, _str(pv, "id"), _int(pv, "pe_start", where), _int(pv, "pe_count", where)
                )
            )
    lvs = []
    lv_section = vg.get("logical_volumes", {})
    if not isinstance(lv_section, dict):
        raise BadMetadata(f"{where}: bad logical_volumes section")
    for lv_name, lv in lv_section.items():
        if not isinstance(lv, dict):
            continue
        status = lv.get("status", [])
        visible = isinstance(status, list) and "VISIBLE" in status
        segs = []
        count = _int(lv, "segment_count", f"{where}, LV {lv_name}")
        for i in range(1, count + 1):
            seg = lv.get(f"segment{i}")
            if not isinstance(seg, dict):
                raise BadMetadata(f"{where}, LV {lv_name}: segment{i} is missing")
            raw = seg.get("stripes", [])
            stripes = []
            if isinstance(raw, list):
                for j in range(0, len(raw) - 1, 2):
                    pv_key, ext = raw[j], raw[j + 1]
                    if isinstance(pv_key, str) and isinstance(ext, int):
                        stripes.append(Stripe(pv_key, ext))
            segs.append(
                Segment(
                    _int(seg, "start_extent", where),
                    _int(seg, "extent_count", where),
                    _str(seg, "type"),
                    tuple(stripes),
                )
            )
        lvs.append(LogicalVolume(lv_name, _str(lv, "id"), visible, tuple(segs)))
    seqno = vg.get("seqno", 0)
    return VolumeGroup(
        name,
        _str(vg, "id"),
        seqno if isinstance(seqno, int) else 0,
        extent_size,
        tuple(pvs),
        tuple(lvs),
    )


class NotLinear(Exception):
    """An LV that is not one contiguous range of one PV: it needs device-mapper."""


def linear_range(vg: VolumeGroup, lv: LogicalVolume) -> tuple[str, int, int]:
    """(PV key, byte offset from the PV start, byte length) of an LV that is one contiguous
    range of one PV; NotLinear says why when it is not."""
    if not lv.segments:
        raise NotLinear("it has no segments")
    ext_bytes = vg.extent_size * SECTOR
    pv_key = None
    first = 0
    expected_lv = 0
    expected_pv = None
    for seg in sorted(lv.segments, key=lambda s: s.start_extent):
        if seg.type != "striped" or len(seg.stripes) != 1:
            kind = seg.type if seg.type != "striped" else f"striped over {len(seg.stripes)} PVs"
            raise NotLinear(f"it is a {kind} volume")
        stripe = seg.stripes[0]
        if seg.start_extent != expected_lv:
            raise NotLinear("its segments leave a gap")
        if pv_key is None:
            pv_key, first = stripe.pv, stripe.start_extent
        elif stripe.pv != pv_key or stripe.start_extent != expected_pv:
            raise NotLinear("its segments are not contiguous on one PV")
        pv = vg.pv(stripe.pv)
        if pv is None:
            raise BadMetadata(f"volume group {vg.name}: LV {lv.name} uses unknown PV {stripe.pv}")
        if stripe.start_extent + seg.extent_count > pv.pe_count:
            raise BadMetadata(
                f"volume group {vg.name}: LV {lv.name} runs past the end of {stripe.pv}"
            )
        expected_lv = seg.start_extent + seg.extent_count
        expected_pv = stripe.start_extent + seg.extent_count
    assert pv_key is not None
    pv = vg.pv(pv_key)
    assert pv is not None
    return pv_key, pv.pe_start * SECTOR + first * ext_bytes, lv.extents * ext_bytes


def mapper_name(vg: str, lv: str) -> str:
    """/dev/mapper/ name of an LV: dashes in either name are doubled."""
    return f"{vg.replace('-', '--')}-{lv.replace('-', '--')}"
