"""Every answer file in examples/ boots: the example's own command line (from its header,
without /shutdown, which an offline image refuses) generalizes a Debian disk image, the image
boots in qemu, and the clone ends in the example's documented final state."""

from __future__ import annotations

import os
import re
import shlex
import shutil

import pytest

from sysprep.firstboot import units
from sysprep.testing import images
from sysprep.testing.dirty_root import write_file
from tests.integration.conftest import extract_guest
from tests.integration.qemu import VM, Mounted, kernel_and_initrd, make_ext4_image, remember
from tests.integration.test_boot import BOOT_TIMEOUT, DONE, boot, sysprep

pytestmark = pytest.mark.integration

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
# what the examples' commands run: stand-ins that leave a trace of each run
STUBS = {
    "usr/local/sbin/register-inventory": 'echo "register-inventory $*" >> /var/lib/example-ran',
    "opt/factory/burn-in": 'echo "burn-in $*" >> /var/lib/example-ran',
    "opt/factory/firmware-update": 'echo "firmware-update" >> /var/lib/example-ran',
    "opt/factory/report": 'echo "report $*" >> /var/lib/example-ran',
    "usr/lib/oem/welcome-tour": 'echo "welcome-tour" >> /var/lib/example-ran',
}


@pytest.fixture(scope="module")
def base(debian_tarball, tmp_path_factory):
    """A Debian disk image with what the examples name (their programs, the OEM's EULA)."""
    work = str(tmp_path_factory.mktemp("examples"))
    root = extract_guest(debian_tarball, os.path.join(work, "root"))
    for rel, line in STUBS.items():
        write_file(root, rel, f"#!/bin/sh\n{line}\n", mode=0o755)
    write_file(root, "usr/share/oem/EULA.de.txt", "Lizenzbedingungen des Herstellers.\n")
    image = os.path.join(work, "base.img")
    make_ext4_image(root, image)
    kernel, initrd = (shutil.copy(p, work) for p in kernel_and_initrd(root))
    hostname = open(os.path.join(root, "etc/hostname")).read()
    shutil.rmtree(root)  # 1.7 GB: the image has it all
    yield {"image": image, "kernel": kernel, "initrd": initrd, "hostname": hostname}
    shutil.rmtree(work, ignore_errors=True)


def documented_command(name: str) -> list[str]:
    """The sysprep command line the example's header documents, for a disk image."""
    path = os.path.abspath(os.path.join(EXAMPLES, name))
    line = next(
        m.group(1)
        for m in (re.search(r"^\s*#?\s*sysprep (.+?)(?:-->)?$", ln.rstrip()) for ln in open(path))
        if m
    )
    argv = [a for a in shlex.split(line) if a.lower() not in ("--shutdown", "/shutdown")]
    return [a.replace(name, path) for a in argv]


def generalized(base: dict[str, str], name: str, tmp_path) -> str:
    image = images.copy(base["image"], str(tmp_path / f"{name}.img"))
    argv = documented_command(name)
    r = sysprep(*argv, "--image", image)
    assert r.returncode == 0, f"sysprep {' '.join(argv)}: {r.stderr}"
    return image


def state_of(m: str) -> dict[str, str]:
    lines = open(f"{m}/var/lib/sysprep/state.ini").read().splitlines()
    return dict((k.strip(), v.strip()) for k, v in (ln.split("=", 1) for ln in lines if "=" in ln))


def ran(m: str) -> str:
    return open(f"{m}/var/lib/example-ran").read()


def test_cloud_template_completes_headless_and_its_commands_start_units(base, tmp_path):
    image = generalized(base, "cloud-template.yaml", tmp_path)
    out = boot(image, base["kernel"], base["initrd"], str(tmp_path), "cloud-template", DONE)
    assert out.index(DONE) < out.rindex("login:")
    with Mounted(image, str(tmp_path / "m")) as m:
        st = state_of(m)
        assert st["ImageState"] == "IMAGE_STATE_COMPLETE" and st["LastError"] == ""
        # the specialize commands ran once, after the network: one started a unit
        assert ran(m) == "register-inventory --cloud\n"
        assert os.path.islink(
            f"{m}/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
        )
        assert not os.path.exists(f"{m}/{units.SYSTEMCTL_SHIM}")  # gone with the units
        hostname = open(f"{m}/etc/hostname").read()
        assert hostname != base["hostname"] and hostname.strip()
        assert any(ln.startswith("cloud-user:") for ln in open(f"{m}/etc/passwd"))


def test_factory_audit_runs_the_audit_passes_then_reseals_to_oobe_and_powers_off(base, tmp_path):
    image = generalized(base, "factory-audit.xml", tmp_path)
    vm = VM(image, base["kernel"], base["initrd"], str(tmp_path), name="factory-audit").start()
    try:
        code = vm.wait_exit(BOOT_TIMEOUT)  # ForceShutdownNow: the unit powers itself off
    finally:
        vm.kill()
    out = vm.output()
    remember("factory-audit", out)
    assert code is not None, f"the factory unit did not power off:\n{out[-4000:]}"
    assert "auditUser pass finished" in out
    with Mounted(image, str(tmp_path / "m")) as m:
        st = state_of(m)
        # ready to ship: the customer's first boot runs oobeSystem and the welcome
        assert st["ImageState"] == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE", st
        assert st["PendingPasses"] == "oobeSystem" and "Welcome" not in st
        assert (
            ran(m) == "burn-in --minutes 30\nfirmware-update\nreport --station "
            f"{open(f'{m}/etc/hostname').read().strip()}\n"
        )
        assert any(ln.startswith("factory:") for ln in open(f"{m}/etc/passwd"))


def test_oem_laptop_waits_at_the_welcome_for_its_customer_with_logins_held(base, tmp_path):
    image = generalized(base, "oem-laptop.xml", tmp_path)
    vm = VM(image, base["kernel"], base["initrd"], str(tmp_path), name="oem-laptop").start()
    try:
        shown = vm.wait_for("the welcome is shown on /dev/tty1", BOOT_TIMEOUT)
        held = "login:" not in vm.output()
    finally:
        vm.poweroff(180)
    out = vm.output()
    remember("oem-laptop", out)
    assert shown, out[-4000:]
    assert held, "a login prompt came before the welcome was answered"
    with Mounted(image, str(tmp_path / "m")) as m:
        st = state_of(m)
        assert (
            "oobeSystem" in st["PendingPasses"] and st["LastError"] == ""
        )  # shown again next boot
        assert os.readlink(f"{m}/etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
        assert open(f"{m}/etc/hostname").read() != base["hostname"]


def test_every_example_is_booted_by_a_test():
    tested = {"cloud-template.yaml", "factory-audit.xml", "oem-laptop.xml"}
    # packer/ (its template and answer file) is built and booted by test_packer.py
    assert set(os.listdir(EXAMPLES)) == tested | {"packer"}
    for name in tested:
        assert documented_command(name)[0].lower() in ("--generalize", "/generalize")
