"""Providers shipped inside the target: executables in etc/sysprep/providers.d/<phase>/.

Any language; each runs with SYSPREP_PHASE (and SYSPREP_TARGET: live or offline) in its
environment, its exit status and output logged. In an offline target they run in the
sandbox (sysprep.target.sandbox); in a dry run they are listed, never run.
"""

from __future__ import annotations

import re
import stat

from sysprep.providers.base import Context, Phase, Provider
from sysprep.target.confined import Confined, Outcome
from sysprep.target.sandbox import run_in_target

FOLDER = "etc/sysprep/providers.d"
TIMEOUT = 3600.0
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def discover(fs: Confined) -> list[Provider]:
    found: list[Provider] = []
    for phase in Phase:
        folder = f"{FOLDER}/{phase.value}"
        for name in fs.listdir(folder):
            path = f"{folder}/{name}"
            st = fs.stat(path)
            if st is None or not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
                continue
            if not _FILE.match(name) or name.endswith((".disabled", ".dpkg-old", ".rpmsave", "~")):
                continue
            found.append(_provider(phase, name, path))
    return found


def _provider(phase: Phase, name: str, path: str) -> Provider:
    pname = name.lower()
    return Provider(
        name=pname if pname.startswith("x-") else f"x-{pname}",
        heading=f"Run the image's own {phase.value} provider /{path}",
        description=f"An executable shipped in the target at /{path}. It runs with SYSPREP_PHASE="
        f"{phase.value} in its environment; on an offline target inside a sandbox "
        "whose root is the target, without network.",
        phase=phase,
        run=lambda ctx: _run(ctx, path),
        paths=("/" + path,),
        order=90,
        source=f"target /{path}",
    )


def _run(ctx: Context, path: str) -> None:
    ctx.note(Outcome("run", path, "file"))
    if ctx.dry_run:
        return
    env = {
        "SYSPREP_PHASE": ctx.provider.phase.value,
        "SYSPREP_TARGET": "live" if ctx.target.live else "offline",
    }
    done = run_in_target(ctx.target, ["/" + path], env=env, timeout=TIMEOUT)
    for line in (done.stdout + done.stderr).splitlines():
        ctx.info(f"| {line}")
    if done.returncode != 0:
        ctx.fail(f"/{path} exited with status {done.returncode}")
    else:
        ctx.info(f"/{path} exited with status 0")
