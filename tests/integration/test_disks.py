"""Every disk a builder has: qcow2 overlays (the base never written), vmdk and vhdx (the same
result as raw), block devices (only when asked, never when held), and the virt-customize
spellings on an overlay booted in qemu."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sysprep.testing import images
from sysprep.testing.images import Recipe
from tests.integration.test_images import (
    DONE,
    SLOW_PROVIDER,
    _wait_for_sleep,
    boot_from_disk,
    copy_of,
    leftovers,
    sha256,
    sysprep,
    wait_clean,
)

pytestmark = pytest.mark.integration

# what each run writes afresh (its records, its logs, the runtime bundle it installs): the
# same files in every format, not the same bytes
PER_RUN = ("var/lib/sysprep/", "usr/lib/sysprep/", "var/log/sysprep/")


def qemu_img(*argv: str) -> str:
    return subprocess.run(["qemu-img", *argv], capture_output=True, text=True, check=True).stdout


def overlay_of(base: str, path: str) -> str:
    qemu_img("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", path)
    return path


def check_clean(image: str, fmt: str) -> None:
    r = subprocess.run(["qemu-img", "check", "-f", fmt, image], capture_output=True, text=True)
    # vhdx and vdi: qemu-img check reports "not supported" (exit 63) and nothing wrong
    assert r.returncode in (0, 63), r.stdout + r.stderr
    assert "error" not in r.stdout.lower() or "No errors" in r.stdout, r.stdout


def test_an_overlay_is_generalized_alone_and_a_dry_run_writes_nothing_in_the_chain(tmp_path):
    base, _ = copy_of(Recipe("mbr-ext4", format="qcow2"), tmp_path, "base.qcow2")
    top = overlay_of(base, str(tmp_path / "clone.qcow2"))
    base_hash, top_hash = sha256(base), sha256(top)
    r = sysprep("--generalize", "--image", top, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert (sha256(base), sha256(top)) == (base_hash, top_hash)
    r = sysprep(
        "--generalize",
        "-a",
        top,
        "--sparsify",
        "--run-command",
        'echo "$(id -u) in the image" > /etc/made-by-run-command',
    )
    assert r.returncode == 0, r.stderr
    assert wait_clean(top) == []
    assert sha256(base) == base_hash  # backing files are opened read-only
    check_clean(top, "qcow2")
    files = images.read_files(top, ["/etc/machine-id", "/etc/made-by-run-command"])
    assert files == {
        "/etc/machine-id": "uninitialized\n",
        "/etc/made-by-run-command": "0 in the image\n",
    }  # ran now, in the sandbox
    assert images.read_files(base, ["/etc/machine-id"])["/etc/machine-id"] != "uninitialized\n"


def test_a_batch_of_overlays_of_one_base_runs_them_at_once(tmp_path):
    base, _ = copy_of(Recipe("mbr-ext4", format="qcow2"), tmp_path, "base.qcow2")
    base_hash = sha256(base)
    clones = [overlay_of(base, str(tmp_path / f"clone-{i}.qcow2")) for i in range(3)]
    report_path = str(tmp_path / "report.json")
    r = sysprep("batch", "--jobs", "3", "--report", report_path, *clones)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.load(open(report_path))
    assert report["jobs"] == 3
    assert [i["result"] for i in report["images"]] == ["ok"] * 3
    assert sha256(base) == base_hash
    for clone in clones:
        assert wait_clean(clone) == []
        assert images.read_files(clone, ["/etc/machine-id"]) == {
            "/etc/machine-id": "uninitialized\n"
        }


def comparable(listing: dict[str, list[object]]) -> dict[str, list[object]]:
    """Every path with its kind; size and content too, but for what each run writes afresh."""
    return {p: v[:1] if p.startswith(PER_RUN) else v for p, v in listing.items()}


def test_vmdk_vhdx_vpc_and_vdi_images_generalize_to_what_the_raw_image_does(tmp_path):
    raw, _ = copy_of(Recipe("mbr-ext4"), tmp_path, "disk.raw")
    converted = {}
    for name, fmt, options in (
        ("mono.vmdk", "vmdk", "subformat=monolithicSparse"),
        ("split.vmdk", "vmdk", "subformat=twoGbMaxExtentSparse"),
        ("disk.vhdx", "vhdx", "subformat=dynamic"),
        ("disk.vhd", "vpc", "subformat=dynamic"),
        ("disk.vdi", "vdi", ""),
    ):
        path = str(tmp_path / name)
        qemu_img(
            "convert", "-f", "raw", "-O", fmt, *(["-o", options] if options else []), raw, path
        )
        converted[path] = fmt
    runs = {
        image: subprocess.Popen(
            [sys.executable, "-m", "sysprep", "--generalize", "--image", image, "--json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for image in [raw, *converted]
    }  # side by side: each is its own image
    for image, proc in runs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{image}: {err}"
        assert wait_clean(image) == []
    expected = comparable(images.listing(raw))
    assert expected["etc/machine-id"][1] == len("uninitialized\n")
    for path, fmt in converted.items():
        check_clean(path, fmt)
        assert comparable(images.listing(path)) == expected, path


@pytest.fixture
def loop_device(request, tmp_path):
    """A loop device over a copy of the test image: what an LV holding a VM's disk looks like
    (the recipe's extra files as the test's parameter says)."""
    extra = getattr(request, "param", ())
    raw, _ = copy_of(Recipe("mbr-ext4", extra=extra), tmp_path, "lv.raw")
    dev = subprocess.run(
        ["losetup", "--find", "--show", raw], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield dev, raw
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


def test_a_block_device_is_generalized_only_when_asked_and_never_while_held(loop_device):
    dev, raw = loop_device
    before = sha256(raw)
    r = sysprep("--generalize", "--image", dev)
    assert r.returncode == 2 and "--allow-block-device" in r.stderr, r.stderr
    holder = os.open(dev, os.O_RDONLY | os.O_EXCL)  # what a running VM's qemu does
    try:
        r = sysprep("--generalize", "--image", dev, "--allow-block-device")
        assert r.returncode == 2 and "has it open exclusively" in r.stderr, r.stderr
    finally:
        os.close(holder)
    assert sha256(raw) == before
    r = sysprep("--generalize", "--image", dev, "--allow-block-device")
    assert r.returncode == 0, r.stderr
    time.sleep(1)  # the autoclear loop devices over it go once their last user closed them
    assert others(dev) == []
    subprocess.run(["losetup", "-d", dev], check=True)
    assert images.read_files(raw, ["/etc/machine-id"]) == {"/etc/machine-id": "uninitialized\n"}


def others(dev: str) -> list[str]:
    """What a run on the device left: mounts, loop devices over it, helpers (the test's own
    loop device is not one)."""
    return [x for x in leftovers(dev) if not x.startswith(f"{dev}: ")]


@pytest.mark.parametrize("loop_device", [(SLOW_PROVIDER,)], indirect=True)
def test_a_killed_run_on_a_block_device_leaves_nothing_over_it_and_releases_it(loop_device):
    dev, _raw = loop_device
    proc = subprocess.Popen(
        [sys.executable, "-m", "sysprep", "--generalize", "--image", dev, "--allow-block-device"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for_sleep(proc.pid), "the run did not reach the slow provider"
        assert others(dev)  # attached and mounted now...
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for _ in range(100):  # ...the guardian undoes it
        if not others(dev):
            break
        time.sleep(0.2)
    assert others(dev) == []
    os.close(os.open(dev, os.O_RDONLY | os.O_EXCL))  # nobody claims the device any more


@pytest.fixture(scope="module")
def debian_lvm(debian_tarball):
    return Recipe("gpt-lvm", "debian", tarball=debian_tarball)


def crypt_matches(password: str, hashed: str) -> bool:
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt.restype = ctypes.c_char_p
    return lib.crypt(password.encode(), hashed.encode()) == hashed.encode()


def test_virt_customize_options_on_an_overlay_boot_into_that_clone(debian_lvm, tmp_path):
    """One boot for both: the overlay specializes like a flat image, and the clone has the
    host name, root password, key and first-boot command given as virt-customize options."""
    flat, facts = images.cached(debian_lvm)
    base = str(tmp_path / "base.qcow2")
    qemu_img("convert", "-f", "raw", "-O", "qcow2", flat, base)
    base_hash = sha256(base)
    top = overlay_of(base, str(tmp_path / "web-01.qcow2"))
    password = "Corr3ct-horse-battery"
    (tmp_path / "pw").write_text(password + "\n")
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl builder@ci"
    (tmp_path / "k.pub").write_text(key + "\n")
    r = sysprep(
        "--generalize",
        "-a",
        top,
        "--hostname",
        "web-01",
        "--root-password",
        f"file:{tmp_path / 'pw'}",
        "--ssh-inject",
        f"root:file:{tmp_path / 'k.pub'}",
        "--firstboot-command",
        "echo ran >> /var/tmp/ok",
    )
    assert r.returncode == 0, r.stderr
    assert password not in r.stdout + r.stderr
    assert wait_clean(top) == []
    console = boot_from_disk(top, str(tmp_path), "overlay-customized", fmt="qcow2")
    assert DONE in console and "login:" in console, console[-3000:]
    assert "IMAGE_STATE_COMPLETE" in console and "emergency" not in console.lower()
    assert sha256(base) == base_hash
    after = images.read_files(
        top,
        [
            "/etc/hostname",
            "/etc/shadow",
            "/root/.ssh/authorized_keys",
            "/var/tmp/ok",
            "/etc/machine-id",
            "/var/lib/sysprep/unattend.xml",
        ],
    )
    assert (after["/etc/hostname"] or "").strip() == "web-01"
    root_hash = next(
        ln.split(":")[1]
        for ln in (after["/etc/shadow"] or "").splitlines()
        if ln.startswith("root:")
    )
    assert root_hash.startswith("$") and crypt_matches(password, root_hash)
    assert key in (after["/root/.ssh/authorized_keys"] or "")
    assert after["/var/tmp/ok"] == "ran\n"  # once
    machine_id = (after["/etc/machine-id"] or "").strip()
    assert len(machine_id) == 32 and machine_id != facts.machine_id
    # nowhere in clear: in no byte of the overlay, which holds all that the run and the boot
    # wrote (uncompressed clusters)
    found = subprocess.run(
        ["grep", "-c", "-a", "-F", password, top], capture_output=True, text=True
    )
    assert found.stdout.strip() == "0", "the password is in the image in clear"
