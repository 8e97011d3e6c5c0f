"""A real boot: a debootstrapped Debian root, generalized, written to a disk image and booted
in qemu (TCG) until the boot-time passes finish; then checked from outside."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from sysprep.testing import images
from tests.integration.conftest import dirty_like_a_used_machine, extract_guest, in_root
from tests.integration.qemu import VM, Mounted, kernel_and_initrd, make_ext4_image, remember

pytestmark = pytest.mark.integration

DONE = "no pass pending: the boot-time units are disabled"
BOOT_TIMEOUT = 600


def sysprep(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def enabled_units(root: str) -> list[str]:
    out = in_root(root, "systemctl", "list-unit-files", "--state=enabled", "--no-legend").stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def host_keys(root: str) -> dict[str, str]:
    d = os.path.join(root, "etc/ssh")
    return {
        n: open(os.path.join(d, n)).read() for n in sorted(os.listdir(d)) if n.endswith("_key.pub")
    }


def boot(
    image: str, kernel: str, initrd: str, workdir: str, name: str, until: str, *, count: int = 1
) -> str:
    vm = VM(image, kernel, initrd, workdir, name=name).start()
    try:
        reached = vm.wait_for(until, BOOT_TIMEOUT, count=count)
        login = vm.wait_for("login:", 240)
    finally:
        vm.poweroff(180)
    out = vm.output()
    remember(name, out)
    assert reached and login, (
        f"{name}: the guest did not get to {until!r}; console tail:\n{out[-4000:]}"
    )
    return out


PASSWORD = "S3cret-Pa55!word"
SSH_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm2sXqQfW0b6Zz4mY0eF7qj3yJ8pGkQ2c1dV5xR9sTn ops@example"
)
UNATTEND = f"""<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <settings pass="specialize">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <ComputerName>web-01</ComputerName>
      <TimeZone>Europe/Berlin</TimeZone>
    </component>
    <component name="Microsoft-Windows-Deployment" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <RunSynchronous>
        <RunSynchronousCommand wcm:action="add">
          <Order>1</Order>
          <Path>echo ran &gt;&gt; /root/marker-one; exit 1</Path>
          <Description>First command, asks for a reboot</Description>
          <WillReboot>OnRequest</WillReboot>
        </RunSynchronousCommand>
        <RunSynchronousCommand wcm:action="add">
          <Order>2</Order>
          <Path>echo ran &gt;&gt; /root/marker-two</Path>
          <WillReboot>Never</WillReboot>
        </RunSynchronousCommand>
      </RunSynchronous>
    </component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">
      <UserAccounts>
        <LocalAccounts>
          <LocalAccount wcm:action="add">
            <Name>operator</Name>
            <Group>Administrators</Group>
            <Password><Value>{PASSWORD}</Value><PlainText>true</PlainText></Password>
          </LocalAccount>
        </LocalAccounts>
      </UserAccounts>
      <OOBE><SkipMachineOOBE>true</SkipMachineOOBE></OOBE>
    </component>
    <component name="Linux-Shell-Setup">
      <UserAccounts>
        <LocalAccounts>
          <LocalAccount wcm:action="modify">
            <Name>operator</Name>
            <AuthorizedKeys><AuthorizedKey wcm:action="add" wcm:keyValue="1">{SSH_KEY}</AuthorizedKey></AuthorizedKeys>
          </LocalAccount>
        </LocalAccounts>
      </UserAccounts>
    </component>
  </settings>
</unattend>
"""


def verifies(password: str, hashed: str) -> bool:
    """crypt(3) with the host's libcrypt: the password hashed with the hash's own setting."""
    from sysprep.answer.passwords import _Crypt

    c = _Crypt()
    import ctypes

    data = ctypes.create_string_buffer(32768)
    out = c.crypt(password.encode(), hashed.encode(), data, 32768)
    return out is not None and bytes(out).decode() == hashed


def used_machine(debian_tarball: str, work: str) -> tuple[str, dict]:
    """A used machine's root (for a qemu guest) in `work`, and its facts: its machine-id, SSH
    host keys and enabled units, to compare the clones with."""
    root = extract_guest(debian_tarball, os.path.join(work, "root"))
    facts = dirty_like_a_used_machine(root)
    facts["keys"] = host_keys(root)
    facts["enabled"] = enabled_units(root)
    return root, facts


@pytest.fixture(scope="module")
def template(debian_tarball, tmp_path_factory):
    """The template machine (used, dirty) and, next to it, its generalized disk image."""
    work = str(tmp_path_factory.mktemp("boot"))
    root, facts = used_machine(debian_tarball, work)
    unattend = os.path.join(work, "unattend.xml")
    with open(unattend, "w") as f:
        f.write(UNATTEND)
    r = sysprep("--generalize", "--oobe", "--root", root, "--unattend", unattend)
    assert r.returncode == 0, r.stderr
    image = os.path.join(work, "generalized.img")
    make_ext4_image(root, image)
    kernel, initrd = kernel_and_initrd(root)
    yield {"work": work, "root": root, "image": image, "kernel": kernel, "initrd": initrd, **facts}
    shutil.rmtree(work, ignore_errors=True)  # ~1.7 GB: gone before the next module's boots


def test_units_pass_systemd_analyze_verify(template):
    """Every unit sysprep installs, checked by the image's own systemd (the audit-mode dialog
    unit and --no-boot-passes' SSH key unit too, which an OOBE reseal does not install:
    written here for the check)."""
    from sysprep.firstboot import keygen, units

    root = template["root"]
    extra = {units.DIALOG_UNIT: units.DIALOG, keygen.UNIT: keygen.UNIT_TEXT}
    for name, text in extra.items():
        with open(os.path.join(root, units.UNIT_DIR, name), "w") as f:
            f.write(text)
    try:
        r = in_root(
            root,
            "systemd-analyze",
            "verify",
            *(f"/{units.UNIT_DIR}/{u}" for u in (units.SPECIALIZE_UNIT, units.PASSES_UNIT, *extra)),
            check=False,
        )
    finally:
        for name in extra:
            os.remove(os.path.join(root, units.UNIT_DIR, name))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout + r.stderr == ""


def test_generalized_image_boots_into_a_new_machine(template, tmp_path):
    t = template
    image = images.copy(t["image"], str(tmp_path / "clone-a.img"))
    out = boot(image, t["kernel"], t["initrd"], str(tmp_path), "clone-a", DONE)
    for line in (
        "specialize pass",
        "[new-machine-id]",
        "[new-ssh-hostkeys]",
        "oobeSystem pass",
        "IMAGE_STATE_COMPLETE",
    ):
        assert line in out, line
    assert "First Boot Wizard was skipped" in out or "systemd-firstboot" not in out
    with Mounted(image, str(tmp_path / "m")) as m:
        machine_id = open(f"{m}/etc/machine-id").read().strip()
        assert len(machine_id) == 32 and machine_id != t["machine_id"]
        keys = host_keys(m)
        assert keys and set(keys.values()).isdisjoint(t["keys"].values())
        state = open(f"{m}/var/lib/sysprep/state.ini").read()
        assert "IMAGE_STATE_COMPLETE" in state
        assert not os.path.exists(
            f"{m}/etc/systemd/system/sysinit.target.wants/sysprep-specialize.service"
        )
        assert not os.path.exists(
            f"{m}/etc/systemd/system/multi-user.target.wants/sysprep-passes.service"
        )
        assert not os.path.exists(f"{m}/var/lib/sysprep/boot-pending")
        for name in ("setupact.log", "setuperr.log", "actions.jsonl"):
            assert os.path.isfile(f"{m}/var/log/sysprep/{name}")
        setupact = open(f"{m}/var/log/sysprep/setupact.log").read()
        # enabled units of the clone equal the template's (first-boot presets changed nothing)
        assert enabled_units(m) == t["enabled"]
        # the answer file: host name, time zone, the account, its password and key
        assert open(f"{m}/etc/hostname").read() == "web-01\n"
        assert os.readlink(f"{m}/etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
        passwd = {ln.split(":")[0]: ln.split(":") for ln in open(f"{m}/etc/passwd")}
        assert "operator" in passwd
        shadow = {ln.split(":")[0]: ln.split(":")[1] for ln in open(f"{m}/etc/shadow")}
        assert shadow["operator"].startswith("$") and verifies(PASSWORD, shadow["operator"])
        assert not verifies("wrong", shadow["operator"])
        sudo = next(ln for ln in open(f"{m}/etc/group") if ln.startswith("sudo:"))
        assert "operator" in sudo.strip().split(":")[3].split(",")
        home = passwd["operator"][5]
        keys = f"{m}{home}/.ssh/authorized_keys"
        assert open(keys).read().strip() == SSH_KEY
        st = os.stat(keys)
        assert (st.st_mode & 0o777, st.st_uid) == (0o600, int(passwd["operator"][2]))
        # each RunSynchronous command ran exactly once, across the reboot the first asked for
        assert open(f"{m}/root/marker-one").read() == "ran\n"
        assert open(f"{m}/root/marker-two").read() == "ran\n"
        assert out.count("rebooting as First command, asks for a reboot asked") == 1
        assert out.count("specialize pass finished") == 1
        # no secret anywhere: the cache has the passwords deleted, no log or file holds it
        assert "*SENSITIVE*DATA*DELETED*" in open(f"{m}/var/lib/sysprep/unattend.xml").read()
        hits = subprocess.run(
            ["grep", "-rlF", PASSWORD, f"{m}/var", f"{m}/etc", f"{m}/root", f"{m}/home"],
            capture_output=True,
            text=True,
        ).stdout
        assert hits == ""
    # a second boot re-runs nothing
    out2 = boot(image, t["kernel"], t["initrd"], str(tmp_path), "clone-a-again", "login:")
    assert "specialize pass" not in out2 and "sysprep-specialize" not in out2
    with Mounted(image, str(tmp_path / "m")) as m:
        assert open(f"{m}/var/log/sysprep/setupact.log").read() == setupact
        assert open(f"{m}/etc/machine-id").read().strip() == machine_id


def test_live_generalize_inside_a_booted_guest_then_specialize(debian_tarball, tmp_path):
    """`sysprep --generalize --oobe --shutdown` typed on the console of a running guest."""
    work = str(tmp_path)
    root = extract_guest(debian_tarball, os.path.join(work, "root"))
    facts = dirty_like_a_used_machine(root)
    assert sysprep("install", "--root", root).returncode == 0
    with open(os.path.join(root, "root/unattend.yaml"), "w") as f:  # as a Packer build copies it in
        f.write("oobeSystem:\n  Linux-Shell-Setup:\n    OOBE:\n      SkipMachineOOBE: true\n")
    dropin = os.path.join(root, "etc/systemd/system/serial-getty@ttyS0.service.d")
    os.makedirs(dropin)
    with open(os.path.join(dropin, "autologin.conf"), "w") as f:
        f.write(
            "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --noclear %I $TERM\n"
        )
    image = os.path.join(work, "live.img")
    make_ext4_image(root, image)
    kernel, initrd = kernel_and_initrd(root)
    vm = VM(image, kernel, initrd, work, name="live").start()
    try:
        assert vm.wait_for("root@", BOOT_TIMEOUT), vm.output()[-3000:]
        vm.type(
            "sysprep --generalize --oobe --shutdown --quiet --unattend /root/unattend.yaml; "
            "echo SYSPREP-EXIT=$?\n"
        )
        deadline = time.monotonic() + BOOT_TIMEOUT
        while vm.wait_exit(2) is None:
            failed = re.search(r"SYSPREP-EXIT=\d+", vm.output())
            assert failed is None, (
                f"sysprep returned instead of powering off:\n{vm.output()[-3000:]}"
            )
            assert time.monotonic() < deadline, (
                "the guest did not power off:\n" + vm.output()[-3000:]
            )
    finally:
        vm.kill()
    with Mounted(image, os.path.join(work, "m")) as m:
        assert open(f"{m}/etc/machine-id").read() == "uninitialized\n"
        assert not [n for n in os.listdir(f"{m}/etc/ssh") if n.startswith("ssh_host_")]
        assert (
            "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in open(f"{m}/var/lib/sysprep/state.ini").read()
        )
        assert os.path.exists(f"{m}/var/lib/sysprep/panther/setupact.log")
    out = boot(image, kernel, initrd, work, "live-clone", DONE)
    assert "specialize pass" in out
    with Mounted(image, os.path.join(work, "m")) as m:
        new_id = open(f"{m}/etc/machine-id").read().strip()
        assert len(new_id) == 32 and new_id != facts["machine_id"]
        assert "IMAGE_STATE_COMPLETE" in open(f"{m}/var/lib/sysprep/state.ini").read()
