"""new-ssh-hostkeys: the clone's own SSH host keys, made once, before sshd starts."""

from __future__ import annotations

import os

from sysprep.providers.base import Context, Phase, Provider
from sysprep.target.sandbox import run_in_target

KEYGEN = ("usr/bin/ssh-keygen", "bin/ssh-keygen")
KEY_TYPES = ("rsa", "ecdsa", "ed25519")  # what ssh-keygen -A and cloud-init's cc_ssh make
# sysprep's cloud-init drop-in (sysprep.firstboot.units writes it): it keeps cloud-init's key
# making (cc_ssh in cloud-init.service, ordered before sshd) and only tells it what sysprep did
CLOUD_DROPIN = "etc/cloud/cloud.cfg.d/99-sysprep.cfg"
# cloud-init's systemd generator decides before any unit starts whether cloud-init runs in
# this boot (no datasource found: "disabled"); status.json appears once cloud-init started
CLOUD_ENABLED = "run/cloud-init/enabled"
CLOUD_STARTED = "run/cloud-init/status.json"


def _keygen(ctx: Context) -> str | None:
    if not ctx.fs.is_dir("etc/ssh"):
        ctx.info("no /etc/ssh: OpenSSH is not installed")
        return None
    tool = next((t for t in KEYGEN if ctx.fs.is_file(t)), None)
    if tool is None:
        ctx.info("no ssh-keygen: OpenSSH server is not installed")
    return tool


def cloud_init_makes_keys(ctx: Context) -> bool:
    """cloud-init runs later in this boot and makes the keys itself (making them here too
    would only double the boot's most expensive step)."""
    return (
        ctx.fs.is_file(CLOUD_DROPIN)
        and _this_boot(ctx, CLOUD_ENABLED)
        and not _this_boot(ctx, CLOUD_STARTED)
    )


def _this_boot(ctx: Context, rel: str) -> bool:
    """A file of this boot's /run: live, the running system's own (a tmpfs, which the confined
    layer refuses as not part of the target; a stat reads nothing of the image); offline, the
    root's run folder (what a boot of a root is given)."""
    if ctx.target.live:
        return os.path.isfile("/" + rel)
    return ctx.fs.is_file(rel)


def run(ctx: Context) -> None:
    tool = _keygen(ctx)
    if tool is None:
        return
    if cloud_init_makes_keys(ctx):
        ctx.info("cloud-init runs in this boot: it makes the SSH host keys before sshd starts")
        return
    _generate(ctx, tool)


def make_missing(ctx: Context) -> None:
    """The safety net after cloud-init's turn: a key type it did not make (its ssh module
    disabled, a failure) is made now, so a clone always has its keys, each made once."""
    tool = _keygen(ctx)
    if tool is None or all(ctx.fs.is_file(f"etc/ssh/ssh_host_{t}_key") for t in KEY_TYPES):
        return
    _generate(ctx, tool)


def _generate(ctx: Context, tool: str) -> None:
    before = set(ctx.fs.glob("etc/ssh/ssh_host_*_key"))
    if ctx.dry_run:
        return
    done = run_in_target(ctx.target, ["/" + tool, "-A"])
    if done.returncode != 0:
        ctx.fail(
            f"ssh-keygen -A failed with status {done.returncode}: {done.stderr.strip()[-300:]}"
        )
        return
    made = sorted(set(ctx.fs.glob("etc/ssh/ssh_host_*_key")) - before)
    if not ctx.fs.glob("etc/ssh/ssh_host_*_key"):
        ctx.fail("ssh-keygen -A made no host key")
    for path in made:
        ctx.info(f"generated /{path}")


PROVIDER = Provider(
    name="new-ssh-hostkeys",
    heading="Generate the clone's own SSH host keys",
    description=(
        "At the first boot of a clone, before sshd starts, generates every missing SSH host key "
        "type with the image's own ssh-keygen -A (the generalize phase removed the template's). "
        "When cloud-init runs in that boot, cloud-init makes them instead (before sshd), and "
        "sysprep only makes any type still missing once cloud-init is done."
    ),
    phase=Phase.SPECIALIZE,
    run=run,
    paths=("/etc/ssh/ssh_host_*",),
    order=20,
)
