"""Disk images for the tests, the benchmark and the boot tests, built without device-mapper,
partition scanning or mounting where it can be avoided, and cached by their recipe.

Layouts:

* ``gpt-lvm`` (bootable): GPT with a BIOS boot partition holding GRUB's core image, a
  separate ``/boot`` (ext4) and an LVM physical volume with ``debian-vg/root`` (ext4) and
  ``debian-vg/swap_1``; GRUB is set up the way grub-install does it for BIOS (boot.img in
  the MBR, core.img in the BIOS boot partition, its ``load.cfg`` finding /boot by UUID);
  the fstab names the root and swap by /dev/mapper path and /boot by UUID, as the Debian
  installer writes it. Boots in qemu (SeaBIOS) to a login prompt on the serial console.
* ``mbr-ext4``: one ext4 root partition in an MBR table.
* ``gpt-xfs``: GPT, xfs root, ext4 /boot.
* ``gpt-btrfs``: GPT, one btrfs file system with subvolumes ``@`` (/) and ``@home`` (/home).
* ``two-roots``: two ext4 partitions that each hold a system (to test --root-fs).
* ``two-disks``: the root on one disk, /home on a second one (``IMAGE.disk2``).
* ``srv-data``: MBR, an ext4 root and a second ext4 partition mounted at /srv/data (a mount
  point in a folder of the root, which image code could rename).

The content is either the cached debootstrap Debian root (``source="debian"``, dirtied like
a used machine) or sysprep's synthetic dirty root (``source="dirty"``, seconds to make).
``python -m sysprep.testing.images LAYOUT OUT [--debian TARBALL] [--format qcow2]`` builds one.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Iterator

from sysprep.target.image import loop, lvm
from sysprep.testing.dirty_root import add_bulk, write_file
from sysprep.testing.dirty_root import build as build_dirty

if TYPE_CHECKING:
    from sysprep.target.confined import Confined

CACHE = os.environ.get("SYSPREP_TEST_CACHE", "/var/cache/sysprep-tests")
GRUB_DIR = "/usr/lib/grub/i386-pc"
MIB = 1024 * 1024
VERSION = "v4"  # bump when the builder changes what it makes
LVM_CONFIG = ('devices {{ filter=["a|^{dev}$|","r|.*|"] global_filter=["a|^{dev}$|","r|.*|"] '
              'use_devicesfile=0 obtain_device_list_from_udev=0 scan_lvs=0 }} '
              'backup {{ backup=0 archive=0 }} '
              'activation {{ udev_sync=0 udev_rules=0 monitoring=0 }}')


@dataclass(frozen=True)
class Recipe:
    layout: str  # gpt-lvm, mbr-ext4, gpt-xfs, gpt-btrfs, two-roots
    source: str = "dirty"  # dirty (synthetic) or debian (the debootstrap tarball)
    format: str = "raw"
    size_mb: int = 0  # 0: a size that fits the layout and source
    bulk: int = 0  # extra files in logs, temp and homes
    tarball: str = ""  # the Debian root (its name is part of the key)
    # more files: (path, text, mode); a text "random:N" is N random bytes
    extra: tuple[tuple[str, str, int], ...] = ()

    def key(self) -> str:
        data = json.dumps({**asdict(self), "tarball": os.path.basename(self.tarball),
                           "v": VERSION}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:12]

    @property
    def file_name(self) -> str:
        return f"{self.layout}-{self.source}-{self.key()}.{self.format}"


@dataclass
class Facts:
    """What the built image holds, for tests to check against."""

    layout: str
    boot_uuid: str = ""
    root_uuid: str = ""
    swap_uuid: str = ""
    home_uuid: str = ""
    data_uuid: str = ""
    machine_id: str = ""
    kernel: str = ""
    identity: list[str] = field(default_factory=list)  # paths that generalize must remove
    disks: int = 1  # more disks of the same guest sit next to the image: IMAGE.disk2, ...


def run(*argv: str, input: str | None = None) -> str:
    p = subprocess.run(list(argv), capture_output=True, text=True, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return p.stdout


def cached(recipe: Recipe, cache: str = CACHE) -> tuple[str, Facts]:
    """The cached image for a recipe (built first if missing) and its facts."""
    os.makedirs(os.path.join(cache, "images"), exist_ok=True)
    path = os.path.join(cache, "images", recipe.file_name)
    facts_path = path + ".json"
    if not (os.path.exists(path) and os.path.exists(facts_path)):
        with tempfile.TemporaryDirectory(dir=os.path.join(cache, "images")) as work:
            tmp = os.path.join(work, "image")
            facts = build(recipe, tmp, work)
            for n in range(2, facts.disks + 1):
                os.rename(f"{tmp}.disk{n}", f"{path}.disk{n}")
            os.rename(tmp, path)
            with open(facts_path + ".tmp", "w") as f:
                json.dump(asdict(facts), f)
            os.rename(facts_path + ".tmp", facts_path)
    with open(facts_path) as f:
        return path, Facts(**json.load(f))


def copy(src: str, dest: str) -> str:
    """A private copy of an image (sparse, or a reflink where the file system can), with the
    other disks of its guest (DEST.disk2, ...) when it has some."""
    run("cp", "--sparse=always", "--reflink=auto", src, dest)
    n = 2
    while os.path.exists(f"{src}.disk{n}"):
        run("cp", "--sparse=always", "--reflink=auto", f"{src}.disk{n}", f"{dest}.disk{n}")
        n += 1
    return dest


def build(recipe: Recipe, out: str, work: str) -> Facts:
    tree = os.path.join(work, "tree")
    facts = Facts(recipe.layout)
    if recipe.source == "debian":
        if not recipe.tarball:
            raise ValueError("a Debian image needs the debootstrap tarball")
        os.makedirs(tree)
        run("tar", "-C", tree, "--xattrs", "--acls", "--numeric-owner", "-xf", recipe.tarball)
        dirty_debian(tree, facts)
    else:
        d = build_dirty(tree)
        facts.machine_id = d.machine_id
        facts.identity = list(d.identity)
    if recipe.bulk:
        users = {n: 1000 + i for i, n in enumerate(("alice", "bob"))}
        add_bulk(tree, recipe.bulk, users)
    for rel, text, mode in recipe.extra:
        p = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            if text.startswith("random:"):
                left = int(text[7:])
                while left > 0:
                    f.write(os.urandom(min(left, MIB)))
                    left -= MIB
            else:
                f.write(text.encode())
        os.chmod(p, mode)
    raw = out if recipe.format == "raw" else out + ".raw"
    builders = {"gpt-lvm": _gpt_lvm, "mbr-ext4": _mbr_ext4, "gpt-xfs": _gpt_xfs,
                "gpt-btrfs": _gpt_btrfs, "two-roots": _two_roots, "two-disks": _two_disks,
                "srv-data": _srv_data}
    builders[recipe.layout](recipe, tree, raw, work, facts)
    if recipe.format == "qcow2":
        run("qemu-img", "convert", "-O", "qcow2", raw, out)
        os.unlink(raw)
        for n in range(2, facts.disks + 1):
            run("qemu-img", "convert", "-O", "qcow2", f"{raw}.disk{n}", f"{out}.disk{n}")
            os.unlink(f"{raw}.disk{n}")
    return facts


def _tree_size_mb(tree: str) -> int:
    out = run("du", "-sm", "--apparent-size", tree)
    return int(out.split()[0])


# -- dirtying a real Debian root -------------------------------------------------------

def in_root(root: str, *argv: str) -> str:
    """Run a program of the root in a bubblewrap sandbox whose / is the root."""
    return run("bwrap", "--bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run",
               "--unshare-pid", "--unshare-net", "--die-with-parent", "--clearenv",
               "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "--setenv", "HOME", "/root",
               "--setenv", "LC_ALL", "C.UTF-8", *argv)


def dirty_debian(root: str, facts: Facts) -> None:
    """Use the Debian root as a machine would have been: users, histories, logs, keys, leases."""
    def w(rel: str, data: str | bytes, mode: int = 0o644) -> None:
        facts.identity.append(write_file(root, rel, data, mode))

    for user in ("alice", "bob"):
        if not os.path.isdir(os.path.join(root, "home", user)):
            in_root(root, "useradd", "-m", "-s", "/bin/bash", user)
        w(f"home/{user}/.bash_history", f"ssh build@10.0.0.1\ncat secret-{user}\n", 0o600)
    facts.machine_id = secrets.token_hex(16)
    with open(os.path.join(root, "etc/machine-id"), "w") as f:
        f.write(facts.machine_id + "\n")
    in_root(root, "ssh-keygen", "-A")
    facts.identity += [os.path.relpath(os.path.join(root, "etc/ssh", n), root)
                       for n in os.listdir(os.path.join(root, "etc/ssh")) if "_host_" in n]
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("build-host\n")
    w("root/.bash_history", "apt-get install -y nginx\nhistory -c\n", 0o600)
    w("var/log/syslog", "Nov 25 10:00:00 build-host kernel: eth0 up\n" * 50, 0o640)
    w("var/log/syslog.1", "older\n", 0o640)
    w("var/log/auth.log", "sshd: Accepted password for alice from 10.0.2.2\n", 0o640)
    w("var/log/kern.log", "kernel: boot\n", 0o640)
    w("var/log/messages", "messages\n", 0o640)
    w("var/log/wtmp", b"\x07" * 384, 0o664)
    w("var/log/btmp", b"\x06" * 384, 0o660)
    w("var/log/lastlog", b"\x00" * 292, 0o664)
    w(f"var/log/journal/{facts.machine_id}/system.journal", secrets.token_bytes(65536), 0o640)
    w("var/log/nginx/access.log", "10.0.2.2 - - GET /\n", 0o640)
    w("var/log/apt/eipp.log.xz", b"\xfd7zXZ\x00", 0o600)
    w("var/lib/dhcp/dhclient.eth0.leases", "lease {\n  interface \"eth0\";\n  fixed-address 10.0.2.15;\n}\n")
    w("var/lib/systemd/random-seed", secrets.token_bytes(512), 0o600)
    w("var/cache/apt/pkgcache.bin", secrets.token_bytes(4096))
    w("tmp/build.sh", "#!/bin/sh\necho build\n", 0o755)
    w("var/tmp/systemd-private-abc/tmp/x", "x\n")
    w("root/.ssh/known_hosts", "github.com ssh-ed25519 AAAAC3Nza\n", 0o600)
    w("etc/udev/rules.d/70-persistent-net.rules",
      'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n')
    for rel in ("var/log/dpkg.log", "var/log/alternatives.log", "var/log/bootstrap.log",
                "var/log/apt/history.log", "var/log/apt/term.log"):
        if os.path.exists(os.path.join(root, rel)):
            facts.identity.append(rel)
    kernels = sorted(n for n in os.listdir(os.path.join(root, "boot")) if n.startswith("vmlinuz-"))
    facts.kernel = kernels[-1][len("vmlinuz-"):] if kernels else ""


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


def _mkfs_ext4(raw: str, offset: int, size: int, tree: str | None, fs_uuid: str, label: str) -> None:
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
    run("sh", "-c", f'tar -C "{src}" --xattrs --acls --numeric-owner -cf - . | '
                    f'tar -C "{dest}" --xattrs --acls --numeric-owner -xf -')


def _split_boot(tree: str, work: str) -> str:
    """Move the tree's /boot out (for a separate /boot file system); returns its folder."""
    boot = os.path.join(work, "boot")
    os.makedirs(boot)
    src = os.path.join(tree, "boot")
    for name in os.listdir(src):
        shutil.move(os.path.join(src, name), os.path.join(boot, name))
    _densify(boot)
    return boot


def _densify(tree: str) -> None:
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
    return max(256, int(_tree_size_mb(tree) * 1.5) + extra_mb + 64)


def _gpt_lvm(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    boot = _split_boot(tree, work)
    facts.boot_uuid, facts.root_uuid, facts.swap_uuid = (str(uuid.uuid4()) for _ in range(3))
    swap_mb = 128
    root_mb = _size(recipe, tree, 0)
    boot_mb = max(64, _tree_size_mb(boot) + 48)
    disk_mb = 2 + boot_mb + root_mb + swap_mb + 8
    write_file(tree, "etc/fstab",
               "# /etc/fstab: static file system information (as the Debian installer writes it)\n"
               "/dev/mapper/debian--vg-root /               ext4    errors=remount-ro 0       1\n"
               f"# /boot was on /dev/sda2 during installation\nUUID={facts.boot_uuid} /boot           "
               "ext4    defaults        0       2\n"
               "/dev/mapper/debian--vg-swap_1 none            swap    sw              0       0\n")
    write_file(tree, "etc/initramfs-tools/conf.d/resume", "RESUME=/dev/mapper/debian--vg-swap_1\n")
    write_file(tree, "etc/default/grub", 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX="console=ttyS0,115200n8"\n')
    _grub_config(boot, facts, "/dev/mapper/debian--vg-root")
    (_, _), (boot_off, boot_size), (pv_off, pv_size) = _gpt(raw, disk_mb, [
        (1, "ef02", "bios"), (boot_mb, "8300", "boot"), (0, "8e00", "lvm")])
    _mkfs_ext4(raw, boot_off, boot_size, boot, facts.boot_uuid, "boot")
    with _loop(raw, pv_off, pv_size) as dev:
        cfg = LVM_CONFIG.format(dev=dev)
        for cmd in (["pvcreate", "-ff", "-y", dev], ["vgcreate", "debian-vg", dev],
                    ["lvcreate", "--driverloaded", "n", "-an", "-Zn", "-y", "-L", f"{root_mb}M", "-n", "root", "debian-vg"],
                    ["lvcreate", "--driverloaded", "n", "-an", "-Zn", "-y", "-L", f"{swap_mb}M", "-n", "swap_1", "debian-vg"]):
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
    write_file(boot, "grub/i386-pc/load.cfg",
               f"search.fs_uuid {facts.boot_uuid} root hd0,gpt2\nset prefix=($root)'/grub'\n")
    write_file(boot, "grub/grub.cfg", f"""\
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
""")


def _install_grub(raw: str, boot_uuid: str) -> None:
    """What grub-install --target=i386-pc does on a GPT disk with a BIOS boot partition:
    core.img (finding /boot by UUID, like grub-install's load.cfg) in partition 1, boot.img
    in the MBR pointing at it."""
    load_cfg = raw + ".load.cfg"
    core = raw + ".core.img"
    with open(load_cfg, "w") as f:
        f.write(f"search.fs_uuid {boot_uuid} root hd0,gpt2\nset prefix=($root)'/grub'\n")
    run("grub-mkimage", "-O", "i386-pc", "-d", GRUB_DIR, "-c", load_cfg, "-p", "(hd0,gpt2)/grub",
        "-o", core, "biosdisk", "part_gpt", "ext2", "search_fs_uuid", "normal")
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
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n"
                                  f"UUID={facts.home_uuid} /home ext4 defaults 0 2\n")
    with open(raw, "wb") as f:
        f.truncate((size_mb + 2) * MIB)
    run("sfdisk", "-q", raw, input="label: dos\nstart=2048, type=83\n")
    _mkfs_ext4(raw, MIB, size_mb * MIB, tree, facts.root_uuid, "root")
    second = f"{raw}.disk2"
    home_mb = max(32, _tree_size_mb(home) * 2 + 16)
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
    root_mb, data_mb = _size(recipe, tree, 0), max(64, _tree_size_mb(data) * 2 + 32)
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n"
                                  f"UUID={facts.data_uuid} /srv/data ext4 defaults 0 2\n")
    with open(raw, "wb") as f:
        f.truncate((root_mb + data_mb + 2) * MIB)
    run("sfdisk", "-q", raw, input=f"label: dos\nstart=2048, size={root_mb * 2048}, type=83\n"
                                   f"start={2048 + root_mb * 2048}, type=83\n")
    _mkfs_ext4(raw, MIB, root_mb * MIB, tree, facts.root_uuid, "root")
    _mkfs_ext4(raw, (root_mb + 1) * MIB, data_mb * MIB, data, facts.data_uuid, "data")


def _two_roots(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    facts.root_uuid = str(uuid.uuid4())
    other = str(uuid.uuid4())
    size_mb = _size(recipe, tree, 0)
    (a_off, a_size), (b_off, b_size) = _gpt(raw, 2 * size_mb + 4, [(size_mb, "8300", "one"),
                                                                    (0, "8300", "two")])
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / ext4 defaults 0 1\n")
    _mkfs_ext4(raw, a_off, a_size, tree, facts.root_uuid, "one")
    write_file(tree, "etc/fstab", f"UUID={other} / ext4 defaults 0 1\n")
    _mkfs_ext4(raw, b_off, b_size, tree, other, "two")


def _gpt_xfs(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    boot = _split_boot(tree, work)
    facts.root_uuid, facts.boot_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    size_mb = max(320, _size(recipe, tree, 0))  # xfs wants 300 MiB at least
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / xfs defaults 0 1\n"
                                  f"UUID={facts.boot_uuid} /boot ext4 defaults 0 2\n")
    (boot_off, boot_size), (root_off, root_size) = _gpt(raw, size_mb + 70, [(64, "8300", "boot"),
                                                                            (0, "8300", "root")])
    _mkfs_ext4(raw, boot_off, boot_size, boot, facts.boot_uuid, "boot")
    with _loop(raw, root_off, root_size) as dev:
        run("mkfs.xfs", "-q", "-f", "-m", f"uuid={facts.root_uuid}", dev)
        with _mounted(dev, work) as mnt:
            _copy_tree(tree, mnt)


def _gpt_btrfs(recipe: Recipe, tree: str, raw: str, work: str, facts: Facts) -> None:
    facts.root_uuid = str(uuid.uuid4())
    size_mb = max(300, _size(recipe, tree, 0))
    write_file(tree, "etc/fstab", f"UUID={facts.root_uuid} / btrfs subvol=@,defaults 0 0\n"
                                  f"UUID={facts.root_uuid} /home btrfs subvol=@home,defaults 0 0\n")
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


def volume_ids(image: str) -> dict[str, tuple[str, str]]:
    """A raw image's volumes as sysprep's own parsers see them, attaching nothing:
    name -> (content type, UUID); volume groups as "VG name" -> ("vg", UUID)."""
    from sysprep.target.image import partitions, probe

    out: dict[str, tuple[str, str]] = {}
    fd = os.open(image, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size

        def reader(base: int, length: int):  # type: ignore[no-untyped-def]
            def read(off: int, n: int) -> bytes:
                return os.pread(fd, max(0, min(n, length - off)), base + off) if off < length else b""
            return read

        table = partitions.read_table(reader(0, size), size)
        parts = [(f"/dev/sda{p.number}", p.start, p.size) for p in table.partitions] or [("/dev/sda", 0, size)]
        for name, start, length in parts:
            read = reader(start, length)
            found = probe.probe(read, length)
            out[name] = (found.type, found.uuid)
            if found.type != "LVM2_member":
                continue
            label = lvm.read_label(read)
            text = lvm.read_metadata_text(read, label) if label else None
            if not text:
                continue
            vg = lvm.volume_group(lvm.parse_text(text))
            out[f"VG {vg.name}"] = ("vg", vg.id)
            for lv in vg.lvs:
                try:
                    _, off, ln = lvm.linear_range(vg, lv)
                except lvm.NotLinear:
                    continue
                lv_probe = probe.probe(reader(start + off, ln), ln)
                out[f"/dev/{vg.name}/{lv.name}"] = (lv_probe.type, lv_probe.uuid)
    finally:
        os.close(fd)
    return out


def read_files(image: str | list[str], paths: list[str]) -> dict[str, str | None]:
    """Files of an image (or of the disks of one guest), read with sysprep's own read-only
    attach, in a private namespace."""
    disks = [image] if isinstance(image, str) else image
    return _helper("read", json.dumps(disks), *paths)  # type: ignore[return-value]


def write_files(image: str, files: dict[str, tuple[str, int]]) -> None:
    """Put files into an image (path -> (text, mode); folders made as needed), with sysprep's
    own read-write attach, in a private namespace: for a test to plant what it needs."""
    _helper("write", image, json.dumps(files))


def listing(image: str) -> dict[str, list[object]]:
    """Every entry of the image's file systems: path -> [kind, size, sha256 or link target]."""
    return _helper("list", image)  # type: ignore[return-value]


def _helper(*args: str) -> object:
    from sysprep.target.image import namespace

    env = {**os.environ, namespace.ENV: str(namespace.current())}
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", sys.executable,
                        "-m", "sysprep.testing.images", *args], capture_output=True, text=True,
                       env=env, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"reading {args[1]} failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout)


@contextlib.contextmanager
def _open(image: str | list[str], *, write: bool = False) -> Iterator[Confined]:
    """The image's root file system, its fstab mounts below it, through the confined layer."""
    from sysprep.request import TargetKind, TargetSpec
    from sysprep.target.confined import Confined
    from sysprep.target.image import open_image

    disks = [image] if isinstance(image, str) else image
    spec = TargetSpec(TargetKind.IMAGE, images=tuple(os.path.abspath(d) for d in disks))
    with open_image(spec, dry_run=not write) as s, \
            Confined(s.root_path, dry_run=not write, own_mounts=s.own_mounts) as fs:
        yield fs


def _write_main(image: str, files: dict[str, tuple[str, int]]) -> None:
    with _open(image, write=True) as fs:
        for path, (text, mode) in files.items():
            fs.write(path.lstrip("/"), text.encode(), mode=mode, make_parents=True)


def _read_main(image: list[str], paths: list[str]) -> dict[str, str | None]:
    with _open(image) as fs:
        return {p: fs.read_text(p.lstrip("/")) for p in paths}


def _list_main(image: str) -> dict[str, list[object]]:
    import stat as st_mod

    out: dict[str, list[object]] = {}
    with _open(image) as fs:
        for dirpath, entries in fs.tree(""):
            for name, st in entries:
                rel = f"{dirpath}/{name}" if dirpath else name
                if st_mod.S_ISREG(st.st_mode):
                    data = fs.read_bytes(rel, limit=1 << 30) if st.st_size <= 256 * 1024 else None
                    digest = hashlib.sha256(data).hexdigest() if data is not None else f"mtime:{st.st_mtime_ns}"
                    out[rel] = ["file", st.st_size, digest]
                elif st_mod.S_ISLNK(st.st_mode):
                    out[rel] = ["link", 0, fs.readlink(rel) or ""]
                elif st_mod.S_ISDIR(st.st_mode):
                    out[rel] = ["dir", 0, ""]
                else:
                    out[rel] = ["other", 0, ""]
    return out


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["read"]:
        print(json.dumps(_read_main(json.loads(args[1]), args[2:])))
        return 0
    if args[:1] == ["list"]:
        print(json.dumps(_list_main(args[1])))
        return 0
    if args[:1] == ["write"]:
        _write_main(args[1], json.loads(args[2]))
        print("{}")
        return 0
    p = argparse.ArgumentParser(prog="python -m sysprep.testing.images",
                                description="Build a test disk image (for trying sysprep --image).")
    p.add_argument("layout", choices=("gpt-lvm", "mbr-ext4", "gpt-xfs", "gpt-btrfs", "two-roots",
                                      "two-disks", "srv-data"))
    p.add_argument("out", help="where to write the image")
    p.add_argument("--debian", metavar="TARBALL", help="use this debootstrap root (else a synthetic dirty root)")
    p.add_argument("--format", choices=("raw", "qcow2"), default="raw")
    p.add_argument("--bulk", type=int, default=0, help="extra files in logs, temp and homes")
    ns = p.parse_args(args)
    recipe = Recipe(ns.layout, "debian" if ns.debian else "dirty", ns.format, bulk=ns.bulk,
                    tarball=ns.debian or "")
    src, facts = cached(recipe)
    copy(src, ns.out)
    print(json.dumps(asdict(facts), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
