"""mail-spool: remove the mail in the local mail spool."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/spool/mail/*", "var/mail/*")


PROVIDER = Provider(
    name="mail-spool",
    heading="Remove email from the local mail spool directory",
    description=(
        "Removes every mailbox in /var/spool/mail and /var/mail (cron output, system "
        "notices, users' local mail). The spool folders stay."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
