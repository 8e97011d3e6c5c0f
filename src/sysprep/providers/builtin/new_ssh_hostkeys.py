"""new-ssh-hostkeys: generate the clone's own SSH host keys before sshd starts."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.target.sandbox import run_in_target

KEYGEN = ("usr/bin/ssh-keygen", "bin/ssh-keygen")


def run(ctx: Context) -> None:
    if not ctx.fs.is_dir("etc/ssh"):
        ctx.info("no /etc/ssh: OpenSSH is not installed")
        return
    tool = next((t for t in KEYGEN if ctx.fs.is_file(t)), None)
    if tool is None:
        ctx.info("no ssh-keygen: OpenSSH server is not installed")
        return
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
        "When cloud-init is in the image, sysprep tells it not to regenerate them."
    ),
    phase=Phase.SPECIALIZE,
    run=run,
    paths=("/etc/ssh/ssh_host_*",),
    order=20,
)
