"""dovecot-data: remove the state of the Dovecot mail server."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files

PATHS = ("var/lib/dovecot/*",)


def run(ctx: Context) -> None:
    remove_files(ctx, *PATHS)


PROVIDER = Provider(
    name="dovecot-data",
    heading="Remove Dovecot (mail server) data",
    description=(
        "Removes the files Dovecot keeps in /var/lib/dovecot (instance identifiers, "
        "generated SSL parameters, caches). Folders in it are kept, as virt-sysprep does."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p + " (files)" for p in PATHS),
)
