"""The target's systemd: its version, read from the files it installs (one rule for every
part that depends on it: machine-id's first-boot semantics, unit keys newer systemd knows)."""

from __future__ import annotations

import re

from sysprep.target.confined import Confined

# where distributions install systemd's shared library, whose name carries the version
_SHARED = (
    "usr/lib/systemd/libsystemd-shared-*",
    "usr/lib/*/systemd/libsystemd-shared-*",
    "usr/lib64/systemd/libsystemd-shared-*",
    "lib/systemd/libsystemd-shared-*",
)


def version(fs: Confined) -> int | None:
    """The target's systemd version, from its libsystemd-shared-NNN.so; 0 for a systemd of an
    unknown (old) version; None without systemd."""
    for pattern in _SHARED:
        for path in fs.glob(pattern):
            m = re.search(r"libsystemd-shared-(\d+)", path)
            if m:
                return int(m.group(1))
    if any(fs.exists(f"{d}/systemd") for d in ("usr/lib/systemd", "lib/systemd")):
        return 0
    return None
