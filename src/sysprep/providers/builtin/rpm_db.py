"""rpm-db: remove the host-specific files of the RPM database environment."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

# The Berkeley DB environment and locks only: the packages database itself stays. (The
# SQLite database of newer RPM keeps its -wal and -shm files, which may hold data.)
PATHS = ("var/lib/rpm/__db.*", "usr/lib/sysimage/rpm/__db.*", "var/lib/rpm/.rpm.lock")


PROVIDER = Provider(
    name="rpm-db",
    heading="Remove host-specific RPM database files",
    description=(
        "Removes the Berkeley DB environment and lock files of the RPM database, in both of "
        "its places. RPM recreates them when needed; the database of installed packages is "
        "not touched."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*PATHS),),
)
