"""The image file itself, the unwind machinery and the image providers' pure parts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess

import pytest

from sysprep.errors import UsageError
from sysprep.providers.builtin import fs_uuids
from sysprep.target.image import formats
from sysprep.target.image.cleanup import Cleanup, Terminated, shielded
from sysprep.target.image.session import mount_options
from tests.contract import parse

MIB = 1024 * 1024


def image(tmp_path, name: str = "disk.img", mb: int = 4) -> str:
    p = str(tmp_path / name)
    with open(p, "wb") as f:
        f.truncate(mb * MIB)
    return p


def test_a_raw_file_is_detected_and_checked(tmp_path):
    f = formats.check(image(tmp_path), None, writable=True)
    assert (f.format, f.size) == ("raw", 4 * MIB)


def test_a_read_only_image_is_refused_unless_dry_run(tmp_path):
    p = image(tmp_path)
    os.chmod(p, 0o444)
    with pytest.raises(UsageError, match=r"read-only \(mode 0444\).*--dry-run"):
        formats.check(p, None, writable=True)
    assert formats.check(p, None, writable=False).format == "raw"


def test_what_is_not_an_image_file_is_refused(tmp_path):
    with pytest.raises(UsageError, match="not a regular file"):
        formats.check("/dev/null", None, writable=False)
    with pytest.raises(UsageError, match="not a regular file"):
        formats.check(str(tmp_path), None, writable=False)
    tiny = tmp_path / "tiny"
    tiny.write_bytes(b"x" * 100)
    with pytest.raises(UsageError, match="not a disk image"):
        formats.check(str(tiny), None, writable=False)
    with pytest.raises(UsageError, match="no such image"):
        formats.check(str(tmp_path / "missing"), None, writable=False)


def test_a_block_device_is_refused_without_allow_block_device(tmp_path):
    loops = [
        f"/dev/{n}" for n in sorted(os.listdir("/dev")) if n.startswith("loop") and n[4:].isdigit()
    ]
    if not loops:
        pytest.skip("no block device node to try")
    with pytest.raises(UsageError, match=r"is a block device: .*\(--allow-block-device\)"):
        formats.check(loops[0], None, writable=False)


def test_formats_qemu_reads_but_does_not_write_are_refused_with_the_reason(tmp_path):
    p = image(tmp_path)
    with open(p, "r+b") as f:
        f.write(b"Bochs Virtual HD Image")
    with pytest.raises(
        UsageError,
        match="a bochs image: qemu reads bochs images but cannot write them; convert it first",
    ):
        formats.check(p, None, writable=False)


needs_qemu_img = pytest.mark.skipif(not shutil.which("qemu-img"), reason="needs qemu-img")


def qemu_img(*argv: str) -> None:
    subprocess.run(["qemu-img", *argv], check=True, capture_output=True)


@needs_qemu_img
@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("vmdk", "subformat=monolithicSparse"),
        ("vmdk", "subformat=twoGbMaxExtentSparse"),
        ("vhdx", ""),
        ("vdi", ""),
        ("vpc", "subformat=dynamic"),
        ("vpc", "subformat=fixed"),
    ],
)
def test_every_format_qemu_writes_is_detected_and_accepted(tmp_path, fmt, options):
    p = str(tmp_path / f"disk.{fmt}")
    qemu_img("create", "-q", "-f", fmt, *(["-o", options] if options else []), p, "64M")
    f = formats.check(p, None, writable=True)
    assert f.format == fmt and f.size >= 64 * MIB
    assert formats.check(p, fmt, writable=True).format == fmt
    with pytest.raises(UsageError, match=f"--format raw, but the file is a {fmt} image"):
        formats.check(p, "raw", writable=True)


@needs_qemu_img
def test_a_stream_optimized_vmdk_is_refused_as_not_rewritable(tmp_path):
    p = str(tmp_path / "disk.vmdk")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", p, "64M")
    with pytest.raises(UsageError, match="a streamOptimized VMDK: qemu cannot safely rewrite it"):
        formats.check(p, None, writable=True)


@needs_qemu_img
def test_qcow2_detection_and_refusals(tmp_path):
    base = str(tmp_path / "base.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", base, "64M")
    f = formats.check(base, None, writable=True)
    assert (f.format, f.size, f.backing) == ("qcow2", 64 * MIB, ())
    with pytest.raises(UsageError, match="--format raw, but the file is a qcow2"):
        formats.check(base, "raw", writable=True)
    with pytest.raises(UsageError, match="--format qcow2, but the file is a raw image"):
        formats.check(image(tmp_path), "qcow2", writable=True)


@needs_qemu_img
def test_an_overlay_names_its_backing_chain_of_plain_files(tmp_path):
    base = str(tmp_path / "base.qcow2")
    mid = str(tmp_path / "mid.qcow2")
    top = str(tmp_path / "top.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", base, "64M")
    qemu_img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", mid)
    qemu_img("create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top)
    f = formats.check(top, None, writable=True)
    assert (f.format, f.size, f.backing) == ("qcow2", 64 * MIB, (mid, base))


@needs_qemu_img
def test_a_backing_file_that_is_not_a_plain_file_is_refused(tmp_path):
    base = str(tmp_path / "base.qcow2")
    top = str(tmp_path / "top.qcow2")
    qemu_img("create", "-q", "-f", "qcow2", base, "64M")
    spec = "json:" + json.dumps({"driver": "qcow2", "file": {"driver": "file", "filename": base}})
    qemu_img("create", "-q", "-f", "qcow2", "-b", spec, "-F", "qcow2", top, "64M")
    with pytest.raises(
        UsageError,
        match="is not a plain file name; sysprep follows backing chains of local files only",
    ):
        formats.check(top, None, writable=True)


def test_a_locked_image_is_in_use(tmp_path):
    p = image(tmp_path)
    holder = os.open(p, os.O_RDWR)
    try:
        formats.hold(holder, p, exclusive=True)  # what QEMU (or another sysprep) does
        other = os.open(p, os.O_RDONLY)
        try:
            assert "locked" in (formats.in_use(p, other) or "")
            with pytest.raises(UsageError, match="in use by another process"):
                formats.hold(other, p, exclusive=False)
        finally:
            os.close(other)
    finally:
        os.close(holder)
    fd = os.open(p, os.O_RDONLY)
    try:
        assert formats.in_use(p, fd) is None
    finally:
        os.close(fd)


def test_sigterm_becomes_an_orderly_unwind():
    undone = []
    with pytest.raises(Terminated), Cleanup() as stack:
        stack.callback(undone.append, "loop")
        stack.callback(undone.append, "mount")
        os.kill(os.getpid(), signal.SIGTERM)
    assert undone == ["mount", "loop"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_signals_are_ignored_while_unwinding():
    seen = []
    with Cleanup() as stack:
        stack.callback(lambda: seen.append(signal.getsignal(signal.SIGINT)))
    assert seen == [signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_work_that_must_not_be_cut_in_half_ignores_termination_signals():
    with Cleanup():  # SIGTERM stops a run...
        with shielded():  # ...but not while a file system's UUID changes
            os.kill(os.getpid(), signal.SIGTERM)
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_after_the_unwind_handlers_come_back_straight_from_ignored(monkeypatch):
    """No moment between the unwind and the old handlers where SIGTERM raises Terminated."""
    set_to = []
    real = signal.signal

    def spy(sig, handler):
        if sig == signal.SIGTERM:
            set_to.append(handler)
        return real(sig, handler)

    monkeypatch.setattr(signal, "signal", spy)
    with Cleanup():
        del set_to[:]  # after entering: SIGTERM raises Terminated
    assert set_to == [signal.SIG_IGN, signal.SIG_DFL]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_the_state_folder_is_found_where_its_name_says_when_it_is_gone(tmp_path):
    from sysprep.target.confined import Confined
    from sysprep.target.image.session import _resolved

    (tmp_path / "var" / "lib").mkdir(parents=True)
    os.symlink("/var/lib", tmp_path / "var" / "link")
    with Confined(str(tmp_path)) as fs:
        assert _resolved(fs, "var/lib/sysprep") == "var/lib/sysprep"
        assert _resolved(fs, "var/link/sysprep/panther") == "var/lib/sysprep/panther"
        assert _resolved(fs, "srv/data") == "srv/data"
        assert _resolved(fs, "") == ""


def test_dry_run_mounts_never_replay_a_journal():
    assert mount_options("ext4", True)[-2:] == ["ro", "noload"]
    assert "norecovery" in mount_options("xfs", True) and "nouuid" in mount_options("xfs", True)
    assert "rescue=nologreplay" in mount_options("btrfs", True)
    assert "ro" not in mount_options("ext4", False)
    assert {"nodev", "nosuid"} <= set(mount_options("ext4", False))


def test_uuid_references_are_rewritten_whole():
    old, new = "ae102547-79e9-4885-b455-c28669777ab5", "11111111-2222-4333-8444-555555555555"
    text = (
        f"UUID={old} / ext4 defaults 0 1\n"
        f"search --no-floppy --fs-uuid --set=root {old.upper()}\n"
        f"linux /vmlinuz root=/dev/disk/by-uuid/{old} ro\n"
        f"UUID=x{old} /keep ext4 defaults 0 0\n"
    )
    out = fs_uuids.rewrite(text, {old: new})
    assert out.count(new) == 3
    assert f"x{old}" in out


def test_image_providers_skip_other_targets_with_a_note(dirty, run):

    r = run(
        "--generalize", "--oobe", "--enable", "fs-uuids", "--root", dirty.path, "--json", "--quiet"
    )
    assert r.code == 0, r.err
    by_name = {p["name"]: p for p in parse(r.out, "report")["providers"]}
    for name in ("fs-uuids", "lvm-uuids", "swap"):
        assert by_name[name]["status"] == "skipped"
        assert "disk images" in by_name[name]["note"]


def test_image_only_options_need_an_image(dirty, run):
    for opt in ("--sparsify", "--zero-free-space"):
        r = run("--generalize", "--root", dirty.path, opt)
        assert r.code == 2 and "only apply with --image" in r.err


def test_batch_checks_its_arguments_before_starting(tmp_path, run):
    r = run("batch", "--jobs", "0", str(tmp_path))
    assert r.code == 2 and "--jobs 0" in r.err
    r = run("batch", str(tmp_path / "missing.img"))
    assert r.code == 2 and "no such image" in r.err


def test_a_device_the_host_device_mapper_holds_is_named_with_its_holder(tmp_path, monkeypatch):
    from sysprep.target.image import blockdev

    sysfs = tmp_path / "sys-dev-block"
    (sysfs / "7:0" / "holders").mkdir(parents=True)
    (tmp_path / "dm-3" / "dm").mkdir(parents=True)
    (tmp_path / "dm-3" / "dm" / "name").write_text("pve-vm--9000--disk--0\n")
    (sysfs / "7:0" / "holders" / "dm-3").symlink_to(tmp_path / "dm-3")  # as sysfs links it
    monkeypatch.setattr(blockdev, "SYS_BLOCK", str(sysfs))
    assert blockdev.holder("/dev/loop0", os.makedev(7, 0)) == (
        "held by /dev/dm-3 (pve-vm--9000--disk--0) (the host's LVM or device-mapper uses it; "
        "deactivate that first)"
    )


def test_a_mounted_device_is_named_with_its_mount_point():
    from sysprep.target.image import blockdev

    # the device of the file system mounted on / (whatever it is here) is mounted on /
    found = blockdev.holder("/nonexistent", os.stat("/").st_dev)
    assert found.startswith("mounted on ")
    assert "/" in found[len("mounted on ") :].split(", ")
