"""journal: remove the systemd journal folders named after this machine's ID."""

from __future__ import annotations

import re

from sysprep.providers.base import Context, Phase, Provider

DIRS = ("var/log/journal", "run/log/journal")
_MACHINE_DIR = re.compile(r"^[0-9a-f]{32}(\.[A-Za-z0-9_-]+)?$")  # <machine-id>[.<namespace>]


def run(ctx: Context) -> None:
    for d in DIRS:
        ctx.remove(*(f"{d}/{n}" for n in ctx.fs.listdir(d) if _MACHINE_DIR.match(n)))


PROVIDER = Provider(
    name="journal",
    heading="Remove the systemd journal of this machine",
    description=(
        "Removes the journal folders named after this machine's ID (and its journal "
        "namespaces) in /var/log/journal and /run/log/journal. The journal folder itself "
        "stays, with its owner, group and ACLs. (logfiles removes the same and more; this "
        "one matters when logfiles is disabled.)"
    ),
    phase=Phase.CLEANUP,
    run=run,
    paths=tuple(f"/{d}/<machine-id>*" for d in DIRS),
)
