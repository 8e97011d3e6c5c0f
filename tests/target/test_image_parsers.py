"""Image metadata is untrusted input: partition tables, superblocks, LVM metadata and fstab
are parsed defensively, with clear errors."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib

import pytest

from sysprep.target.image import fstab, lvm
from sysprep.target.image.partitions import BadTable, read_table
from sysprep.target.image.probe import probe

MIB = 1024 * 1024


def reader(path: str):
    fd = os.open(path, os.O_RDONLY)

    def read(off: int, n: int) -> bytes:
        return os.pread(fd, n, off)

    return read, os.fstat(fd).st_size


def blank(tmp_path, name: str, mb: int) -> str:
    p = str(tmp_path / name)
    with open(p, "wb") as f:
        f.truncate(mb * MIB)
    return p


needs = pytest.mark.skipif(
    not shutil.which("sgdisk") or not shutil.which("sfdisk"), reason="needs gdisk and fdisk"
)


@needs
def test_gpt_partitions_with_types_names_and_guids(tmp_path):
    disk = blank(tmp_path, "d.img", 64)
    subprocess.run(
        [
            "sgdisk",
            "-n1:2048:+1M",
            "-t1:ef02",
            "-c1:bios",
            "-n2:0:+20M",
            "-t2:8300",
            "-c2:boot",
            "-n3:0:0",
            "-t3:8e00",
            "-u3:11111111-2222-3333-4444-555555555555",
            disk,
        ],
        check=True,
        capture_output=True,
    )
    table = read_table(*reader(disk))
    assert table.kind == "gpt"
    assert [p.number for p in table.partitions] == [1, 2, 3]
    bios, boot, lvm_part = table.partitions
    assert bios.bios_boot and bios.start == MIB and bios.size == MIB
    assert boot.name == "boot" and boot.size == 20 * MIB
    assert lvm_part.uuid == "11111111-2222-3333-4444-555555555555"


@needs
def test_damaged_primary_gpt_falls_back_to_the_backup(tmp_path):
    disk = blank(tmp_path, "d.img", 16)
    subprocess.run(["sgdisk", "-n1:2048:0", disk], check=True, capture_output=True)
    with open(disk, "r+b") as f:  # scribble over the primary entries
        f.seek(1024)
        f.write(b"\xff" * 128)
    table = read_table(*reader(disk))
    assert table.kind == "gpt" and len(table.partitions) == 1
    with open(disk, "r+b") as f:  # and over the backup header
        f.seek(16 * MIB - 512)
        f.write(b"\xff" * 512)
    with pytest.raises(BadTable, match="GPT is damaged"):
        read_table(*reader(disk))


@needs
def test_mbr_with_logical_partitions(tmp_path):
    disk = blank(tmp_path, "d.img", 64)
    script = (
        "label: dos\nstart=2048, size=20480, type=83\nstart=22528, type=5\n"
        "start=24576, size=10240, type=83\nstart=36864, size=10240, type=82\n"
    )
    subprocess.run(["sfdisk", "-q", disk], input=script, text=True, check=True, capture_output=True)
    table = read_table(*reader(disk))
    assert table.kind == "dos"
    assert [(p.number, p.type) for p in table.partitions] == [(1, "0x83"), (5, "0x83"), (6, "0x82")]
    assert table.partitions[1].start == 24576 * 512


def _mbr(entries: list[tuple[int, int, int]], size_mb: int = 16) -> bytes:
    sector = bytearray(512)
    for i, (ptype, lba, count) in enumerate(entries):
        struct.pack_into("<B3xB3xII", sector, 446 + 16 * i, 0, ptype, lba, count)
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def _disk(tmp_path, first: bytes, extra: dict[int, bytes] | None = None, mb: int = 16) -> str:
    disk = blank(tmp_path, "d.img", mb)
    with open(disk, "r+b") as f:
        f.write(first)
        for off, data in (extra or {}).items():
            f.seek(off)
            f.write(data)
    return disk


def test_looping_chain_of_logical_partitions_is_refused(tmp_path):
    ebr = bytearray(512)
    struct.pack_into("<B3xB3xII", ebr, 446, 0, 0x83, 2048, 100)
    struct.pack_into("<B3xB3xII", ebr, 462, 0, 0x05, 0, 4096)  # points back at itself
    ebr[510:512] = b"\x55\xaa"
    disk = _disk(tmp_path, _mbr([(0x05, 2048, 20000)]), {2048 * 512: bytes(ebr)})
    with pytest.raises(BadTable, match="loops"):
        read_table(*reader(disk))


def test_partition_past_the_end_of_the_disk_is_refused(tmp_path):
    disk = _disk(tmp_path, _mbr([(0x83, 2048, 10 * 2048)]), mb=16)
    read_table(*reader(disk))  # fits
    disk = _disk(tmp_path, _mbr([(0x83, 2048, 10 * 2048)]), mb=4)
    # a table that does not fit is not even taken for a table: it is "no table"
    assert read_table(*reader(disk)).kind == "none"


def test_overlapping_partitions_are_refused(tmp_path):
    disk = _disk(tmp_path, _mbr([(0x83, 2048, 4096), (0x83, 4096, 4096)]))
    with pytest.raises(BadTable, match="overlap"):
        read_table(*reader(disk))


def test_protective_mbr_without_gpt_is_a_damaged_table(tmp_path):
    disk = _disk(tmp_path, _mbr([(0xEE, 1, 16 * 2048 - 1)]))
    with pytest.raises(BadTable, match="protective MBR"):
        read_table(*reader(disk))


def test_gpt_entry_outside_the_disk_is_refused(tmp_path):
    disk = blank(tmp_path, "d.img", 4)
    entries = bytearray(128 * 128)
    entries[0:16] = b"\x01" * 16
    entries[16:32] = b"\x02" * 16
    struct.pack_into("<QQ", entries, 32, 2048, 10**9)
    header = bytearray(92)
    header[:8] = b"EFI PART"
    struct.pack_into(
        "<IIIIQQQQ16sQIII",
        header,
        8,
        0x10000,
        92,
        0,
        0,
        1,
        8191,
        34,
        8158,
        b"\x03" * 16,
        2,
        128,
        128,
        zlib.crc32(bytes(entries)),
    )
    struct.pack_into("<I", header, 16, zlib.crc32(bytes(header)))
    with open(disk, "r+b") as f:
        f.seek(512)
        f.write(bytes(header))
        f.seek(1024)
        f.write(bytes(entries))
    with pytest.raises(BadTable, match="outside the disk"):
        read_table(*reader(disk))


def test_a_fat_boot_sector_is_not_a_partition_table(tmp_path):
    boot = bytearray(512)
    boot[0] = 0xEB
    struct.pack_into("<H", boot, 11, 512)
    boot[82:90] = b"FAT32   "
    struct.pack_into("<I", boot, 67, 0x1234ABCD)
    boot[71:82] = b"EFI        "
    boot[446:462] = b"\xff" * 16  # boot code that looks like garbage entries
    boot[510:512] = b"\x55\xaa"
    disk = _disk(tmp_path, bytes(boot))
    assert read_table(*reader(disk)).kind == "none"
    p = probe(*reader(disk))
    assert (p.type, p.uuid, p.label) == ("vfat", "1234-ABCD", "EFI")


# -- superblocks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool,args,kind",
    [
        (
            "mkfs.ext4",
            ["-q", "-F", "-U", "0a1b2c3d-0000-4000-8000-000000000001", "-L", "root"],
            "ext4",
        ),
        (
            "mkfs.ext2",
            ["-q", "-F", "-U", "0a1b2c3d-0000-4000-8000-000000000001", "-L", "root"],
            "ext2",
        ),
        (
            "mkfs.xfs",
            ["-q", "-f", "-m", "uuid=0a1b2c3d-0000-4000-8000-000000000001", "-L", "root"],
            "xfs",
        ),
        (
            "mkfs.btrfs",
            ["-q", "-f", "-U", "0a1b2c3d-0000-4000-8000-000000000001", "-L", "root"],
            "btrfs",
        ),
        ("mkswap", ["-q", "-U", "0a1b2c3d-0000-4000-8000-000000000001", "-L", "root"], "swap"),
    ],
)
def test_probe_finds_type_uuid_and_label(tmp_path, tool, args, kind):
    if not shutil.which(tool):
        pytest.skip(f"no {tool}")
    dev = blank(tmp_path, "fs.img", 320)
    subprocess.run([tool, *args, dev], check=True, capture_output=True)
    p = probe(*reader(dev))
    assert (p.type, p.uuid, p.label) == (kind, "0a1b2c3d-0000-4000-8000-000000000001", "root")
    assert not p.dirty


def test_probe_luks_and_unknown(tmp_path):
    dev = blank(tmp_path, "x.img", 2)
    with open(dev, "r+b") as f:
        f.write(b"LUKS\xba\xbe\x00\x02")
        f.seek(168)
        f.write(b"6a7c0e5e-3c6e-4b8e-9d2c-6b1e1e3b9f00\0")
    assert probe(*reader(dev)).type == "crypto_LUKS"
    assert probe(*reader(blank(tmp_path, "y.img", 2))).type == ""


# -- LVM ---------------------------------------------------------------------------------

METADATA = """\
# Generated by LVM2 version 2.03.16(2) (2022-05-18): Tue Nov 25 10:00:00 2026

contents = "Text Format Volume Group"
version = 1

description = "Created *after* executing 'lvcreate -n root debian-vg'"

creation_host = "build"\t# Linux build 6.1.0 #1 SMP x86_64
creation_time = 1764064800\t# Tue Nov 25 10:00:00 2026

debian-vg {
\tid = "n2vYA4-tikB-qQih-sO05-og7m-ocBM-slfytH"
\tseqno = 3
\tformat = "lvm2"
\tstatus = ["RESIZEABLE", "READ", "WRITE"]
\tflags = []
\textent_size = 8192
\tmax_lv = 0
\tmax_pv = 0
\tmetadata_copies = 0

\tphysical_volumes {

\t\tpv0 {
\t\t\tid = "FmsYHP-oNop-kxOY-SIQt-RG0E-m5zY-zbPq5n"
\t\t\tdevice = "/dev/sda3"
\t\t\tstatus = ["ALLOCATABLE"]
\t\t\tflags = []
\t\t\tdev_size = 1019872
\t\t\tpe_start = 2048
\t\t\tpe_count = 130
\t\t}
\t}

\tlogical_volumes {

\t\troot {
\t\t\tid = "Aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = []
\t\t\tcreation_time = 1764064800
\t\t\tsegment_count = 2

\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 50
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = [
\t\t\t\t\t"pv0", 0
\t\t\t\t]
\t\t\t}
\t\t\tsegment2 {
\t\t\t\tstart_extent = 50
\t\t\t\textent_count = 25
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = [
\t\t\t\t\t"pv0", 50
\t\t\t\t]
\t\t\t}
\t\t}

\t\tswap_1 {
\t\t\tid = "Hhhhhh-bbbb-cccc-dddd-eeee-ffff-gggggg"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tsegment_count = 1

\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 25
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = [
\t\t\t\t\t"pv0", 100
\t\t\t\t]
\t\t\t}
\t\t}

\t\tsplit {
\t\t\tid = "Iiiiii-bbbb-cccc-dddd-eeee-ffff-gggggg"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tsegment_count = 2

\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 10
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = ["pv0", 75]
\t\t\t}
\t\t\tsegment2 {
\t\t\t\tstart_extent = 10
\t\t\t\textent_count = 10
\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1
\t\t\t\tstripes = ["pv0", 90]
\t\t\t}
\t\t}

\t\tthin {
\t\t\tid = "Jjjjjj-bbbb-cccc-dddd-eeee-ffff-gggggg"
\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tsegment_count = 1
\t\t\tsegment1 {
\t\t\t\tstart_extent = 0
\t\t\t\textent_count = 10
\t\t\t\ttype = "thin"
\t\t\t\tthin_pool = "pool"
\t\t\t}
\t\t}
\t}

}
"""


def test_lvm_metadata_text_is_parsed_into_the_volume_group():
    vg = lvm.volume_group(lvm.parse_text(METADATA))
    assert (vg.name, vg.seqno, vg.extent_size) == ("debian-vg", 3, 8192)
    assert vg.pvs[0].id == "FmsYHP-oNop-kxOY-SIQt-RG0E-m5zY-zbPq5n" and vg.pvs[0].pe_start == 2048
    lvs = {lv.name: lv for lv in vg.lvs}
    extent = 8192 * 512
    # two segments, contiguous on the PV: one range
    assert lvm.linear_range(vg, lvs["root"]) == ("pv0", 2048 * 512, 75 * extent)
    assert lvm.linear_range(vg, lvs["swap_1"]) == ("pv0", 2048 * 512 + 100 * extent, 25 * extent)
    with pytest.raises(lvm.NotLinear, match="not contiguous"):
        lvm.linear_range(vg, lvs["split"])
    with pytest.raises(lvm.NotLinear, match="thin"):
        lvm.linear_range(vg, lvs["thin"])
    assert lvm.mapper_name("debian-vg", "swap_1") == "debian--vg-swap_1"


@pytest.mark.parametrize(
    "text,message",
    [
        ('vg { id = "x"\n', "not closed"),
        ("vg { a = [1, 2", "array is not closed"),
        ("vg { a = }", "unexpected"),
        ("}", "unexpected '}'"),
        ("vg { " * 40 + "}" * 40, "nested too deeply"),
        ("vg { a = @ }", "unreadable"),
    ],
)
def test_bad_lvm_metadata_gets_a_clear_error(text, message):
    with pytest.raises(lvm.BadMetadata, match=message):
        lvm.parse_text(text)


def test_an_lv_running_past_its_pv_is_refused():
    vg = lvm.volume_group(lvm.parse_text(METADATA.replace("pe_count = 130", "pe_count = 60")))
    with pytest.raises(lvm.BadMetadata, match="past the end"):
        lvm.linear_range(vg, next(lv for lv in vg.lvs if lv.name == "root"))


def _pv(tmp_path, text: str, *, wrap: bool = False, length: int | None = None) -> str:
    """A PV label and a metadata area holding `text` (wrapped around the ring if asked)."""
    dev = blank(tmp_path, "pv.img", 2)
    mda_off, mda_size = 4096, 65536
    label = bytearray(512)
    label[:8] = b"LABELONE"
    struct.pack_into("<QI", label, 8, 1, 0)
    struct.pack_into("<I", label, 20, 32)
    label[24:32] = b"LVM2 001"
    label[32:64] = b"FmsYHPoNopkxOYSIQtRG0Em5zYzbPq5n"
    struct.pack_into("<QQQQQQQ", label, 64, 2 * MIB, MIB, 0, 0, 0, mda_off, mda_size)
    raw = text.encode() + b"\0"
    off = mda_size - 100 if wrap else 512
    hdr = bytearray(512)
    hdr[4:20] = lvm.MDA_MAGIC
    struct.pack_into("<IQQ", hdr, 20, 1, mda_off, mda_size)
    struct.pack_into("<QQ", hdr, 40, off, length if length is not None else len(raw))
    with open(dev, "r+b") as f:
        f.seek(512)
        f.write(label)
        f.seek(mda_off)
        f.write(hdr)
        if wrap:
            f.seek(mda_off + off)
            f.write(raw[:100])
            f.seek(mda_off + 512)
            f.write(raw[100:])
        else:
            f.seek(mda_off + off)
            f.write(raw)
    return dev


@pytest.mark.parametrize("wrap", [False, True])
def test_metadata_is_read_from_the_ring_buffer(tmp_path, wrap):
    read, _size = reader(_pv(tmp_path, METADATA, wrap=wrap))
    label = lvm.read_label(read)
    assert label is not None and label.uuid == "FmsYHP-oNop-kxOY-SIQt-RG0E-m5zY-zbPq5n"
    assert label.metadata_areas == ((4096, 65536),)
    assert lvm.read_metadata_text(read, label) == METADATA


def test_metadata_larger_than_its_area_is_refused(tmp_path):
    read, _size = reader(_pv(tmp_path, METADATA, length=10 * MIB))
    label = lvm.read_label(read)
    assert label is not None
    with pytest.raises(lvm.BadMetadata, match="does not fit"):
        lvm.read_metadata_text(read, label)


# -- fstab -------------------------------------------------------------------------------


def test_fstab_entries_and_device_references():
    text = (
        "# comment\nUUID=ABCD-1234 / ext4 errors=remount-ro 0 1\n"
        "/dev/mapper/debian--vg-home /home ext4 defaults 0 2\n"
        "LABEL=boot /boot ext4 defaults 0 2\n"
        "/dev/disk/by-partuuid/11111111-2222-3333-4444-555555555555 /srv xfs nouuid 0 0\n"
        "UUID=aaaa /data btrfs subvol=@data,compress=zstd 0 0\n"
        "/dev/sdb1 none swap sw 0 0\n"
        "server:/export /mnt/nfs nfs defaults 0 0\n"
        "/srv/www /var/www none bind 0 0\n"
        "/dev/vda2 /var/with\\040space ext4 defaults 0 0\n"
        "tmpfs /tmp tmpfs defaults 0 0\n"
    )
    entries = fstab.parse(text)
    local = [e for e in entries if e.local]
    assert [e.rel for e in local] == ["", "home", "boot", "srv", "data", "var/with space"]
    assert local[4].option("subvol") == "@data"
    assert fstab.device_ref("UUID=ABCD-1234") == fstab.DeviceRef("uuid", "abcd-1234")
    assert fstab.device_ref("LABEL=boot") == fstab.DeviceRef("label", "boot")
    assert fstab.device_ref(local[3].spec) == fstab.DeviceRef(
        "partuuid", "11111111-2222-3333-4444-555555555555"
    )
    assert fstab.device_ref("/dev/disk/by-label/my\\x20disk") == fstab.DeviceRef("label", "my disk")
    assert fstab.device_ref("/dev/mapper/../sda1") == fstab.DeviceRef("path", "/dev/sda1")
    assert fstab.device_ref("server:/export").kind == "none"


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/dev/sda", (0, 0)),
        ("/dev/sdb2", (1, 2)),
        ("/dev/vda1", (0, 1)),
        ("/dev/xvdc3", (2, 3)),
        ("/dev/nvme0n1p2", (0, 2)),
        ("/dev/nvme1n1", (1, 0)),
        ("/dev/mmcblk0p1", (0, 1)),
        ("/dev/sdaa1", (26, 1)),
        ("/dev/mapper/x", None),
        ("/dev/dm-0", None),
    ],
)
def test_guest_device_names_map_to_disks_and_partitions(path, expected):
    assert fstab.disk_and_partition(path) == expected
