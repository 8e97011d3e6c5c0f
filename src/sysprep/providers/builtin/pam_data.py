"""pam-data: remove the runtime data of PAM modules (console, faillock, sepermit)."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files

PATHS = ("var/run/console/*", "var/run/faillock/*", "var/run/sepermit/*")


def run(ctx: Context) -> None:
    remove_files(ctx, *PATHS)


PROVIDER = Provider(
    name="pam-data",
    heading="Remove the PAM data in the guest",
    description=(
        "Removes what PAM modules recorded at run time: console ownership (pam_console), "
        "failed log-ins (pam_faillock) and sepermit locks."
    ),
    phase=Phase.CLEANUP,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
