"""pam-data: remove the runtime data of PAM modules (console, faillock, sepermit)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/run/console/*", "var/run/faillock/*", "var/run/sepermit/*")


PROVIDER = Provider(
    name="pam-data",
    heading="Remove the PAM data in the guest",
    description=(
        "Removes what PAM modules recorded at run time: console ownership (pam_console), "
        "failed log-ins (pam_faillock) and sepermit locks."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*PATHS, files_only=True),),
)
