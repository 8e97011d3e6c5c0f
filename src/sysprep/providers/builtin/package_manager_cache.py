"""package-manager-cache: remove the downloaded packages and caches of every package manager."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import Phase, Provider

# Each package manager's cache, found by what exists (an image may carry several).
REMOVE = (
    "var/cache/yum/*",
    "var/cache/dnf/*",
    "var/cache/libdnf5/*",  # Red Hat family
    "var/cache/zypp/packages/*",
    "var/cache/zypp/raw/*",
    "var/cache/zypp/solv/*",  # SUSE
    "var/cache/pacman/pkg/*",  # Arch
    "var/cache/apt/*.bin",  # Debian: package lists cache, rebuilt by apt
    "var/cache/urpmi/rpms/*",
    "var/cache/PackageKit/*",
)
# apt expects archives/ and archives/partial/ to exist: only their files go.
FILES_ONLY = ("var/cache/apt/archives",)


PROVIDER = Provider(
    name="package-manager-cache",
    heading="Remove package manager cache",
    description=(
        "Removes downloaded packages and metadata caches of apt, yum, dnf, zypper, pacman "
        "and PackageKit, wherever they exist. apt's archives folder and its partial/ folder "
        "are kept (emptied)."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*REMOVE), Clean(*FILES_ONLY, keep_dirs=True)),
    limits="apt's package lists (/var/lib/apt/lists) are kept, so that the clone can install "
    "packages before its first apt update.",
)
