"""dovecot-data: remove the state of the Dovecot mail server."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/lib/dovecot/*",)


PROVIDER = Provider(
    name="dovecot-data",
    heading="Remove Dovecot (mail server) data",
    description=(
        "Removes the files Dovecot keeps in /var/lib/dovecot (instance identifiers, "
        "generated SSL parameters, caches). Folders in it are kept, as virt-sysprep does."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS, files_only=True),),
)
