"""sssd-db-log: remove the caches and logs of SSSD."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files

PATHS = ("var/log/sssd/*", "var/lib/sss/db/*")


def run(ctx: Context) -> None:
    remove_files(ctx, *PATHS)


PROVIDER = Provider(
    name="sssd-db-log",
    heading="Remove the database and log files of sssd",
    description=(
        "Removes SSSD's cache databases (users, groups and credentials it saw from the "
        "directory) and its logs."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p + " (files)" for p in PATHS),
)
