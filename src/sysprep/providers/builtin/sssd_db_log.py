"""sssd-db-log: remove the caches and logs of SSSD."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/log/sssd/*", "var/lib/sss/db/*")


PROVIDER = Provider(
    name="sssd-db-log",
    heading="Remove the database and log files of sssd",
    description=(
        "Removes SSSD's cache databases (users, groups and credentials it saw from the "
        "directory) and its logs."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS, files_only=True),),
)
