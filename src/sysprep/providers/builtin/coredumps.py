"""coredumps: remove the core dumps systemd-coredump kept."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/lib/systemd/coredump/*", "var/lib/apport/coredump/*")


PROVIDER = Provider(
    name="coredumps",
    heading="Remove the core dumps kept by systemd-coredump",
    description=(
        "Removes the core dumps of crashed programs in /var/lib/systemd/coredump (and "
        "apport's in /var/lib/apport/coredump): memory images that may hold secrets of this "
        "machine. The folders stay."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*PATHS),),
)
