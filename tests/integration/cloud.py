"""A Debian cloud image (the test root plus the distribution's cloud-init) booted in qemu with
a NoCloud seed, and what each boot leaves to check from outside: a probe unit the test adds
to the disk writes `cloud-init status`, the boot's journal and systemd-analyze's figures to
/var/tmp/probe/boot-N once the boot is finished (so nothing needs SSH or a console login)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from tests.integration.conftest import debian_root_tarball, extract_guest
from tests.integration.qemu import VM, kernel_and_initrd, make_ext4_image, remember

PROBE_DONE = "CLOUD-PROBE-DONE"
PROBE_UNIT = "etc/systemd/system/cloud-probe.service"
PROBE_SCRIPT = "usr/local/sbin/cloud-probe"
# started through the kernel command line (systemd-debug-generator), never enabled: the
# clone's first-boot preset-all and sysprep's preset pin do not see it
PROBE_APPEND = "systemd.wants=cloud-probe.service"

PROBE = f"""\
#!/bin/sh
# Runs after cloud-final in every boot: waits until the boot is finished, then keeps what
# the test reads from outside in /var/tmp/probe/boot-N.
n=1; while [ -e /var/tmp/probe/boot-$n ]; do n=$((n+1)); done
d=/var/tmp/probe/boot-$n; mkdir -p $d
cloud-init status --wait >/dev/null 2>&1
systemctl is-system-running --wait >$d/system-state 2>&1
cloud-init status --long >$d/status.txt 2>&1; echo "exit=$?" >>$d/status.txt
cloud-init status --format json >$d/status.json 2>/dev/null
systemd-analyze >$d/analyze.txt 2>&1
systemd-analyze blame --no-pager >$d/blame.txt 2>&1
systemd-analyze critical-chain --no-pager >$d/critical-chain.txt 2>&1
journalctl -b -o short-monotonic --no-pager >$d/journal.txt 2>&1
systemctl show -p Id,CPUUsageNSec 'sysprep-*' 'cloud-*' >$d/cpu.txt 2>&1
hostname >$d/hostname
cat /etc/machine-id >$d/machine-id
cat /etc/ssh/ssh_host_*_key.pub >$d/host-keys
sync
echo "{PROBE_DONE} $n" >/dev/console
"""

PROBE_SERVICE = """\
# Added by the tests (not part of the image under test): see tests/integration/cloud.py.
[Unit]
Description=test probe: cloud-init status and the boot's figures
After=cloud-final.service sysprep-passes.service

[Service]
Type=simple
ExecStart=/bin/sh /usr/local/sbin/cloud-probe
"""

# an image builder's choices for a NoCloud image: no other data source is probed; the locale
# is one the image has (cloud-init's default en_US.UTF-8 is not generated in the test root:
# its locale module would fail)
IMAGE_CFG = "etc/cloud/cloud.cfg.d/90-cloud-image.cfg"
# a cloud image sets up no console keymap (Debian's cloud images leave these packages out):
# they cost a minute of each emulated boot
MASKED = ("console-setup.service", "keyboard-setup.service", "e2scrub_reap.service")


@dataclass(frozen=True)
class Seed:
    """A NoCloud seed: meta-data and user-data (a cloud-config)."""

    instance_id: str
    hostname: str | None = None
    user: str = "ops"
    ssh_key: str = ""
    note: str = ""  # write_files content of /etc/clone-note
    runcmd_marker: str = ""  # runcmd writes it to /var/tmp/runcmd-marker

    def meta_data(self) -> str:
        out = f"instance-id: {self.instance_id}\n"
        return out + (f"local-hostname: {self.hostname}\n" if self.hostname else "")

    def user_data(self) -> str:
        lines = [
            "#cloud-config",
            "users:",
            f"  - name: {self.user}",
            "    shell: /bin/bash",
            "    sudo: ALL=(ALL) NOPASSWD:ALL",
        ]
        if self.ssh_key:
            lines += ["    ssh_authorized_keys:", f"      - {self.ssh_key}"]
        if self.note:
            lines += ["write_files:", "  - path: /etc/clone-note", f'    content: "{self.note}\\n"']
        if self.runcmd_marker:
            lines += [
                "runcmd:",
                f'  - [sh, -c, "echo {self.runcmd_marker} > /var/tmp/runcmd-marker"]',
            ]
        return "\n".join(lines) + "\n"

    def iso(self, path: str) -> str:
        work = path + ".d"
        os.makedirs(work, exist_ok=True)
        for name, text in (("meta-data", self.meta_data()), ("user-data", self.user_data())):
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        subprocess.run(
            ["cloud-localds", path, f"{work}/user-data", f"{work}/meta-data"],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(work)
        return path


@dataclass
class CloudImage:
    """A cloud image's disk and the kernel and initrd it boots with."""

    image: str
    kernel: str
    initrd: str
    suite: str


def build(suite: str, work: str) -> CloudImage:
    """The cloud image of `suite` (the cached root with cloud-init), with the probe, in `work`."""
    root = extract_guest(debian_root_tarball(suite, "cloud-init"), os.path.join(work, "root"))
    files = {
        IMAGE_CFG: "datasource_list: [ NoCloud, None ]\nlocale: C.UTF-8\n",
        PROBE_SCRIPT: PROBE,
        PROBE_UNIT: PROBE_SERVICE,
    }
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    for unit in MASKED:
        os.symlink("/dev/null", os.path.join(root, "etc/systemd/system", unit))
    kernel, initrd = kernel_and_initrd(root)
    boot_dir = os.path.join(work, "boot")
    os.makedirs(boot_dir, exist_ok=True)
    kernel, initrd = shutil.copy(kernel, boot_dir), shutil.copy(initrd, boot_dir)
    image = os.path.join(work, f"{suite}-cloud.img")
    make_ext4_image(root, image)
    shutil.rmtree(root)
    return CloudImage(image, kernel, initrd, suite)


@dataclass
class Boot:
    name: str
    image: str
    seed: str
    kernel: str
    initrd: str
    console: str = ""
    probe: int = 0  # the boot-N folder of the probe's results
    qemu_seconds: float = 0.0
    extra: list[str] = field(default_factory=list)


def boot_all(boots: list[Boot], workdir: str, timeout: float = 1200) -> list[Boot]:
    """Boot the guests at the same time (one qemu each), wait for each probe, power them off."""
    import time

    vms = []
    for b in boots:
        vm = VM(b.image, b.kernel, b.initrd, workdir, name=b.name, append=PROBE_APPEND)
        vm.argv += ["-drive", f"file={b.seed},format=raw,if=virtio,readonly=on", *b.extra]
        vms.append((b, vm.start(), time.monotonic()))
    try:
        for b, vm, started in vms:
            vm.wait_for(PROBE_DONE, max(1.0, timeout - (time.monotonic() - started)))
            b.qemu_seconds = time.monotonic() - started
    finally:
        for b, vm, _ in vms:
            vm.poweroff(180)
            b.console = vm.output()
            remember(b.name, b.console)
    for b, _, _ in vms:
        marks = [ln for ln in b.console.splitlines() if PROBE_DONE in ln]
        assert marks, f"{b.name}: the probe did not finish; console tail:\n{b.console[-4000:]}"
        b.probe = int(marks[-1].split(PROBE_DONE)[1].split()[0])
    return boots


def probe_file(m: str, n: int, name: str) -> str:
    """What the probe kept of the `n`th boot of the disk mounted at `m`."""
    with open(os.path.join(m, f"var/tmp/probe/boot-{n}", name), errors="replace") as f:
        return f.read()
