"""Per-clone answers from the hypervisor: one generalized Debian image, clones booted with
systemd credentials (SMBIOS type 11, qemu fw_cfg) get each their own settings, over the
template's cached answer file; no clear password on any disk."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil

import pytest

from sysprep.testing import images
from tests.integration.conftest import debian_root_tarball
from tests.integration.qemu import VM, Mounted, kernel_and_initrd, make_ext4_image, remember
from tests.integration.test_boot import BOOT_TIMEOUT, DONE, sysprep, used_machine, verifies

pytestmark = pytest.mark.integration

TEMPLATE = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: template-01
    TimeZone: Etc/UTC
"""
PASSWORD_A = "Cl0ne-A-pa55!"
PASSWORD_B = "Cl0ne-B-pa55!"
CLONE_A = f"""\
specialize:
  Linux-Shell-Setup:
    ComputerName: clone-a
    TimeZone: Europe/Berlin
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      LocalAccounts:
        - Name: carol
          Group: sudo
          Password: {{Value: "{PASSWORD_A}", PlainText: true}}
"""
CLONE_B = f"""<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <settings pass="specialize">
    <component name="Linux-Shell-Setup">
      <ComputerName>clone-b-from-unattend</ComputerName>
      <TimeZone>America/New_York</TimeZone>
    </component>
  </settings>
  <settings pass="oobeSystem">
    <component name="Linux-Shell-Setup">
      <UserAccounts>
        <LocalAccounts>
          <LocalAccount wcm:action="add">
            <Name>dave</Name>
            <Password><Value>{PASSWORD_B}</Value><PlainText>true</PlainText></Password>
          </LocalAccount>
        </LocalAccounts>
      </UserAccounts>
    </component>
  </settings>
</unattend>
"""
ROOT_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJq3c2VydmVyLWtleS1mb3ItY2xvbmUtYi10ZXN0aW5n ops@example"
)


def smbios(name: str, text: str) -> tuple[str, ...]:
    """A credential as an SMBIOS type 11 string (base64: any bytes, no quoting trouble)."""
    value = base64.b64encode(text.encode()).decode()
    return ("-smbios", f"type=11,value=io.systemd.credential.binary:{name}={value}")


def fw_cfg(name: str, path: str) -> tuple[str, ...]:
    return ("-fw_cfg", f"name=opt/io.systemd.credentials/{name},file={path}")


def generalized(suite: str, work: str) -> dict[str, str]:
    """A used Debian machine of `suite`, generalized headless with the template's answer file,
    as a disk image."""
    work = os.path.join(work, suite)
    os.makedirs(work)
    root, facts = used_machine(debian_root_tarball(suite), work)
    unattend = os.path.join(work, "unattend.yaml")
    with open(unattend, "w") as f:
        f.write(TEMPLATE)
    r = sysprep("--generalize", "--root", root, "--unattend", unattend)
    assert r.returncode == 0, r.stderr
    image = os.path.join(work, "generalized.img")
    make_ext4_image(root, image)
    kernel, initrd = (shutil.copy(f, work) for f in kernel_and_initrd(root))
    shutil.rmtree(root, ignore_errors=True)  # ~1.7 GB
    return {"image": image, "kernel": kernel, "initrd": initrd, "machine_id": facts["machine_id"]}


def boot_together(
    work: str, clones: dict[str, tuple[dict[str, str], tuple[str, ...]]]
) -> dict[str, str]:
    """Boot the clones (name: template, qemu arguments) at the same time, one qemu each, until
    their passes are done; the disk image of each."""
    vms, disks = {}, {}
    for name, (t, extra) in clones.items():
        disks[name] = images.copy(t["image"], os.path.join(work, f"{name}.img"))
        vms[name] = VM(disks[name], t["kernel"], t["initrd"], work, name=name, extra=extra).start()
    try:
        reached = {name: vm.wait_for(DONE, BOOT_TIMEOUT) for name, vm in vms.items()}
    finally:
        for vm in vms.values():  # all at once: each takes a while to stop
            with contextlib.suppress(OSError):
                vm.qmp("system_powerdown")
        for vm in vms.values():
            vm.poweroff(180)
    for name, vm in vms.items():
        out = vm.output()
        remember(name, out)
        assert reached[name], f"{name}: the passes did not finish; console tail:\n{out[-4000:]}"
        assert "IMAGE_STATE_COMPLETE" in out
    return disks


def settings(m: str) -> dict[str, object]:
    shadow = {ln.split(":")[0]: ln.split(":")[1] for ln in open(f"{m}/etc/shadow")}
    return {
        "hostname": open(f"{m}/etc/hostname").read().strip(),
        "zone": os.readlink(f"{m}/etc/localtime").rsplit("zoneinfo/", 1)[-1],
        "shadow": shadow,
        "machine_id": open(f"{m}/etc/machine-id").read().strip(),
    }


def no_clear_password(disk: str, *passwords: str) -> None:
    """Not in any block of the disk (files, the journal, free space): its data regions read
    (the holes of the sparse image are zeros)."""
    wanted = [p.encode() for p in passwords]
    overlap = max(len(w) for w in wanted) - 1
    with open(disk, "rb") as f:
        fd, size, at = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while at < size:
            try:
                at = os.lseek(fd, at, os.SEEK_DATA)
            except OSError:
                break  # only a hole is left
            end = os.lseek(fd, at, os.SEEK_HOLE)
            tail = b""
            while at < end:
                chunk = tail + os.pread(fd, min(CHUNK, end - at), at)
                for w in wanted:
                    assert w not in chunk, f"{w.decode()!r} is on {disk}"
                at += len(chunk) - len(tail)
                tail = chunk[-overlap:] if overlap else b""


CHUNK = 8 << 20


def test_clones_take_their_own_answers_from_credentials(tmp_path):
    """Two Debian 12 clones (systemd 252: PID 1 imports SMBIOS and fw_cfg credentials into
    /run/credentials/@system) and one Debian 13 clone (systemd 257: the unit's
    ImportCredential= gives $CREDENTIALS_DIRECTORY), booted at the same time."""
    work = str(tmp_path)
    bookworm, trixie = generalized("bookworm", work), generalized("trixie", work)
    answer_b = os.path.join(work, "clone-b.xml")
    with open(answer_b, "w") as f:
        f.write(CLONE_B)
    disks = boot_together(
        work,
        {
            "clone-a": (bookworm, smbios("sysprep.unattend", CLONE_A)),
            "clone-b": (
                bookworm,
                (
                    *fw_cfg("sysprep.unattend", answer_b),
                    "-smbios",
                    "type=11,value=io.systemd.credential:system.hostname=clone-b",
                    *smbios("ssh.authorized_keys.root", ROOT_KEY + "\n"),
                ),
            ),
            "clone-t": (trixie, smbios("sysprep.unattend", CLONE_A.replace("clone-a", "clone-t"))),
        },
    )
    with Mounted(disks["clone-a"], str(tmp_path / "ma")) as m:
        a = settings(m)
        assert (a["hostname"], a["zone"]) == ("clone-a", "Europe/Berlin")
        assert verifies(PASSWORD_A, a["shadow"]["carol"]) and "dave" not in a["shadow"]
        assert "carol" in next(ln for ln in open(f"{m}/etc/group") if ln.startswith("sudo:"))
        assert "sysprep.unattend (/run/credentials/@system/" in log_of(m)
    with Mounted(disks["clone-b"], str(tmp_path / "mb")) as m:
        b = settings(m)
        # system.hostname wins over the ComputerName of sysprep.unattend
        assert (b["hostname"], b["zone"]) == ("clone-b", "America/New_York")
        assert verifies(PASSWORD_B, b["shadow"]["dave"]) and "carol" not in b["shadow"]
        assert open(f"{m}/root/.ssh/authorized_keys").read().strip() == ROOT_KEY
    with Mounted(disks["clone-t"], str(tmp_path / "mt")) as m:
        t = settings(m)
        assert (t["hostname"], t["zone"]) == ("clone-t", "Europe/Berlin")
        assert verifies(PASSWORD_A, t["shadow"]["carol"])
        assert "sysprep.unattend (/run/credentials/sysprep-specialize.service/" in log_of(m)
    assert len({a["machine_id"], b["machine_id"], bookworm["machine_id"]}) == 3
    for disk in disks.values():
        no_clear_password(disk, PASSWORD_A, PASSWORD_B)


def log_of(m: str) -> str:
    return open(f"{m}/var/log/sysprep/setupact.log").read()
