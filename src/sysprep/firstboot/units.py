"""The systemd units that run the pending passes at the next boot, and the first-boot guards.

* sysprep-specialize.service: early (after the root is writable and systemd committed the new
  machine ID; before networking, sshd, cloud-init and logins): the specialize pass's identity
  (its providers: machine-id, SSH host keys...) and settings (host name, zone, accounts).
* sysprep-passes.service: later (after networking, before logins and the display manager):
  the specialize pass's RunSynchronous commands (they may use the network and start units),
  then oobeSystem and the welcome, or auditSystem and auditUser.
* Each has a finite start timeout (TimeoutStartSec, a drop-in overrides it) and an
  ExecStopPost that records a timeout or a crash in the image state (UNDEPLOYABLE with
  LastError): a stage never hangs the boot, never fails silently. Only a stage that waits for a
  person (the welcome, audit mode, the audit-mode dialog) has no limit.
* Both are enabled at generalize and disable themselves when nothing is pending.
* systemd-firstboot is held back while sysprep owns the first boot (its questions are
  sysprep's specialize and OOBE), and a preset file pins the template's enabled units so that
  systemd's first-boot preset-all changes nothing.
* cloud-init, when present, makes the SSH host keys in a boot where it runs (sysprep makes them
  otherwise, new_ssh_hostkeys); the drop-in keeps it from deleting keys sysprep made. It sets
  the host name from the instance's metadata, which wins over the answer file's
  ComputerName (docs/first-boot.md). The drop-in goes with the other guards.
"""

from __future__ import annotations

import re
import stat

from sysprep.answer.credentials import NAMES as CREDENTIALS
from sysprep.providers.builtin.new_ssh_hostkeys import CLOUD_DROPIN
from sysprep.target import systemd
from sysprep.target.confined import Confined, Outcome

UNIT_DIR = "etc/systemd/system"
MARKER = "var/lib/sysprep/boot-pending"
SPECIALIZE_UNIT = "sysprep-specialize.service"
PASSES_UNIT = "sysprep-passes.service"
FIRSTBOOT_DROPIN = f"{UNIT_DIR}/systemd-firstboot.service.d/50-sysprep.conf"
PRESET = "etc/systemd/system-preset/00-sysprep-pin.preset"
CLOUD_CFG = CLOUD_DROPIN
AUTOLOGIN_DROPIN = f"{UNIT_DIR}/getty@tty1.service.d/50-sysprep-audit.conf"
DIALOG_UNIT = "sysprep-audit-dialog.service"
# the boot-time commands' systemctl (sysprep.passes.boot), removed with the units
SYSTEMCTL_SHIM = "var/lib/sysprep/bin/systemctl"

# generous: a slow disk or a big answer file is not a failure; a drop-in
# (/etc/systemd/system/UNIT.d/*.conf with [Service] TimeoutStartSec=...) changes it
SPECIALIZE_TIMEOUT = "30min"
PASSES_TIMEOUT = "2h"  # RunSynchronous commands install packages, run updates...
PERSON_TIMEOUT = "infinity"  # the welcome or audit mode waits for a person


def _record_failure(stage: str) -> str:
    """ExecStopPost: a stage that timed out or was killed leaves LastError in the state."""
    return f"ExecStopPost=/usr/sbin/sysprep boot --stage {stage} --record-failure"


IMPORT_CREDENTIAL_SINCE = 254  # systemd 252 warns about ImportCredential= as an unknown key


def _import_credentials(systemd_version: int | None) -> str:
    """The specialize unit's credentials: $CREDENTIALS_DIRECTORY on systemd >= 254; older
    systemd gets none of these lines (sysprep reads /run/credentials/@system there)."""
    if systemd_version is None or systemd_version < IMPORT_CREDENTIAL_SINCE:
        return "# systemd < 254: sysprep reads the system credentials (/run/credentials/@system)"
    return "\n".join(f"ImportCredential={name}" for name in CREDENTIALS)


SPECIALIZE = f"""\
# Installed by sysprep: runs the specialize pass once per clone, then disables itself.
[Unit]
Description=sysprep specialize pass (new machine identity, answer-file settings)
Documentation=file:///usr/lib/sysprep/README
DefaultDependencies=no
ConditionPathExists=/{MARKER}
Wants=network-pre.target
After=local-fs.target systemd-remount-fs.service systemd-machine-id-commit.service
After=systemd-tmpfiles-setup.service systemd-sysusers.service systemd-random-seed.service
After=systemd-udev-trigger.service
Before=sysinit.target network-pre.target shutdown.target
Before=ssh.service sshd.service systemd-networkd.service NetworkManager.service networking.service
Before=cloud-init-local.service cloud-init.service systemd-user-sessions.service getty.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/sysprep boot --stage specialize
{_record_failure("specialize")}
# the per-clone answer and systemd's first-boot credentials in $CREDENTIALS_DIRECTORY
@CREDENTIALS@
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec={SPECIALIZE_TIMEOUT}

[Install]
WantedBy=sysinit.target
"""


def specialize_unit(systemd_version: int | None) -> str:
    """The specialize unit for the image's systemd (sysprep.target.systemd.version)."""
    return SPECIALIZE.replace("@CREDENTIALS@", _import_credentials(systemd_version))


PASSES = f"""\
# Installed by sysprep: runs the specialize pass's commands, then oobeSystem (and the
# welcome) or the audit passes, then disables itself.
[Unit]
Description=sysprep configuration passes (specialize commands, oobeSystem or audit mode)
Documentation=file:///usr/lib/sysprep/README
ConditionPathExists=/{MARKER}
Wants=network-online.target
After={SPECIALIZE_UNIT} basic.target network-online.target systemd-logind.service
After=cloud-config.service
Before=systemd-user-sessions.service getty@tty1.service serial-getty@ttyS0.service
Before=display-manager.service cloud-final.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/sysprep boot --stage passes
{_record_failure("passes")}
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=@TIMEOUT@

[Install]
WantedBy=multi-user.target
"""

FIRSTBOOT = f"""\
# Installed by sysprep: while sysprep's passes are pending, they answer what
# systemd-firstboot would ask on the console (locale, keymap, time zone, root password).
[Unit]
ConditionPathExists=!/{MARKER}
"""

# In a boot where cloud-init runs, its cc_ssh makes the keys (its own types, before sshd); when
# it does not run, sysprep made them early: they are the clone's, not to be deleted
CLOUD = """\
#cloud-config
# Installed by sysprep: keys sysprep's specialize pass made are this clone's own.
ssh_deletekeys: false
"""

DIALOG = f"""\
# Installed by sysprep for audit mode: the Sysprep dialog on the console after the audit
# passes, as in Windows; closing it leaves the console to the root login. Removed when the
# image is resealed to OOBE.
[Unit]
Description=sysprep dialog on the console (audit mode)
Documentation=file:///usr/lib/sysprep/README
ConditionPathExists=!/{MARKER}
After={PASSES_UNIT} systemd-user-sessions.service
Before=getty@tty1.service
Conflicts=shutdown.target

[Service]
Type=oneshot
ExecStart=/usr/sbin/sysprep boot --stage dialog
StandardOutput=journal
StandardError=journal
# a person's dialog: no limit (it changes nothing until a choice is made)
TimeoutStartSec={PERSON_TIMEOUT}

[Install]
WantedBy=multi-user.target
"""

AUTOLOGIN = """\
# Installed by sysprep: audit mode leaves the console at a root login.
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear %I $TERM
"""


def has_systemd(fs: Confined) -> bool:
    return any(fs.exists(f"{d}/systemd") for d in ("usr/lib/systemd", "lib/systemd"))


def enabled_units(fs: Confined) -> list[str]:
    """Unit names enabled in the target (symlinks in the .wants/.requires/.upholds folders)."""
    names: set[str] = set()
    for folder in (
        fs.glob(f"{UNIT_DIR}/*.wants")
        + fs.glob(f"{UNIT_DIR}/*.requires")
        + fs.glob(f"{UNIT_DIR}/*.upholds")
    ):
        for name in fs.listdir(folder):
            st = fs.lstat(f"{folder}/{name}")
            if st is not None and stat.S_ISLNK(st.st_mode):
                names.add(name)
    return sorted(names)


def preset_pin(fs: Confined) -> str:
    """A preset file that keeps every unit as the template has it, whatever first boot does."""
    lines = [
        "# Installed by sysprep: the template's enabled units, so that systemd's first-boot",
        "# preset-all enables nothing the image builder left disabled. Removed when the",
        "# boot-time passes are done.",
    ]
    for name in enabled_units(fs):
        if name in (SPECIALIZE_UNIT, PASSES_UNIT, DIALOG_UNIT):
            continue  # ours, from an earlier (or a crashed) run: not the template's
        m = re.match(r"^(.+@)([^.]+)(\.\w+)$", name)
        if m:
            lines.append(f"enable {m.group(1)}{m.group(3)} {m.group(2)}")
        else:
            lines.append(f"enable {name}")
    lines.append("disable *")
    return "\n".join(lines) + "\n"


def passes_unit(*, person: bool) -> str:
    """The passes unit; `person`: a welcome or audit mode waits at the console, no limit."""
    return PASSES.replace("@TIMEOUT@", PERSON_TIMEOUT if person else PASSES_TIMEOUT)


def install(fs: Confined, *, audit_autologin: bool = False, person: bool = True) -> list[Outcome]:
    """Install and enable the boot-time units and guards (after generalize, before the boot)."""
    out: list[Outcome] = []

    def note(o: Outcome | None) -> None:
        if o is not None:
            out.append(o)

    note(fs.mkdir(UNIT_DIR, 0o755))
    note(
        fs.write(
            f"{UNIT_DIR}/{SPECIALIZE_UNIT}",
            specialize_unit(systemd.version(fs)).encode(),
            mode=0o644,
        )
    )
    note(fs.write(f"{UNIT_DIR}/{PASSES_UNIT}", passes_unit(person=person).encode(), mode=0o644))
    note(fs.mkdir(f"{UNIT_DIR}/sysinit.target.wants", 0o755))
    note(fs.mkdir(f"{UNIT_DIR}/multi-user.target.wants", 0o755))
    # the pin first: it must list the template's units, not ours
    pin = preset_pin(fs)
    note(
        fs.symlink(
            f"/{UNIT_DIR}/{SPECIALIZE_UNIT}", f"{UNIT_DIR}/sysinit.target.wants/{SPECIALIZE_UNIT}"
        )
    )
    note(
        fs.symlink(
            f"/{UNIT_DIR}/{PASSES_UNIT}", f"{UNIT_DIR}/multi-user.target.wants/{PASSES_UNIT}"
        )
    )
    note(fs.mkdir("etc/systemd/system-preset", 0o755))
    note(fs.write(PRESET, pin.encode(), mode=0o644))
    note(fs.mkdir(FIRSTBOOT_DROPIN.rsplit("/", 1)[0], 0o755))
    note(fs.write(FIRSTBOOT_DROPIN, FIRSTBOOT.encode(), mode=0o644))
    if fs.is_dir("etc/cloud"):
        note(fs.mkdir("etc/cloud/cloud.cfg.d", 0o755))
        note(fs.write(CLOUD_CFG, CLOUD.encode(), mode=0o644))
    if audit_autologin:
        out.extend(set_audit_autologin(fs, True))
    note(fs.write(MARKER, b"sysprep boot-time passes are pending\n", mode=0o644))
    return out


def set_audit_autologin(fs: Confined, on: bool) -> list[Outcome]:
    """Audit mode: root logged in on tty1, after the Sysprep dialog (both removed when the
    image is resealed to OOBE)."""
    wants = f"{UNIT_DIR}/multi-user.target.wants/{DIALOG_UNIT}"
    if not on:
        return [
            o
            for o in (
                fs.remove(AUTOLOGIN_DROPIN),
                fs.remove(wants),
                fs.remove(f"{UNIT_DIR}/{DIALOG_UNIT}"),
            )
            if o
        ]
    out = [o for o in (fs.mkdir(AUTOLOGIN_DROPIN.rsplit("/", 1)[0], 0o755),) if o]
    out.append(fs.write(AUTOLOGIN_DROPIN, AUTOLOGIN.encode(), mode=0o644))
    # the Sysprep dialog after the audit passes
    out.append(fs.write(f"{UNIT_DIR}/{DIALOG_UNIT}", DIALOG.encode(), mode=0o644))
    out.extend(o for o in (fs.mkdir(f"{UNIT_DIR}/multi-user.target.wants", 0o755),) if o)
    if fs.readlink(wants) != f"/{UNIT_DIR}/{DIALOG_UNIT}":
        out.append(fs.symlink(f"/{UNIT_DIR}/{DIALOG_UNIT}", wants))
    return out


def disable(fs: Confined) -> list[Outcome]:
    """Nothing is pending any more: the units disable themselves and the guards go."""
    out = []
    for path in (
        f"{UNIT_DIR}/sysinit.target.wants/{SPECIALIZE_UNIT}",
        f"{UNIT_DIR}/multi-user.target.wants/{PASSES_UNIT}",
        PRESET,
        FIRSTBOOT_DROPIN,
        CLOUD_CFG,
        MARKER,
        SYSTEMCTL_SHIM,
    ):
        o = fs.remove(path)
        if o is not None:
            out.append(o)
    return out


def remove_boot_units(fs: Confined) -> list[Outcome]:
    """Everything `install` put in (an earlier run's): nothing of it may run at boot."""
    out = disable(fs)
    for path in (f"{UNIT_DIR}/{SPECIALIZE_UNIT}", f"{UNIT_DIR}/{PASSES_UNIT}"):
        o = fs.remove(path)
        if o is not None:
            out.append(o)
    return out + set_audit_autologin(fs, False)
