"""machine-id: leave /etc/machine-id in systemd's first-boot state, so each clone gets its own."""

from __future__ import annotations

import stat

from sysprep.providers.base import Context, Phase, Provider
from sysprep.target import systemd

MACHINE_ID = "etc/machine-id"
DBUS_ID = "var/lib/dbus/machine-id"
FIRST_BOOT = b"uninitialized\n"
# an empty file: systemd makes a new ID at boot and keeps it, but it is no first boot (no
# preset-all, no systemd-firstboot questions): what --no-boot-passes wants, with no sysprep
# unit at the first boot to pin the presets and answer those questions
NEW_ID_NO_FIRST_BOOT = b""
# systemd understands "uninitialized" (a first boot whose ID is committed once) from v247 on.
UNINITIALIZED_SINCE = 247


def systemd_version(ctx: Context) -> int | None:
    """The target's systemd version (sysprep.target.systemd); None without systemd."""
    return systemd.version(ctx.fs)


def run(ctx: Context) -> None:
    version = systemd_version(ctx)
    st = ctx.fs.lstat(MACHINE_ID)
    if version is None:
        ctx.remove(MACHINE_ID)  # no systemd: whatever makes one makes it when missing
    elif not ctx.settings.boot_passes:
        if ctx.fs.read_bytes(MACHINE_ID) != NEW_ID_NO_FIRST_BOOT or (
            st and stat.S_ISLNK(st.st_mode)
        ):
            ctx.write(MACHINE_ID, NEW_ID_NO_FIRST_BOOT, mode=0o444)
    elif version >= UNINITIALIZED_SINCE:
        if ctx.fs.read_bytes(MACHINE_ID) != FIRST_BOOT or (st and stat.S_ISLNK(st.st_mode)):
            ctx.write(MACHINE_ID, FIRST_BOOT, mode=0o444)
    else:
        ctx.remove(MACHINE_ID)  # older systemd: a missing file is what makes a first boot
    dbus = ctx.fs.lstat(DBUS_ID)
    if dbus is not None and stat.S_ISREG(dbus.st_mode):
        ctx.remove(DBUS_ID)  # D-Bus reads /etc/machine-id when its own copy is missing


PROVIDER = Provider(
    name="machine-id",
    heading="Reset the machine ID so that each clone gets its own at first boot",
    description=(
        "Leaves /etc/machine-id in systemd's first-boot state ('uninitialized'; removed for "
        "systemd older than 247 and for images without systemd), so that every clone "
        "generates its own ID at its first boot and units with ConditionFirstBoot= run there. "
        "virt-sysprep empties the file instead, which systemd does not treat as a first boot. "
        "With --no-boot-passes the file is left empty instead: systemd makes a new ID at "
        "boot without a first boot, whose presets and questions nothing of sysprep's would "
        "answer. A D-Bus copy in /var/lib/dbus/machine-id is removed unless it is a link."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=("/" + MACHINE_ID, "/" + DBUS_ID),
    limits="Containers that bind-mount /etc/machine-id from the host are not first-booted by it.",
    order=99,
)
