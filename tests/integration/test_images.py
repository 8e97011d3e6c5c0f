"""--image and sysprep batch on real disk images: GPT with /boot, LVM and GRUB (booted in
qemu through its own boot loader), qcow2, xfs, btrfs subvolumes; errors; dry runs that
change no byte; runs killed half-way that leave nothing behind."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sysprep.testing import images
from sysprep.testing.images import Recipe
from tests.contract import assert_valid, parse

pytestmark = pytest.mark.integration

SLOW_PROVIDER = ("etc/sysprep/providers.d/cleanup/slow", "#!/bin/sh\nexec sleep 31.25\n", 0o755)
DONE = "no pass pending: the boot-time units are disabled"
# the first boot must not wait at the interactive welcome: an answer file skips it
UNATTEND = """<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend">
  <settings pass="specialize">
    <component name="Microsoft-Windows-Shell-Setup"><ComputerName>image-01</ComputerName></component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup"><OOBE><SkipMachineOOBE>true</SkipMachineOOBE></OOBE></component>
  </settings>
</unattend>
"""


def sysprep(*argv: str, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        **kw,
    )  # type: ignore[call-overload]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def copy_of(recipe: Recipe, tmp_path, name: str = "") -> tuple[str, images.Facts]:
    src, facts = images.cached(recipe)
    dest = str(tmp_path / (name or os.path.basename(src)))
    return images.copy(src, dest), facts


def leftovers(image: str) -> list[str]:
    """Mounts, loop devices and helpers that a run on `image` could have left behind."""
    found = []
    mounts = subprocess.run(
        ["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True
    ).stdout
    found += [m for m in mounts.splitlines() if "/run/sysprep/images/" in m or "/sysprep-" in m]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    found += [
        line for line in loops.splitlines() if image in line or "/run/sysprep/images/" in line
    ]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if image in cmd and ("qemu-storage-daemon" in cmd or "guardian" in cmd or "sysprep" in cmd):
            found.append(f"process {pid}: {cmd[:200]}")
    return found


def wait_clean(image: str, timeout: float = 20) -> list[str]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = leftovers(image)
        if not left:
            return []
        time.sleep(0.2)
    return leftovers(image)


def in_use(image: str) -> str | None:
    from sysprep.target.image.formats import in_use as check

    fd = os.open(image, os.O_RDONLY)
    try:
        return check(image, fd)
    finally:
        os.close(fd)


def lock_is_free(image: str) -> bool:
    st = os.stat(image)
    path = f"/run/lock/sysprep/image-{st.st_dev}-{st.st_ino}.lock"
    if not os.path.exists(path):
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def debian_lvm(debian_tarball):
    return Recipe("gpt-lvm", "debian", tarball=debian_tarball)


# -- the bootable Debian image ------------------------------------------------------------


def test_dry_run_opens_read_only_all_the_way_down(debian_lvm, tmp_path):
    image, _ = copy_of(debian_lvm, tmp_path)
    before = sha256(image)
    os.chmod(image, 0o444)  # a dry run needs no write access at all
    r = sysprep(
        "--generalize",
        "--oobe",
        "--enable",
        "fs-uuids",
        "--image",
        image,
        "--dry-run",
        "--sparsify",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    plan = parse(r.stdout, "report")
    paths = {rec["path"] for rec in plan["plan"]}
    assert {"/etc/machine-id", "/dev/debian-vg/root", "/dev/debian-vg"} <= paths
    assert sha256(image) == before
    assert wait_clean(image) == []


def test_generalize_gpt_lvm_image_then_boot_it_through_its_own_boot_loader(debian_lvm, tmp_path):
    image, facts = copy_of(debian_lvm, tmp_path, "debian.raw")
    unattend = tmp_path / "unattend.xml"
    unattend.write_text(UNATTEND)
    r = sysprep(
        "--generalize",
        "--oobe",
        "--enable",
        "fs-uuids",
        "--image",
        image,
        "--unattend",
        str(unattend),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    report = parse(r.stdout, "report")
    by_name = {p["name"]: p for p in report["providers"]}
    assert by_name["lvm-uuids"]["status"] == "ok" and by_name["swap"]["actions"] == 1
    assert wait_clean(image) == []
    files = images.read_files(
        image,
        [
            "/etc/machine-id",
            "/etc/fstab",
            "/boot/grub/grub.cfg",
            *(f"/{p}" for p in facts.identity[:12]),
        ],
    )
    assert files["/etc/machine-id"] == "uninitialized\n"
    for p in facts.identity[:12]:
        if p != "etc/machine-id":
            assert files[f"/{p}"] is None, p
    # /boot kept its UUID (GRUB's core image names it); root and swap got new ones
    assert facts.boot_uuid in (files["/etc/fstab"] or "")
    before, vols = images.volume_ids(images.cached(debian_lvm)[0]), images.volume_ids(image)
    assert vols["/dev/sda2"] == ("ext4", facts.boot_uuid)
    assert vols["/dev/debian-vg/root"][1] not in ("", facts.root_uuid)
    assert vols["/dev/debian-vg/swap_1"][0] == "swap"
    assert vols["/dev/debian-vg/swap_1"][1] not in ("", facts.swap_uuid)
    assert vols["/dev/sda3"][1] != before["/dev/sda3"][1]  # lvm-uuids: a new PV UUID...
    assert vols["VG debian-vg"][1] != before["VG debian-vg"][1]  # ...and VG UUID
    assert facts.root_uuid not in (files["/boot/grub/grub.cfg"] or "")
    # the image boots through its own boot loader (GRUB in the MBR and BIOS boot partition)
    console = boot_from_disk(image, str(tmp_path), "debian-image")
    assert DONE in console and "login:" in console, console[-3000:]
    assert "emergency" not in console.lower()
    for line in (
        "specialize pass",
        "[new-machine-id]",
        "[new-ssh-hostkeys]",
        "IMAGE_STATE_COMPLETE",
    ):
        assert line in console, line
    # the boot-time passes made it a new machine
    after = images.read_files(
        image,
        [
            "/etc/machine-id",
            "/var/lib/sysprep/state.ini",
            "/etc/ssh/ssh_host_ed25519_key.pub",
            "/etc/hostname",
        ],
    )
    assert (after["/etc/hostname"] or "").strip() == "image-01"  # the answer file applied
    machine_id = (after["/etc/machine-id"] or "").strip()
    assert len(machine_id) == 32 and machine_id != facts.machine_id
    assert "IMAGE_STATE_COMPLETE" in (after["/var/lib/sysprep/state.ini"] or "")
    assert after["/etc/ssh/ssh_host_ed25519_key.pub"]


def boot_from_disk(
    image: str, workdir: str, name: str, timeout: float = 600, fmt: str = "raw"
) -> str:
    """Boot with SeaBIOS from the disk (no -kernel: the image's own GRUB), serial to a file."""
    from tests.integration.qemu import VM, remember

    vm = VM(image, "", "", workdir, name=name)
    argv, skip = [], 0
    for arg in vm.argv:  # the same machine, without the direct kernel boot
        if skip:
            skip -= 1
            continue
        if arg in ("-kernel", "-initrd", "-append"):
            skip = 1
            continue
        argv.append(arg.replace("format=raw", f"format={fmt}"))
    vm.argv = argv
    vm.start()
    try:
        vm.wait_for(DONE, timeout)
        vm.wait_for("login:", 120)
    finally:
        vm.poweroff(120)
    remember(name, vm.output())
    return vm.output()


# -- other layouts and formats ------------------------------------------------------------


def test_qcow2_image_stays_sparse_and_clean(tmp_path):
    recipe = Recipe(
        "mbr-ext4", format="qcow2", extra=(("var/log/big.log", "random:41943040", 0o640),)
    )
    image, facts = copy_of(recipe, tmp_path)
    allocated = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", image], capture_output=True, text=True, check=True
        ).stdout
    )["actual-size"]
    r = sysprep("--generalize", "--oobe", "--image", image, "--zero-free-space", "--sparsify")
    assert r.returncode == 0, r.stderr
    assert "discarded the free space" in r.stderr and "wrote zeros" in r.stderr
    assert wait_clean(image) == []
    check = subprocess.run(["qemu-img", "check", image], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", image], capture_output=True, text=True, check=True
        ).stdout
    )
    assert info["format"] == "qcow2"
    assert info["actual-size"] < allocated - 30 * 1024 * 1024  # the 40 MiB log is gone for good
    files = images.read_files(image, ["/var/log/big.log", "/etc/machine-id"])
    assert files == {"/var/log/big.log": None, "/etc/machine-id": "uninitialized\n"}


@pytest.mark.parametrize("layout", ["gpt-xfs", "gpt-btrfs"])
def test_xfs_and_btrfs_subvolumes(layout, tmp_path):
    image, facts = copy_of(Recipe(layout), tmp_path)
    if layout == "gpt-btrfs":  # the system is in subvolume @: it can be named
        r = sysprep("--generalize", "--image", image, "--root-fs", "/dev/sda1:@", "--dry-run")
        assert r.returncode == 0, r.stderr
        r = sysprep("--generalize", "--image", image, "--root-fs", "/dev/sda1:@home", "--dry-run")
        assert r.returncode == 2 and "no operating system there" in r.stderr
    r = sysprep("--generalize", "--oobe", "--image", image, "--enable", "fs-uuids", "--json")
    assert r.returncode == 0, r.stderr
    assert wait_clean(image) == []
    histories = ["/home/alice/.bash_history", "/home/bob/.bash_history", "/root/.bash_history"]
    files = images.read_files(image, ["/etc/machine-id", "/etc/fstab", *histories])
    assert files["/etc/machine-id"] == "uninitialized\n"
    assert all(files[h] is None for h in histories)  # /home is its own xfs... or btrfs subvolume
    fstab = files["/etc/fstab"] or ""
    assert facts.root_uuid not in fstab
    new = [u for t, u in images.volume_ids(image).values() if t in ("xfs", "btrfs")]
    assert new and new[0] in fstab


def test_batch_copies_of_one_image_and_a_failing_one(tmp_path):
    xfs, _ = images.cached(Recipe("gpt-xfs"))
    btrfs, _ = images.cached(Recipe("gpt-btrfs"))
    todo = [images.copy(xfs, str(tmp_path / f"xfs-{i}.raw")) for i in range(2)]
    todo += [images.copy(btrfs, str(tmp_path / f"btrfs-{i}.raw")) for i in range(2)]
    bad = tmp_path / "not-an-image.raw"
    bad.write_bytes(os.urandom(1024 * 1024))
    todo.insert(2, str(bad))
    report_path = str(tmp_path / "report.json")
    r = sysprep("batch", "--jobs", "2", "--report", report_path, *todo)
    assert r.returncode == 1, r.stdout + r.stderr
    report = assert_valid(json.load(open(report_path)), "batch")
    results = {os.path.basename(i["image"]): i for i in report["images"]}
    assert results["not-an-image.raw"]["result"] == "failed"
    assert "not a disk image" in results["not-an-image.raw"]["error"]
    for name in ("xfs-0.raw", "xfs-1.raw", "btrfs-0.raw", "btrfs-1.raw"):
        assert results[name]["result"] == "ok", results[name]
        assert results[name]["files"] > 10
    assert "4 of 5 images prepared" in r.stdout
    assert "IMAGE" in r.stdout and "RESULT" in r.stdout
    for image in todo:
        assert wait_clean(image) == []


def test_the_disks_of_one_guest(tmp_path):
    image, facts = copy_of(Recipe("two-disks"), tmp_path, "guest.raw")
    second = image + ".disk2"
    histories = ["/home/alice/.bash_history", "/home/bob/.bash_history"]
    # one disk only: /home is not among the disks given; the run says so and goes on
    r = sysprep("--generalize", "--oobe", "--image", image, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "on /home): not in the image's disks; not mounted" in r.stderr
    assert all(read is not None for read in images.read_files([image, second], histories).values())
    r = sysprep("--generalize", "--oobe", "--image", image, "--image", second)
    assert r.returncode == 0, r.stderr
    assert images.read_files([image, second], histories) == {h: None for h in histories}
    assert wait_clean(image) == [] and wait_clean(second) == []


@pytest.mark.parametrize("data_at", ["srv/data", "var/lib/sysprep", "var"])
def test_fs_uuids_records_the_final_state_after_the_new_uuids(data_at, tmp_path):
    """The UUIDs change after unmounting; then the root (and, when the state lives on a file
    system of its own, that one too: /var/lib/sysprep itself or /var) is mounted again for
    the final state."""
    image, facts = copy_of(Recipe("srv-data"), tmp_path)
    if data_at != "srv/data":
        images.write_files(
            image,
            {
                "etc/fstab": (
                    f"UUID={facts.root_uuid} / ext4 errors=remount-ro 0 1\n"
                    f"UUID={facts.data_uuid} /{data_at} ext4 defaults 0 2\n",
                    0o644,
                ),
                f"{data_at}/.keep": ("", 0o644),
            },
        )
    r = sysprep("--generalize", "--oobe", "--image", image, "--enable", "fs-uuids", "--json")
    assert r.returncode == 0, r.stderr
    assert parse(r.stdout, "report")["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert wait_clean(image) == []
    files = images.read_files(
        image, ["/etc/fstab", "/var/lib/sysprep/state.ini", "/var/lib/sysprep/panther/setupact.log"]
    )
    assert "ImageState = IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in (
        files["/var/lib/sysprep/state.ini"] or ""
    )
    # the UUID changes (made after unmounting) are in the image's own log, before the state
    log = files["/var/lib/sysprep/panther/setupact.log"] or ""
    assert f"/dev/sda2: UUID {facts.data_uuid} -> " in log
    assert log.index(f"UUID {facts.data_uuid} -> ") < log.index("image state is now")
    named = dict(
        line.split()[1::-1] for line in (files["/etc/fstab"] or "").splitlines() if line.strip()
    )
    ids = images.volume_ids(image)
    real = [ids["/dev/sda1"][1], ids["/dev/sda2"][1]]
    assert named == {"/": f"UUID={real[0]}", f"/{data_at}": f"UUID={real[1]}"}
    assert not {facts.root_uuid, facts.data_uuid} & set(real)


def test_a_log_image_code_broke_does_not_keep_the_final_state_from_being_written(tmp_path):
    """Image code replaces the error log with a folder: once the UUIDs changed, the log cannot
    be opened again in the image; the final state is written all the same, with a warning."""
    image, _ = copy_of(Recipe("mbr-ext4"), tmp_path)
    images.write_files(
        image,
        {
            "etc/sysprep/providers.d/generalize/50-break-log": (
                "#!/bin/sh\nset -e\ncd /var/lib/sysprep/panther\nrm setuperr.log\nmkdir setuperr.log\n",
                0o755,
            )
        },
    )
    r = sysprep("--generalize", "--oobe", "--image", image, "--enable", "fs-uuids")
    assert r.returncode == 0, r.stderr
    assert "cannot write the log into the image again" in r.stderr
    assert wait_clean(image) == []
    state_ini = images.read_files(image, ["/var/lib/sysprep/state.ini"])[
        "/var/lib/sysprep/state.ini"
    ]
    assert "ImageState = IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in (state_ini or "")


def test_a_failed_uuid_change_leaves_the_image_undeployable_and_says_why(tmp_path):
    """e2fsck refuses a file system with a feature it does not know (the kernel mounts it):
    the UUID cannot change after unmounting, though fstab already names the new one."""
    image, facts = copy_of(Recipe("mbr-ext4"), tmp_path)
    lo = subprocess.run(
        ["losetup", "-f", "--show", "-o", str(1024 * 1024), image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        with open(lo, "rb") as f:
            f.seek(1024 + 0x5C)  # s_feature_compat
            compat = int.from_bytes(f.read(4), "little")
        subprocess.run(
            ["debugfs", "-w", "-R", f"ssv feature_compat {compat | 1 << 31:#x}", lo],
            capture_output=True,
            check=True,
        )
    finally:
        subprocess.run(["losetup", "-d", lo], check=True)
    r = sysprep("--generalize", "--oobe", "--image", image, "--enable", "fs-uuids", "--json")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    report = parse(r.stdout, "report")  # the report is still printed
    assert report["image_state"] == "IMAGE_STATE_UNDEPLOYABLE"
    assert "e2fsck found problems on /dev/sda1" in report["error"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("sysprep: error:")]
    assert len(errors) == 1 and "unsupported feature" in errors[0], r.stderr
    assert wait_clean(image) == []
    files = images.read_files(
        image, ["/etc/fstab", "/var/lib/sysprep/state.ini", "/var/lib/sysprep/panther/setuperr.log"]
    )
    state_ini = files["/var/lib/sysprep/state.ini"] or ""
    assert "ImageState = IMAGE_STATE_UNDEPLOYABLE" in state_ini
    assert "LastError = after unmounting, /dev/sda1: UUID" in state_ini
    assert "unsupported feature" in state_ini
    assert "unsupported feature" in (files["/var/lib/sysprep/panther/setuperr.log"] or "")
    assert images.volume_ids(image)["/dev/sda1"][1] == facts.root_uuid  # unchanged...
    assert facts.root_uuid not in (files["/etc/fstab"] or "")  # ...unlike what fstab names


JUNK = "SYSPREP-JUNK-MARKER-0123456789\n"


def test_zero_fill_and_discard_stay_on_the_image_when_image_code_moves_a_mount_point(tmp_path):
    """An image provider renames /srv (the folder holding the /srv/data mount point) and plants
    /srv -> a host folder: sysprep's zero-fill and discard must still reach the image's
    /srv/data, never the host folder."""
    image, _ = copy_of(
        Recipe("srv-data", extra=(("srv/data/junk.log", JUNK * 100000, 0o644),)), tmp_path
    )
    host = tmp_path / "host"
    host.mkdir()
    # a small file system of its own: were it filled, the host would not be
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(host)], check=True
    )
    try:
        (host / "data").mkdir()
        images.write_files(
            image,
            {
                "etc/sysprep/providers.d/generalize/50-move-srv": (
                    "#!/bin/sh\nset -e\nrm /srv/data/junk.log\n/bin/busybox sync\n"
                    f"/bin/busybox mv /srv /srv.moved\n/bin/busybox ln -s {host} /srv\n",
                    0o755,
                )
            },
        )
        r = sysprep(
            "--generalize", "--oobe", "--image", image, "--zero-free-space", "--sparsify", "-v"
        )  # -v: each operation's heading, the image's own provider's too
        assert r.returncode == 0, r.stderr
        assert "[x-50-move-srv]" in r.stderr
        assert "could not discard" not in r.stderr
        assert "discarded the free space of /srv/data (/dev/sda2)" in r.stderr
        assert os.listdir(host) == ["data"] and os.listdir(host / "data") == []
        assert wait_clean(image) == []
    finally:
        subprocess.run(["umount", str(host)], check=True)
    # the image's own /srv/data got the zeros: the removed file's blocks hold none of it
    with open(image, "rb") as f:
        tail = b""
        for chunk in iter(lambda: f.read(1 << 24), b""):
            assert JUNK.encode() not in tail + chunk
            tail = chunk[-len(JUNK) :]


# -- errors ---------------------------------------------------------------------------------


def test_clear_errors_for_what_is_not_a_usable_image(tmp_path):
    junk = tmp_path / "junk.raw"
    junk.write_bytes(os.urandom(2 * 1024 * 1024))
    r = sysprep("--generalize", "--image", str(junk))
    assert r.returncode == 2 and "not a disk image" in r.stderr
    # a file system without an OS
    empty = str(tmp_path / "empty.raw")
    subprocess.run(["truncate", "-s", "64M", empty], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", empty], check=True)
    r = sysprep("--generalize", "--image", empty)
    assert r.returncode == 2 and "no operating system found" in r.stderr
    # an encrypted partition and an unknown one
    luks = str(tmp_path / "luks.raw")
    subprocess.run(["truncate", "-s", "64M", luks], check=True)
    subprocess.run(["sgdisk", "-n1:2048:+20M", "-n2:0:0", luks], check=True, capture_output=True)
    with open(luks, "r+b") as f:
        f.seek(1024 * 1024)
        f.write(b"LUKS\xba\xbe\x00\x02")
        f.seek(21 * 1024 * 1024 + 3)
        f.write(b"NTFS    ")
    r = sysprep("--generalize", "--image", luks)
    assert r.returncode == 2 and "/dev/sda1 is encrypted (LUKS)" in r.stderr
    with open(luks, "r+b") as f:
        f.seek(1024 * 1024)
        f.write(b"\0" * 8)
    r = sysprep("--generalize", "--image", luks)
    assert r.returncode == 2 and "no Linux file system found" in r.stderr and "ntfs" in r.stderr
    # a damaged file system (an ext4 magic number and nothing else): named, not fatal by itself
    with open(luks, "r+b") as f:
        f.seek(1024 * 1024 + 1024 + 56)
        f.write(b"\x53\xef")
    r = sysprep("--generalize", "--image", luks)
    assert r.returncode == 2 and "no operating system found" in r.stderr
    assert "cannot mount /dev/sda1 (ext" in r.stderr
    for image in (str(junk), empty, luks):
        assert wait_clean(image) == []


def test_several_systems_need_root_fs(tmp_path):
    image, facts = copy_of(Recipe("two-roots"), tmp_path)
    r = sysprep("--generalize", "--oobe", "--image", image)
    assert r.returncode == 2 and "several operating systems found" in r.stderr
    assert "/dev/sda1" in r.stderr and "/dev/sda2" in r.stderr and "--root-fs" in r.stderr
    r = sysprep("--generalize", "--oobe", "--image", image, "--root-fs", "/dev/sda2")
    assert r.returncode == 0, r.stderr
    r = sysprep("--generalize", "--oobe", "--image", image, "--root-fs", "/dev/sda9")
    assert r.returncode == 2 and "no such volume" in r.stderr


def _files_of_partition(image: str, offset: int, work) -> dict[str, tuple]:
    """Every file of the file system at `offset` in a raw image, read through a read-only
    loop device (not through sysprep, which refuses the image under test)."""
    from tests.conftest import snapshot

    point = work / "ro"
    point.mkdir(exist_ok=True)
    subprocess.run(
        ["mount", "-o", f"ro,noload,loop,offset={offset}", image, str(point)], check=True
    )
    try:
        return snapshot(str(point))
    finally:
        subprocess.run(["umount", str(point)], check=True)


@pytest.mark.parametrize("spelling", ["UUID", "device"])
def test_a_volume_the_fstab_mounts_twice_is_refused_naming_the_lines(spelling, tmp_path):
    """The root's own volume mounted again on /var/log: logfiles would empty the whole root."""
    image, facts = copy_of(Recipe("mbr-ext4"), tmp_path)
    again = f"UUID={facts.root_uuid}" if spelling == "UUID" else "/dev/sda1"
    images.write_files(
        image,
        {
            "etc/fstab": (
                f"UUID={facts.root_uuid} / ext4 defaults 0 1\n{again} /var/log ext4 defaults 0 2\n",
                0o644,
            )
        },
    )
    before = _files_of_partition(image, 1024 * 1024, tmp_path)
    for dry in ((), ("--dry-run",)):
        r = sysprep("--generalize", "--oobe", "--image", image, *dry)
        assert r.returncode == 2, r.stderr
        assert r.stderr.strip() == (
            f"sysprep: {image}: fstab line 2 ({again} on /var/log) mounts /dev/sda1 again, "
            "already mounted as the root (fstab line 1); a volume mounted twice would be "
            "cleaned through both places: fix the image's fstab"
        )
    assert wait_clean(image) == []
    assert _files_of_partition(image, 1024 * 1024, tmp_path) == before


def test_root_fs_by_partuuid_and_partlabel_and_subvolume_only_on_btrfs(tmp_path):
    image, _ = copy_of(Recipe("gpt-btrfs"), tmp_path)
    partuuid = subprocess.run(
        ["sfdisk", "--part-uuid", image, "1"], capture_output=True, text=True, check=True
    ).stdout.strip()
    for dev in (f"PARTUUID={partuuid}", f"PARTUUID={partuuid.lower()}", "PARTLABEL=root"):
        r = sysprep("--generalize", "--image", image, "--root-fs", f"{dev}:@", "--dry-run")
        assert r.returncode == 0, r.stderr
    r = sysprep("--generalize", "--image", image, "--root-fs", "PARTLABEL=nope", "--dry-run")
    assert r.returncode == 2 and "no such volume in the image" in r.stderr
    assert "PARTUUID=" in r.stderr
    ext4, _ = copy_of(Recipe("mbr-ext4"), tmp_path)
    r = sysprep("--generalize", "--image", ext4, "--root-fs", "/dev/sda1:@", "--dry-run")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "sysprep: --root-fs /dev/sda1:@: /dev/sda1 (ext4) is not btrfs, "
        "so it has no subvolume '@': give --root-fs /dev/sda1"
    )
    assert wait_clean(image) == [] and wait_clean(ext4) == []


def test_image_in_use_or_read_only_is_refused(tmp_path):
    image, _ = copy_of(Recipe("mbr-ext4"), tmp_path)
    holder = subprocess.Popen(
        ["losetup", "-f", "--show", "-r", image], stdout=subprocess.PIPE, text=True
    )
    dev = (holder.communicate()[0] or "").strip()
    try:
        r = sysprep("--generalize", "--image", image)
        assert r.returncode == 2 and "in use by another process" in r.stderr and dev in r.stderr
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
    qemu = subprocess.Popen(
        ["qemu-io", "-f", "raw", image],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end and not in_use(image):  # until QEMU holds its locks
            time.sleep(0.1)
        r = sysprep("--generalize", "--image", image)
        assert r.returncode == 2 and "in use by another process" in r.stderr, r.stderr
    finally:
        qemu.communicate(b"quit\n", timeout=10)
    os.chmod(image, 0o444)
    r = sysprep("--generalize", "--image", image)
    assert r.returncode == 2 and "read-only" in r.stderr and "--dry-run" in r.stderr
    assert wait_clean(image) == []


# -- killed half-way ------------------------------------------------------------------------


def _wait_for_sleep(pid: int, timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        if b"31.25" in f.read():
                            return True
                except OSError:
                    pass
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "fmt,how",
    [
        ("raw", signal.SIGKILL),
        ("qcow2", signal.SIGKILL),
        ("raw", signal.SIGTERM),
        ("qcow2", signal.SIGINT),
    ],
)
def test_killed_run_leaves_no_mount_loop_helper_or_lock(fmt, how, tmp_path):
    image, _ = copy_of(Recipe("mbr-ext4", format=fmt, extra=(SLOW_PROVIDER,)), tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sysprep", "--generalize", "--oobe", "--image", image],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for_sleep(proc.pid), "the run did not reach the slow provider"
        assert leftovers(image)  # it is attached and mounted now...
        proc.send_signal(how)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if how != signal.SIGKILL:
        said = b"stopped by SIGTERM" if how == signal.SIGTERM else b"interrupted (Ctrl+C)"
        assert proc.returncode == 1 and said in err, err
    assert wait_clean(image) == []  # ...and nothing of it is left now
    assert lock_is_free(image)
    if fmt == "qcow2":
        check = subprocess.run(["qemu-img", "check", image], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        raw = str(tmp_path / "check.raw")
        subprocess.run(["qemu-img", "convert", "-O", "raw", image, raw], check=True)
    else:
        raw = image
    # the root file system (at 1 MiB) is clean: no journal to replay, no error
    lo = subprocess.run(
        ["losetup", "-f", "--show", "-r", "-o", str(1024 * 1024), raw],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        fsck = subprocess.run(["e2fsck", "-fn", lo], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    finally:
        subprocess.run(["losetup", "-d", lo], check=True)


# -- rearms, the release record and the answer file against the image ----------------------


def test_five_generalizes_of_one_image_all_succeed_and_license_shows_the_count(tmp_path):
    image, _ = copy_of(Recipe("mbr-ext4"), tmp_path)
    for n in range(1, 6):
        r = sysprep("--generalize", "--image", image, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["rearms"] == n
    lic = sysprep("license", "--image", image)
    assert lic.returncode == 0, lic.stderr
    assert (
        "Rearms counted:      5 (last " in lic.stdout and "Rearm limit:         none" in lic.stdout
    )
    assert "Activation:          none" in lic.stdout
    assert wait_clean(image) == []


def test_a_time_zone_the_image_lacks_is_refused_and_its_files_are_untouched(tmp_path):
    """(Its files: mounting the file system read-write to work on it already updates the
    superblock's mount count and time.)"""
    image, _ = copy_of(Recipe("mbr-ext4"), tmp_path)
    answer = tmp_path / "u.yaml"
    answer.write_text("specialize:\n  Linux-Shell-Setup:\n    TimeZone: Asia/Tokyo\n")
    before = images.listing(image)
    r = sysprep("--generalize", "--image", image, "--unattend", str(answer))
    assert r.returncode == 2
    assert r.stderr == (
        f"{answer}:3:5: TimeZone Asia/Tokyo is not installed in the image "
        "(/usr/share/zoneinfo/Asia/Tokyo); install tzdata in the image, or name "
        "a zone it has\n"
    )
    assert wait_clean(image) == []
    assert images.listing(image) == before
    hashed = sha256(image)
    r = sysprep("answer", "validate", str(answer), "--image", image)
    assert r.returncode == 2 and "TimeZone Asia/Tokyo is not installed" in r.stderr
    assert sha256(image) == hashed  # validating opens it read-only


def test_another_major_release_names_the_image_to_reinstall(tmp_path):
    recorded = ("var/lib/sysprep/release.ini", "[Release]\nID = debian\nVERSION_ID = 11\n", 0o644)
    image, _ = copy_of(Recipe("mbr-ext4", extra=(recorded,)), tmp_path)
    before = images.listing(image)
    r = sysprep("--generalize", "--image", image)
    assert r.returncode == 2
    assert r.stderr.rstrip().endswith(
        f"record the new release with: sysprep install --image {image} --force"
    ), r.stderr
    assert "--root /" not in r.stderr
    assert wait_clean(image) == []
    assert images.listing(image) == before
