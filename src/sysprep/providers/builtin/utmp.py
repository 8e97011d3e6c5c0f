"""utmp: remove the record of who is logged in."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/run/utmp",)


PROVIDER = Provider(
    name="utmp",
    heading="Remove the utmp file",
    description=(
        "Removes /var/run/utmp, the record of who is logged in. Modern distributions keep it "
        "on a RAM disk, older ones on disk. (wtmp and btmp, the history of log-ins, are "
        "removed by logfiles.)"
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*PATHS),),
)
