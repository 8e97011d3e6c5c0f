"""The confined file layer: every path of a target resolves inside its root, by descriptor.

Paths are resolved component by component from a descriptor of the root, with `O_NOFOLLOW`
at every step; a symbolic link is read and resolved again *inside* the root (an absolute
target starts over at the root, `..` never climbs above it), like `openat2(RESOLVE_IN_ROOT)`.
Foreign mounts under the root (a chroot's /proc, a host folder bound into it) are never
entered. A file with several hard links is replaced, never rewritten in place. Nothing in
this module follows a path given as a string from the host's point of view.

In a dry run the layer changes nothing and keeps an overlay of what it would have done, so
that later operations of the same run see the tree as the real run would.

The layer is split along its seams: paths (its vocabulary: Outcome, Refused, Located),
trust (which mounts are the target's own), overlay (the dry run's planned changes),
resolve (path resolution by descriptor), read (stat, read, list, glob, walk) and change
(Confined: every change). The names below are the public ones.
"""

from __future__ import annotations

from sysprep.target.confined.change import Confined
from sysprep.target.confined.paths import (
    MAX_DEPTH,
    MAX_READ,
    MAX_SYMLINKS,
    Outcome,
    Refused,
    is_temp_name,
    mount_id_of,
    temp_name,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_READ",
    "MAX_SYMLINKS",
    "Confined",
    "Outcome",
    "Refused",
    "is_temp_name",
    "mount_id_of",
    "temp_name",
]
