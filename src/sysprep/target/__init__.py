"""The system being prepared: the live system, an offline root or a disk image.

Opening a target gives its confined file layer and holds its single-instance lock.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from sysprep.errors import UsageError
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import osrelease
from sysprep.target.confined import Confined
from sysprep.target.lock import TargetLock

if TYPE_CHECKING:
    from sysprep.target.image import ImageSession


@dataclass
class Target:
    spec: TargetSpec
    fs: Confined
    os_release: osrelease.OsRelease | None
    image: ImageSession | None = None  # the attached disk image, for an --image target
    notes: list[str] = field(default_factory=list)  # what opening the target had to say

    @property
    def live(self) -> bool:
        return self.spec.kind is TargetKind.LIVE

    @property
    def host_root(self) -> str:
        """Where the root is on the host (for sandboxes and host tools; never to open files)."""
        return self.fs.host_path


def lock_for(spec: TargetSpec, root: str) -> TargetLock:
    if spec.kind is TargetKind.LIVE:
        return TargetLock("live-system", "the live system")
    st = os.stat(root)
    return TargetLock(f"root-{st.st_dev}-{st.st_ino}", spec.describe())


@contextlib.contextmanager
def open_target(spec: TargetSpec, *, dry_run: bool) -> Iterator[Target]:
    """Open (for an image: attach and mount), lock, and yield the target; undo it all after."""
    if spec.kind is TargetKind.IMAGE:
        from sysprep.target.image import open_image

        with (
            open_image(spec, dry_run=dry_run) as session,
            Confined(session.root_path, dry_run=dry_run, own_mounts=session.own_mounts) as fs,
        ):
            yield Target(spec, fs, osrelease.read(fs), image=session, notes=list(session.notes))
        return
    root = "/" if spec.kind is TargetKind.LIVE else spec.root
    if not os.path.isdir(root):
        raise UsageError(f"{root}: not a directory")
    with lock_for(spec, root), Confined(root, dry_run=dry_run) as fs:
        yield Target(spec, fs, osrelease.read(fs))


@contextlib.contextmanager
def open_target_readonly(spec: TargetSpec) -> Iterator[Target]:
    """Open a target to read it only: no lock (a run may be under way), nothing changes."""
    if spec.kind is TargetKind.IMAGE:
        with open_target(spec, dry_run=True) as target:
            yield target
        return
    root = "/" if spec.kind is TargetKind.LIVE else spec.root
    with Confined(root, dry_run=True) as fs:
        yield Target(spec, fs, osrelease.read(fs))
