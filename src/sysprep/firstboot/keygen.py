"""The one unit `--no-boot-passes` may leave in the image: the clone's SSH host keys.

Generalize removes the template's host keys. Where nothing in the image makes new ones at
boot (Fedora's sshd-keygen units, an ssh unit that runs ssh-keygen, cloud-init), sshd would
not start on the clone; this unit runs `ssh-keygen -A` once, early, then removes itself. It is
shell only: the image needs no python3. machine-id needs nothing: it is systemd's own job.
Images without systemd get the same as an OpenRC service or a SysV init script.
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
INIT_SCRIPT = "etc/init.d/sysprep-ssh-keygen"
OPENRC_LINK = "etc/runlevels/boot/sysprep-ssh-keygen"
SYSV_LINK = "etc/rcS.d/S01sysprep-ssh-keygen"

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


OPENRC_TEXT = f"""\
#!/sbin/openrc-run
# Installed by sysprep --generalize --no-boot-passes: this clone's SSH host keys, once.
description="Generate the SSH host keys of this clone (sysprep)"
depend() {{
    need localmount
    before sshd
}}
start() {{
    ebegin "Generating the SSH host keys of this clone"
    ssh-keygen -A && rm -f /{OPENRC_LINK} /{INIT_SCRIPT}
    eend $?
}}
"""

SYSV_TEXT = f"""\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          sysprep-ssh-keygen
# Required-Start:    $local_fs
# Required-Stop:
# X-Start-Before:    ssh sshd
# Default-Start:     S
# Default-Stop:
# Short-Description: Generate the SSH host keys of this clone (sysprep)
### END INIT INFO
# Installed by sysprep --generalize --no-boot-passes: this clone's SSH host keys, once.
case "$1" in
    start) ssh-keygen -A && rm -f /{SYSV_LINK} /{INIT_SCRIPT} ;;
esac
exit 0
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
    for name in ("etc/init.d/sshd", "etc/init.d/ssh"):  # OpenRC's sshd script runs ssh-keygen -A
        text = fs.read_text(name, limit=64 * 1024)
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
    return fs.exists(UNIT_FILE) or fs.exists(INIT_SCRIPT)


def install(fs: Confined) -> list[Outcome]:
    """Install and enable the unit (or init script) where it is needed; nothing on an image
    whose init system is neither systemd, OpenRC nor SysV init."""
    if not needed(fs):
        return []
    if any(fs.exists(f"{d}/systemd") for d in ("usr/lib/systemd", "lib/systemd")):
        return _enable(fs, UNIT_FILE, UNIT_TEXT, 0o644, WANTS)
    if fs.is_dir("etc/runlevels/boot"):
        return _enable(fs, INIT_SCRIPT, OPENRC_TEXT, 0o755, OPENRC_LINK)
    if fs.is_dir("etc/rcS.d"):
        return _enable(fs, INIT_SCRIPT, SYSV_TEXT, 0o755, SYSV_LINK)
    return []


def _enable(fs: Confined, path: str, text: str, mode: int, link: str) -> list[Outcome]:
    out = [
        o
        for o in (
            fs.mkdir(folder, 0o755)
            for folder in dict.fromkeys(p.rsplit("/", 1)[0] for p in (path, link))
        )
        if o
    ]
    out.append(fs.write(path, text.encode(), mode=mode))
    if fs.readlink(link) != f"/{path}":
        out.append(fs.symlink(f"/{path}", link))
    return out
