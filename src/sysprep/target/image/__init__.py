"""Disk images as targets: raw and qcow2 files, attached without an appliance VM.

`open_image()` attaches the disks of one guest, finds its root, mounts its own file systems
privately and yields an ImageSession; everything is undone when it returns, and a guardian
process undoes it if sysprep dies. The operations on the image's volumes that providers use
(new UUIDs, swap recreation) are public here; the modules below are the engine's own.
"""

from __future__ import annotations

from sysprep.target.image.ops import UUID_TYPES, new_pv_uuid, new_vg_uuid, recreate_swap, set_uuid
from sysprep.target.image.session import ImageSession, Mounted, Volume, open_image

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
