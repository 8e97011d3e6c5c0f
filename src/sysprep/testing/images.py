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
import subprocess
import sys
import tempfile
from dataclasses import asdict
from typing import TYPE_CHECKING, Iterator

from sysprep.target.image import lvm
from sysprep.testing import layouts
from sysprep.testing.dirty_root import add_bulk, write_file
from sysprep.testing.dirty_root import build as build_dirty
from sysprep.testing.files import chroot_argv
from sysprep.testing.recipe import CACHE as CACHE
from sysprep.testing.recipe import MIB as MIB
from sysprep.testing.recipe import Facts as Facts
from sysprep.testing.recipe import Recipe as Recipe
from sysprep.testing.recipe import run as run

if TYPE_CHECKING:
    from sysprep.target.confined import Confined


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
    layouts.BUILDERS[recipe.layout](recipe, tree, raw, work, facts)
    if recipe.format == "qcow2":
        run("qemu-img", "convert", "-O", "qcow2", raw, out)
        os.unlink(raw)
        for n in range(2, facts.disks + 1):
            run("qemu-img", "convert", "-O", "qcow2", f"{raw}.disk{n}", f"{out}.disk{n}")
            os.unlink(f"{raw}.disk{n}")
    return facts


# -- dirtying a real Debian root -------------------------------------------------------


def in_root(root: str, *argv: str) -> str:
    """Run a program of the root in a bubblewrap sandbox whose / is the root."""
    return run(*chroot_argv(root), *argv)


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
    facts.identity += [
        os.path.relpath(os.path.join(root, "etc/ssh", n), root)
        for n in os.listdir(os.path.join(root, "etc/ssh"))
        if "_host_" in n
    ]
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
    w(
        "var/lib/dhcp/dhclient.eth0.leases",
        'lease {\n  interface "eth0";\n  fixed-address 10.0.2.15;\n}\n',
    )
    w("var/lib/systemd/random-seed", secrets.token_bytes(512), 0o600)
    w("var/cache/apt/pkgcache.bin", secrets.token_bytes(4096))
    w("tmp/build.sh", "#!/bin/sh\necho build\n", 0o755)
    w("var/tmp/systemd-private-abc/tmp/x", "x\n")
    w("root/.ssh/known_hosts", "github.com ssh-ed25519 AAAAC3Nza\n", 0o600)
    w(
        "etc/udev/rules.d/70-persistent-net.rules",
        'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n',
    )
    for rel in (
        "var/log/dpkg.log",
        "var/log/alternatives.log",
        "var/log/bootstrap.log",
        "var/log/apt/history.log",
        "var/log/apt/term.log",
    ):
        if os.path.exists(os.path.join(root, rel)):
            facts.identity.append(rel)
    kernels = sorted(n for n in os.listdir(os.path.join(root, "boot")) if n.startswith("vmlinuz-"))
    facts.kernel = kernels[-1][len("vmlinuz-") :] if kernels else ""


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
                return (
                    os.pread(fd, max(0, min(n, length - off)), base + off) if off < length else b""
                )

            return read

        table = partitions.read_table(reader(0, size), size)
        parts = [(f"/dev/sda{p.number}", p.start, p.size) for p in table.partitions] or [
            ("/dev/sda", 0, size)
        ]
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
    p = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            sys.executable,
            "-m",
            "sysprep.testing.images",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
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
    with (
        open_image(spec, dry_run=not write) as s,
        Confined(s.root_path, dry_run=not write, own_mounts=s.own_mounts) as fs,
    ):
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
                    digest = (
                        hashlib.sha256(data).hexdigest()
                        if data is not None
                        else f"mtime:{st.st_mtime_ns}"
                    )
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
    p = argparse.ArgumentParser(
        prog="python -m sysprep.testing.images",
        description="Build a test disk image (for trying sysprep --image).",
    )
    p.add_argument(
        "layout",
        choices=(
            "gpt-lvm",
            "mbr-ext4",
            "gpt-xfs",
            "gpt-btrfs",
            "two-roots",
            "two-disks",
            "srv-data",
        ),
    )
    p.add_argument("out", help="where to write the image")
    p.add_argument(
        "--debian",
        metavar="TARBALL",
        help="use this debootstrap root (else a synthetic dirty root)",
    )
    p.add_argument("--format", choices=("raw", "qcow2"), default="raw")
    p.add_argument("--bulk", type=int, default=0, help="extra files in logs, temp and homes")
    ns = p.parse_args(args)
    recipe = Recipe(
        ns.layout,
        "debian" if ns.debian else "dirty",
        ns.format,
        bulk=ns.bulk,
        tarball=ns.debian or "",
    )
    src, facts = cached(recipe)
    copy(src, ns.out)
    print(json.dumps(asdict(facts), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
