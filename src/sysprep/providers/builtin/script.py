"""script: run the host scripts given with --script, with the target root as current directory."""

from __future__ import annotations

import os

from sysprep.errors import RunError
from sysprep.providers.base import Context, Phase, Provider
from sysprep.run import run as run_command
from sysprep.target.confined import Outcome

TIMEOUT = 3600.0


def run(ctx: Context) -> None:
    for script in ctx.settings.option("script"):
        # The record names the host script; it is the same whether or not it ran.
        ctx.note(
            Outcome("run", script.lstrip("/"), "file", detail="host script, in the target root")
        )
        if ctx.dry_run:
            continue
        argv = [script] if os.access(script, os.X_OK) else ["/bin/sh", script]
        env = {
            "SYSPREP_TARGET": "live" if ctx.target.live else "offline",
            "SYSPREP_ROOT": ctx.target.host_root,
        }
        try:
            done = run_command(
                argv, env=env, cwd=ctx.target.host_root, timeout=TIMEOUT, check=False
            )
        except RunError as e:
            ctx.fail(str(e))
            continue
        for line in (done.stdout + done.stderr).splitlines():
            ctx.info(f"| {line}")
        if done.returncode != 0:
            ctx.fail(f"script {script} exited with status {done.returncode}")


PROVIDER = Provider(
    name="script",
    heading="Run arbitrary scripts against the guest",
    description=(
        "Runs each script or program given with --script FILE on the host (not in the "
        "target), with the target's root directory as its current directory, so that "
        "relative paths name the target's files: 'rm etc/resolv.conf' removes the target's, "
        "'rm /etc/resolv.conf' would remove the host's. SYSPREP_ROOT holds the root's path. "
        "A script that is not executable runs with /bin/sh. A script that fails fails the "
        "run. Not run in a dry run (the plan lists it). Does nothing without --script."
    ),
    phase=Phase.CLEANUP,
    run=run,
    order=99,  # after the other cleanup providers
    options=("script",),
    paths=("--script FILE (host), run in the target root",),
    limits="The script runs as root on the host with no sandbox: it is trusted code of the "
    "person running sysprep, and nothing stops it from touching the host.",
)
