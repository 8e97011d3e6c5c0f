"""Ctrl+Shift+F3 on a real console: a generalized Debian image boots in qemu, the welcome
shows on tty1, the chord is pressed on the guest's keyboard through QMP, and the machine
reseals itself to audit mode and reboots into the audit passes."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from sysprep.testing import images
from tests.integration.conftest import extract_guest
from tests.integration.qemu import VM, Mounted, kernel_and_initrd, make_ext4_image
from tests.integration.test_boot import BOOT_TIMEOUT, DONE, sysprep

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def image(debian_tarball, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("welcome"))
    root = extract_guest(debian_tarball, os.path.join(work, "root"))
    r = sysprep("--generalize", "--oobe", "--root", root)
    assert r.returncode == 0, r.stderr
    img = os.path.join(work, "generalized.img")
    make_ext4_image(root, img)
    kernel, initrd = kernel_and_initrd(root)
    yield {"work": work, "image": img, "kernel": kernel, "initrd": initrd}
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("keys", [("ctrl", "shift", "f3"), ("f12",)], ids=["ctrl-shift-f3", "f12"])
def test_audit_key_on_the_welcome_reseals_to_audit_mode(image, tmp_path, keys):
    disk = images.copy(image["image"], str(tmp_path / "clone.img"))
    vm = VM(disk, image["kernel"], image["initrd"], str(tmp_path), name="welcome").start()
    try:
        assert vm.wait_for("the welcome is shown on /dev/tty1", BOOT_TIMEOUT), vm.output()[-4000:]
        out = vm.output()
        assert "Ctrl+Shift+F3 on this console's keymap:" in out
        try:
            vm.qmp("screendump", filename=str(tmp_path / "tty1-welcome.ppm"))
        except OSError:
            pass
        vm.send_keys(*keys)
        if keys == ("f12",):
            time.sleep(3)  # the confirmation opens with Cancel focused
            vm.send_keys("tab")
            vm.send_keys("ret")
        assert vm.wait_for("resealed to audit mode", 120), vm.output()[-4000:]
        assert vm.wait_for("auditUser pass finished", BOOT_TIMEOUT), vm.output()[-4000:]
        assert vm.wait_for(DONE, 120)
    finally:
        vm.poweroff(180)
    out = vm.output()
    # what the chord did on the console's own keymap before sysprep mapped it (Debian 12:
    # console-setup's "us" map makes it F39, function key 48, which has no string)
    assert "Ctrl+Shift+F3 on this console's keymap: function key 48 with no string" in out
    assert "audit mode was asked for on the welcome's first page" in out
    with Mounted(disk, str(tmp_path / "m")) as m:
        state = open(f"{m}/var/lib/sysprep/state.ini").read()
        assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in state
        assert "PendingPasses = \n" in state or "PendingPasses =\n" in state  # audit passes ran
