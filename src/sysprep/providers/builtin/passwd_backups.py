"""passwd-backups: remove the backup copies of the account databases."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/group-", "etc/gshadow-", "etc/passwd-", "etc/shadow-", "etc/subuid-", "etc/subgid-")


PROVIDER = Provider(
    name="passwd-backups",
    heading="Remove /etc/passwd- and similar backup files",
    description=(
        "Removes the copies the shadow tools keep of the account databases before each "
        "change: they still hold removed accounts and old password hashes."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
