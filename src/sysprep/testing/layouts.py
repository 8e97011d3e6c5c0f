"""The disk layouts of the test images (see sysprep.testing.images): partition tables, file
systems made from a tree, LVM, GRUB for BIOS, each without device-mapper or partition
scanning where it can be avoided."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
import uuid
from typing import Callable, Iterator

from sysprep.target.image import loop, lvm
from sysprep.testing.dirty_root import write_file
from sysprep.testing.recipe import GRUB_DIR, LVM_CONFIG, MIB, Facts, Recipe, run, tree_size_mb

# -- low-level helpers -------------------------------------------------------------------


def _gpt(raw: str, size_mb: int, parts: list[tuple[int, str, str]]) -> list[tuple[int, int]]:
    """Make a GPT disk; parts are (size in MiB or 0 for the rest, type code, name).
    Returns (offset, size) in bytes of each partition."""
    with open(raw, "wb") as f:
        f.truncate(size_mb * MIB)
    args = ["sgdisk", "-Z"]
    for i, (mb, code, name) in enumerate(parts, start=1):
        args += [f"-n{i}:0:{'+' + str(mb) + 'M' if mb else '0'}", f"-t{i}:{code}", f"-c{i}:{name}"]
    run(*args, raw)
    out = []
    for i in range(1, len(parts) + 1):
        info = run("sgdisk", f"-i{i}", raw)
        first = int(info.split("First sector: ")[1].split()[0])
        last = int(info.split("Last sector: ")[1].split()[0])
        out.append((first * 512, (last - first + 1) * 512))
    return out


def _mkfs_ext4(
    raw: str, offset: int, size: int, tree: str | None, fs_uuid: str, label: str
) -> None:
    args = ["mkfs.ext4", "-q", "-F", "-U", fs_uuid, "-L", label, "-E", f"offset={offset}"]
    if tree is not None:
        args += ["-d", tree]
    run(*args, raw, f"{size // 1024}k")


@contextlib.contextmanager
def _loop(raw: str, offset: int, size: int) -> Iterator[str]:
    fd = os.open(raw, os.O_RDWR)
    try:
        lo = loop.attach(fd, offset, size, read_only=False, name="sysprep-test-build")
    finally:
        os.close(fd)
    try:
        yield lo.path
    finally:
        lo.close()


@contextlib.contextmanager
def _mounted(dev: str, work: str, *opts: str) -> Iterator[str]:
    point = tempfile.mkdtemp(prefix="mnt-", dir=work)
    args = ["mount", dev, point] if not opts else ["mount", "-o", ",".join(opts), dev, point]
    run(*args)
    try:
        yield point
    finally:
        run("umount", point)
        os.rmdir(point)


def _copy_tree(src: str, dest: str) -> None:
    run(
        "sh",
        "-c",
        f'tar -C "{src}" --xattrs --acls --numeric-owner -cf - . | '
        f'tar -C "{dest}" --xattrs --acls --numeric-owner -xf -',
    )


def _split_boot(tree: str, work: str) -> str:
    """Move the tree's /boot out (for a separate /boot file system); returns its folder."""
    boot = os.path.join(work, "boot")
    os.makedirs(boot)
    src = os.path.join(tree, "boot")
    for name in os.listdir(src):
        shutil.move(os.path.join(src, name), os.path.join(boot, name))
    densify(boot)
    return boot


def densify(tree: str) -> None:
    """Fill the holes of sparse files (a kernel extracted with its zero blocks as holes):
    GRUB 2.06 cannot read a sparse file whose extent tree has more than one level ("error:
    invalid extent"), and mkfs.ext4 -d keeps the holes."""
    for dirpath, _, filenames in os.walk(tree):
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if os.path.isfile(p) and not os.path.islink(p) and st.st_blocks * 512 < st.st_size:
                run("cp", "--sparse=never", "--preserve=all", p, p + ".dense")
                os.replace(p + ".dense", p)


# -- layouts -----------------------------------------------------------------------------


def _size(recipe: Recipe, tree: str, extra_mb: int) -> int:
    if recipe.size_mb:
        return recipe.size_mb
    return max(256, int(tree_size_mb(tree) * 1.5) + extra_mb + 64)


def _gpt_lvm(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    boot = _split_boot(tree, work)
    facts.boot_uuid, facts.root_uuid, facts.swap_uuid = (str(uuid.uuid4()) for _ in range(3))
    swap_mb = 128
    root_mb = _size(recipe, tree, 0)
    boot_mb = max(64, tree_size_mb(boot) + 48)
    disk_mb = 2 + boot_mb + root_mb + swap_mb + 8
    write_file(
        tree,
        "etc/fstab",
        "# /etc/fstab: static file system information (as the Debian installer writes it)\n"
        "/dev/mapper/debian--vg-root /               ext4    errors=remount-ro 0       1\n"
        f"# /boot was on /dev/sda2 during installation\nUUID={facts.boot_uuid} /boot           "
        "ext4    defaults        0       2\n"
        "/dev/mapper/debian--vg-swap_1 none            swap    sw              0       0\n",
    )
    write_file(tree, "etc/initramfs-tools/conf.d/resume", "RESUME=/dev/mapper/debian--vg-swap_1\n")
    write_file(
        tree,
        "etc/default/grub",
        'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX="console=ttyS0,115200n8"\n',
    )
    _grub_config(boot, facts, "/dev/mapper/debian--vg-root")
    (_, _), (boot_off, boot_size), (pv_off, pv_size) = _gpt(
        raw, disk_mb, [(1, "ef02", "bios"), (boot_mb, "8300", "boot"), (0, "8e00", "lvm")]
    )
    _mkfs_ext4(raw, boot_off, boot_size, boot, facts.boot_uuid, "boot")
    with _loop(raw, pv_off, pv_size) as dev:
        cfg = LVM_CONFIG.format(dev=dev)
        for cmd in (
            ["pvcreate", "-ff", "-y", dev],
            ["vgcreate", "debian-vg", dev],
            [
                "lvcreate",
                "--driverloaded",
                "n",
                "-an",
                "-Zn",
                "-y",
                "-L",
                f"{root_mb}M",
                "-n",
                "root",
                "debian-vg",
            ],
            [
                "lvcreate",
                "--driverloaded",
                "n",
                "-an",
                "-Zn",
                "-y",
                "-L",
                f"{swap_mb}M",
                "-n",
                "swap_1",
                "debian-vg",
            ],
        ):
            run("lvm", cmd[0], "--config", cfg, *cmd[1:])
    fd = os.open(raw, os.O_RDONLY)
    try:

        def read(off: int, n: int) -> bytes:
            return os.pread(fd, n, pv_off + off)

        label = lvm.read_label(read)
        assert label is not None
        text = lvm.read_metadata_text(read, label)
        assert text is not None
        vg = lvm.volume_group(lvm.parse_text(text))
    finally:
        os.close(fd)
    ranges = {lv.name: lvm.linear_range(vg, lv) for lv in vg.lvs}
    _, root_lv_off, root_lv_size = ranges["root"]
    _, swap_lv_off, swap_lv_size = ranges["swap_1"]
    _mkfs_ext4(raw, pv_off + root_lv_off, root_lv_size, tree, facts.root_uuid, "root")
    with _loop(raw, pv_off + swap_lv_off, swap_lv_size) as dev:
        run("mkswap", "-U", facts.swap_uuid, "-L", "swap", dev)
    _install_grub(raw, facts.boot_uuid)


def _grub_config(boot: str, facts: Facts, root_dev: str) -> None:
    kernel = facts.kernel or "unknown"
    os.makedirs(os.path.join(boot, "grub"), exist_ok=True)
    if os.path.isdir(GRUB_DIR):
        shutil.copytree(GRUB_DIR, os.path.join(boot, "grub", "i386-pc"), dirs_exist_ok=True)
    write_file(
        boot,
        "grub/i386-pc/load.cfg",
        f"search.fs_uuid {facts.boot_uuid} root hd0,gpt2\nset prefix=($root)'/grub'\n",
    )
    write_file(
        boot,
        "grub/grub.cfg",
        f"""\
# as grub-mkconfig writes it (abridged)
set default="0"
set timeout=1
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 {facts.boot_uuid}
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-{facts.root_uuid}' {{
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root --hint-bios=hd0,gpt2 {facts.boot_uuid}
	echo	'Loading Linux {kernel} ...'
	linux	/vmlinuz-{kernel} root={root_dev} ro console=ttyS0,115200n8 net.ifnames=0
	echo	'Loading initial ramdisk ...'
	initrd	/initrd.img-{kernel}
}}
""",
    )


def _install_grub(raw: str, boot_uuid: str) -> None:
    """What grub-install --target=i386-pc does on a GPT disk with a BIOS boot partition:
    core.img (finding /boot by UUID, like grub-install's load.cfg) in partition 1, boot.img
    in the MBR pointing at it."""
    load_cfg = raw + ".load.cfg"
    core = raw + ".core.img"
    with open(load_cfg, "w") as f:
        f.write(f"search.fs_uuid {boot_uuid} root hd0,gpt2\nset prefix=($root)'/grub'\n")
    run(
        "grub-mkimage",
        "-O",
        "i386-pc",
        "-d",
        GRUB_DIR,
        "-c",
        load_cfg,
        "-p",
        "(hd0,gpt2)/grub",
        "-o",
        core,
        "biosdisk",
        "part_gpt",
        "ext2",
        "search_fs_uuid",
        "normal",
    )
    with open(core, "rb") as f:
        core_img = bytearray(f.read())
    with open(os.path.join(GRUB_DIR, "boot.img"), "rb") as f:
        boot_img = bytearray(f.read())
    os.unlink(core)
    os.unlink(load_cfg)
    core_lba = 2048  # partition 1 starts at 1 MiB
    sectors = (len(core_img) + 511) // 512
    if sectors > 2048:
        raise RuntimeError("GRUB's core image does not fit the BIOS boot partition")
    # diskboot.img's block list (last 12 bytes of its sector): where the rest of core.img is
    struct.pack_into("<QH", core_img, 0x200 - 12, core_lba + 1, sectors - 1)
    with open(raw, "r+b") as f:
        mbr = bytearray(f.read(512))
        boot_img[0x03:0x5A] = mbr[0x03:0x5A]  # keep a BPB, as grub-bios-setup does
        boot_img[0x66:0x68] = b"\x90\x90"  # hard disk: no boot drive check
        boot_img[0x1B8:0x1FE] = mbr[0x1B8:0x1FE]  # keep the disk signature and partition table
        struct.pack_into("<Q", boot_img, 0x5C, core_lba)  # where core.img starts
        f.seek(0)
        f.write(boot_img)
        f.seek(core_lba * 512)
        f.write(core_img)


def _mbr_ext4(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    facts.root_uuid = str(uuid.uuid4())
    size_mb = _size(recipe, tree, 0)
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n")
    with open(raw, "wb") as f:
        f.truncate((size_mb + 2) * MIB)
    run("sfdisk", "-q", raw, input="label: dos\nstart=2048, type=83\n")
    _mkfs_ext4(raw, MIB, size_mb * MIB, tree, facts.root_uuid, "root")


def _two_disks(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    """The root on an MBR disk, /home on a second disk (a file system on the whole disk)."""
    home = os.path.join(work, "home")
    shutil.move(os.path.join(tree, "home"), home)
    os.mkdir(os.path.join(tree, "home"), 0o755)
    facts.root_uuid, facts.home_uuid, facts.disks = str(uuid.uuid4()), str(uuid.uuid4()), 2
    size_mb = _size(recipe, tree, 0)
    write_file(
        tree,
        "etc/fstab",
        f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n"
        f"UUID={facts.home_uuid} /home ext4 defaults 0 2\n",
    )
    with open(raw, "wb") as f:
        f.truncate((size_mb + 2) * MIB)
    run("sfdisk", "-q", raw, input="label: dos\nstart=2048, type=83\n")
    _mkfs_ext4(raw, MIB, size_mb * MIB, tree, facts.root_uuid, "root")
    second = f"{raw}.disk2"
    home_mb = max(32, tree_size_mb(home) * 2 + 16)
    with open(second, "wb") as f:
        f.truncate(home_mb * MIB)
    _mkfs_ext4(second, 0, home_mb * MIB, home, facts.home_uuid, "home")


def _srv_data(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    """An ext4 root and, on partition 2, an ext4 file system mounted at /srv/data."""
    data = os.path.join(work, "data")
    inside = os.path.join(tree, "srv", "data")
    os.makedirs(inside, exist_ok=True)
    shutil.move(inside, data)
    os.mkdir(inside, 0o755)
    facts.root_uuid, facts.data_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    root_mb, data_mb = _size(recipe, tree, 0), max(64, tree_size_mb(data) * 2 + 32)
    write_file(
        tree,
        "etc/fstab",
        f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n"
        f"UUID={facts.data_uuid} /srv/data ext4 defaults 0 2\n",
    )
    with open(raw, "wb") as f:
        f.truncate((root_mb + data_mb + 2) * MIB)
    run(
        "sfdisk",
        "-q",
        raw,
        input=f"label: dos\nstart=2048, size={root_mb * 2048}, type=83\n"
        f"start={2048 + root_mb * 2048}, type=83\n",
    )
    _mkfs_ext4(raw, MIB, root_mb * MIB, tree, facts.root_uuid, "root")
    _mkfs_ext4(raw, (root_mb + 1) * MIB, data_mb * MIB, data, facts.data_uuid, "data")


def _two_roots(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    facts.root_uuid = str(uuid.uuid4())
    other = str(uuid.uuid4())
    size_mb = _size(recipe, tree, 0)
    (a_off, a_size), (b_off, b_size) = _gpt(
        raw, 2 * size_mb + 4, [(size_mb, "8300", "one"), (0, "8300", "two")]
    )
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / ext4 defaults 0 1\n")
    _mkfs_ext4(raw, a_off, a_size, tree, facts.root_uuid, "one")
    write_file(tree, "etc/fstab", f"UUID={other} / ext4 defaults 0 1\n")
    _mkfs_ext4(raw, b_off, b_size, tree, other, "two")


def _gpt_xfs(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    boot = _split_boot(tree, work)
    facts.root_uuid, facts.boot_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    size_mb = max(320, _size(recipe, tree, 0))  # xfs wants 300 MiB at least
    write_file(
        tree,
        "etc/fstab",
        f"UUID={facts.root_uuid} / xfs defaults 0 1\n"
        f"UUID={facts.boot_uuid} /boot ext4 defaults 0 2\n",
    )
    (boot_off, boot_size), (root_off, root_size) = _gpt(
        raw, size_mb + 70, [(64, "8300", "boot"), (0, "8300", "root")]
    )
    _mkfs_ext4(raw, boot_off, boot_size, boot, facts.boot_uuid, "boot")
    with _loop(raw, root_off, root_size) as dev:
        run("mkfs.xfs", "-q", "-f", "-m", f"uuid={facts.root_uuid}", dev)
        with _mounted(dev, work) as mnt:
            _copy_tree(tree, mnt)


def _gpt_btrfs(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    facts.root_uuid = str(uuid.uuid4())
    size_mb = max(300, _size(recipe, tree, 0))
    write_file(
        tree,
        "etc/fstab",
        f"UUID={facts.root_uuid} / btrfs subvol=@,defaults 0 0\n"
        f"UUID={facts.root_uuid} /home btrfs subvol=@home,defaults 0 0\n",
    )
    ((off, size),) = _gpt(raw, size_mb + 4, [(0, "8300", "root")])
    with _loop(raw, off, size) as dev:
        run("mkfs.btrfs", "-q", "-f", "-U", facts.root_uuid, dev)
        try:
            with _mounted(dev, work, "subvolid=5") as mnt:
                run("btrfs", "-q", "subvolume", "create", os.path.join(mnt, "@"))
                run("btrfs", "-q", "subvolume", "create", os.path.join(mnt, "@home"))
                _copy_tree(tree, os.path.join(mnt, "@"))
                home = os.path.join(mnt, "@", "home")
                for name in os.listdir(home):
                    shutil.move(os.path.join(home, name), os.path.join(mnt, "@home", name))
        finally:
            subprocess.run(["btrfs", "device", "scan", "--forget", dev], capture_output=True)


BUILDERS: dict[str, Callable[[Recipe, str, str, str, Facts], None]] = {
    "gpt-lvm": _gpt_lvm,
    "mbr-ext4": _mbr_ext4,
    "gpt-xfs": _gpt_xfs,
    "gpt-btrfs": _gpt_btrfs,
    "two-roots": _two_roots,
    "two-disks": _two_disks,
    "srv-data": _srv_data,
}
