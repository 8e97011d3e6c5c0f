"""Disk images as targets: raw and qcow2 files, attached without an appliance VM.

`open_image()` attaches the disks of one guest, finds its root, mounts its own file systems
privately and yields an ImageSession; everything is undone when it returns, and a guardian
process undoes it if sysprep dies.
"""

from __future__ import annotations

from sysprep.target.image.session import ImageSession, Mounted, Volume, open_image

__all__ = ["ImageSession", "Mounted", "Volume", "open_image"]
