"""samba-db-log: remove the databases and logs of Samba."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = (
    "var/log/samba/old/*",
    "var/log/samba/*",
    "var/lib/samba/*/*",
    "var/lib/samba/*",
    "var/cache/samba/*",
)


PROVIDER = Provider(
    name="samba-db-log",
    heading="Remove the database and log files of Samba",
    description=(
        "Removes Samba's databases (the machine account secret in secrets.tdb, the domain SID, "
        "the caches of names and users) and its logs: the files in /var/lib/samba, "
        "/var/cache/samba and /var/log/samba, one level deep, as virt-sysprep. A clone must "
        "join a domain under its own name."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS, files_only=True),),
)
