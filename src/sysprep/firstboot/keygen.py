"""The one unit `--no-boot-passes` may leave in the image: the clone's SSH host keys.

Generalize removes the template's host keys. Where nothing in the image makes new ones at
boot (Fedora's sshd-keygen units, an ssh unit that runs ssh-keygen, cloud-init), sshd would
not start on the clone; this unit runs `ssh-keygen -A` once, early, then removes itself. It is
shell only: the image needs no python3. machine-id needs nothing: it is systemd's own job.
"""

from __future__ import annotations

from sysprep.target.confined import Confined, Outcome

UNIT_DIR = "etc/systemd/system"
UNIT = "sysprep-ssh-keygen.service"
UNIT_FILE = f"{UNIT_DIR}/{UNIT}"
WANTS = f"{UNIT_DIR}/sysinit.target.wants/{UNIT}"
# where a distribution's own units live, and those that make host keys at boot
SYSTEM_UNIT_DIRS = ("usr/lib/systemd/system", "lib/systemd/system", UNIT_DIR)
KEY_UNITS = ("sshd-keygen.service", "sshd-keygen@.service", "ssh-keygen.service")
SSH_UNITS = ("ssh.service", "sshd.service", "ssh@.service", "sshd@.service")
SSHD = ("usr/sbin/sshd", "usr/bin/sshd", "sbin/sshd")

UNIT_TEXT = f"""\
# Installed by sysprep --generalize --no-boot-passes: generalize removed the template's SSH
# host keys and nothing else in this image makes new ones, so this unit makes them at the
# next boot (ssh-keygen -A), then removes itself. Shell only.
[Unit]
Description=Generate the SSH host keys of this clone (sysprep)
DefaultDependencies=no
Wants=local-fs.target
After=local-fs.target systemd-remount-fs.service systemd-random-seed.service
Before=sysinit.target shutdown.target
Before=ssh.service sshd.service ssh.socket sshd.socket
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'ssh-keygen -A && rm -f /{WANTS} /{UNIT_FILE}'
StandardOutput=journal+console
# ssh-keygen takes seconds; a stuck one must not hold the boot
TimeoutStartSec=10min

[Install]
WantedBy=sysinit.target
"""


def key_maker(fs: Confined) -> str | None:
    """What in the image makes SSH host keys at boot (None: nothing)."""
    for folder in SYSTEM_UNIT_DIRS:
        for name in KEY_UNITS:
            if fs.exists(f"{folder}/{name}"):
                return name
        for name in SSH_UNITS:
            text = fs.read_text(f"{folder}/{name}", limit=64 * 1024)
            if text is not None and "ssh-keygen" in text:
                return name
    for cand in ("usr/bin/cloud-init", "usr/local/bin/cloud-init"):
        if fs.exists(cand):
            return "cloud-init"
    return None


def needed(fs: Confined) -> bool:
    """sshd is installed, its host keys are gone and nothing else makes them at boot."""
    if not any(fs.exists(p) for p in SSHD) or fs.glob("etc/ssh/ssh_host_*_key"):
        return False
    return key_maker(fs) is None


def installed(fs: Confined) -> bool:
    return fs.exists(UNIT_FILE)


def install(fs: Confined) -> list[Outcome]:
    """Install and enable the unit where it is needed (systemd images only)."""
    if not needed(fs) or not any(fs.exists(f"{d}/systemd") for d in ("usr/lib/systemd", "lib/systemd")):
        return []
    out = [o for o in (fs.mkdir(f"{UNIT_DIR}/sysinit.target.wants", 0o755),) if o]
    out.append(fs.write(UNIT_FILE, UNIT_TEXT.encode(), mode=0o644))
    if fs.readlink(WANTS) != f"/{UNIT_FILE}":
        out.append(fs.symlink(f"/{UNIT_FILE}", WANTS))
    return out
