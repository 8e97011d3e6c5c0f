"""Disk images as targets: raw and qcow2 files, attached without an appliance VM.

`open_image()` attaches the disks of one guest, finds its root, mounts its own file systems
privately and yields an ImageSession; everything is undone when it returns, and a guardian
process undoes it if sysprep dies. The operations on the image's volumes that providers use
(new UUIDs, swap recreation) are public here; the modules below are the engine's own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sysprep.target.image.ops import (
        UUID_TYPES,
        new_pv_uuid,
        new_vg_uuid,
        recreate_swap,
        set_uuid,
    )
    from sysprep.target.image.session import ImageSession, Mounted, Volume, open_image

# Imported when first used: a module of this package (formats, which the command line's
# option table reads) must not pull in the whole image engine, which a clone's boot-time
# stage never uses (its start-up is most of its cost at first boot: docs/benchmarks.md)
_FROM = {
    "UUID_TYPES": "ops",
    "new_pv_uuid": "ops",
    "new_vg_uuid": "ops",
    "recreate_swap": "ops",
    "set_uuid": "ops",
    "ImageSession": "session",
    "Mounted": "session",
    "Volume": "session",
    "open_image": "session",
}


def __getattr__(name: str) -> Any:
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)


__all__ = [
    "UUID_TYPES",
    "ImageSession",
    "Mounted",
    "Volume",
    "new_pv_uuid",
    "new_vg_uuid",
    "open_image",
    "recreate_swap",
    "set_uuid",
]
