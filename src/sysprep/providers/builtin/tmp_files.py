"""tmp-files: empty /tmp and /var/tmp."""

from __future__ import annotations

from sysprep.providers.actions import Clean
from sysprep.providers.base import Phase, Provider

PATHS = ("tmp", "var/tmp")


PROVIDER = Provider(
    name="tmp-files",
    heading="Remove temporary files",
    description=(
        "Removes everything under /tmp and /var/tmp, hidden files included (one action per "
        "folder). The folders themselves stay, with their mode (1777) and owner."
    ),
    phase=Phase.CLEANUP,
    actions=(Clean(*PATHS),),
    limits="On a live system, files programs still use are removed too: shut down soon after.",
)
