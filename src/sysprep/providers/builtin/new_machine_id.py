"""new-machine-id: at the clone's first boot, make sure it has its own, committed machine ID."""

from __future__ import annotations

import re
import stat
import uuid

from sysprep.providers.base import Context, Phase, Provider
from sysprep.target.sandbox import run_in_target

MACHINE_ID = "etc/machine-id"
DBUS_ID = "var/lib/dbus/machine-id"
_VALID = re.compile(r"^[0-9a-f]{32}$")


def current(ctx: Context) -> str:
    return (ctx.fs.read_text(MACHINE_ID) or "").strip()


def run(ctx: Context) -> None:
    if _VALID.match(current(ctx)):
        ctx.info("the machine ID was generated at this first boot (systemd first-boot semantics)")
    else:
        tool = next(
            (
                t
                for t in ("usr/bin/systemd-machine-id-setup", "bin/systemd-machine-id-setup")
                if ctx.fs.is_file(t)
            ),
            None,
        )
        if tool is not None and not ctx.dry_run:
            done = run_in_target(ctx.target, ["/" + tool])
            if done.returncode != 0:
                ctx.warning(f"systemd-machine-id-setup failed ({done.returncode}); writing an ID")
        if not _VALID.match(current(ctx)):
            ctx.write(MACHINE_ID, uuid.uuid4().hex + "\n", mode=0o444)
        else:
            ctx.info("committed a new machine ID with systemd-machine-id-setup")
    st = ctx.fs.lstat(DBUS_ID)
    if (st is None and ctx.fs.is_dir("var/lib/dbus")) or (
        st is not None
        and stat.S_ISREG(st.st_mode)
        and ctx.fs.read_text(DBUS_ID) != ctx.fs.read_text(MACHINE_ID)
    ):
        ctx.symlink("/etc/machine-id", DBUS_ID)


PROVIDER = Provider(
    name="new-machine-id",
    heading="Give the clone its own machine ID",
    description=(
        "At the first boot of a clone, checks that systemd generated and committed a new "
        "machine ID (the generalized image carries 'uninitialized'); otherwise commits one with "
        "systemd-machine-id-setup, or writes a random one on systems without systemd. The "
        "D-Bus machine ID becomes a link to /etc/machine-id."
    ),
    phase=Phase.SPECIALIZE,
    run=run,
    paths=("/etc/machine-id", "/var/lib/dbus/machine-id"),
    order=10,
)
