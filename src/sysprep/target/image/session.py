"""One opened disk image (the disks of one guest): attached, inspected, mounted, and undone.

Attach: a raw file is read directly; a qcow2 file through qemu-storage-daemon's FUSE export
(no kernel module needed). Every partition, and every linear LVM logical volume, becomes a
loop device over its byte range (autoclearing), so neither partition scanning nor
device-mapper is needed. Inspect: the root is the file system with an os-release; the rest
is mounted as the root's fstab says, on directories resolved inside the root by the
confined layer. Everything lives in a private mount namespace, is tracked by one exit stack
and is watched by the guardian, which cleans up if sysprep dies.

Image code (its providers, answer-file commands) runs with the image's root bound read-write:
it can rename folders and plant symbolic links. So a mount is made, used (zero-fill, discard)
and unmounted through descriptors taken when it was made, never through a host path again.
Work deferred until the file systems are unmounted (new UUIDs) comes last; a run that hands
the session its final image state has it written only after that work, on the root file
system mounted again for the purpose.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Callable, Iterator

from sysprep.errors import RunError, reason
from sysprep.request import TargetSpec
from sysprep.target.confined import Confined
from sysprep.target.image import namespace
from sysprep.target.image.attach import AttachSteps
from sysprep.target.image.cleanup import Cleanup, shielded
from sysprep.target.image.freespace import mib, trim, zero_free_space
from sysprep.target.image.inspection import InspectSteps
from sysprep.target.image.model import (
    Disk,
    Finish,
    Mounted,
    Record,
    SessionState,
    Volume,
    VolumeGroupInfo,
    _Recorder,
)
from sysprep.target.image.mount import mount_options, read_only_view

if TYPE_CHECKING:
    from sysprep.log import RunLog

__all__ = [
    "Disk",
    "Finish",
    "ImageSession",
    "Mounted",
    "Record",
    "SessionState",
    "Volume",
    "VolumeGroupInfo",
    "mount_options",
    "open_image",
]


class ImageSession(InspectSteps, AttachSteps):
    """One opened image: the steps, and what a run does with them (defer, record, finish)."""

    def attach(self) -> None:
        files = self._locked_files()
        # unwound in reverse: unmount and deferred work, loops, files, then the guardian
        self.cleanup.callback(self._stop_guardian)
        self.cleanup.callback(self._close_disks)
        self.cleanup.callback(self._close_loops)
        self.cleanup.callback(self._unwind)
        self._open_disks(files)

    def defer(self, what: str, action: Callable[[], None]) -> None:
        """Run `action` after every file system is unmounted (e.g. to change a UUID)."""
        if self.dry_run:
            raise RunError(f"internal error: {what} deferred in a dry run")
        self.deferred.append((what, action))

    @property
    def has_deferred(self) -> bool:
        """Whether some work waits until the file systems are unmounted."""
        return bool(self.deferred)

    @property
    def recording(self) -> bool:
        """Whether a run handed its last step (its final image state) to the session."""
        return self._recorder is not None

    def record_when_done(self, path: str, record: Record) -> None:
        """Hand over a run's last step: once the deferred work is done, the root file system
        (and those of the image's mounts that hold `path`) is mounted again read-write and
        record(fs, error) is called, error being "" when everything succeeded and what failed
        otherwise. Until then the image keeps the state the run left it in."""
        with read_only_view(self.root_path, self.own_mounts) as fs:
            canonical = _resolved(fs, path)
        holders = [
            (m.volume, m.rel, m.extra)
            for m in self.mounts
            if m.rel and (canonical + "/").startswith(m.rel + "/")
        ]
        self._recorder = _Recorder(record, holders)

    def finish(self) -> Finish:
        """Unmount every file system and do the deferred work; then, when a run handed over
        its last step, mount the root again for it. Says what failed, and whether the run's
        last step was done."""
        with shielded():  # Ctrl+C must not stop tune2fs half-way
            errors = []
            for step in (self._unmount_all, self._run_deferred):
                try:
                    step()
                except (RunError, OSError) as e:
                    errors.append(reason(e))
            done = Finish("; ".join(errors))
            recorder, self._recorder = self._recorder, None
            if recorder is not None:
                done.recorded, problem = self._record(recorder, done.error)
                if problem:
                    done.problem = f"recording the image state: {problem}"
        return done

    def finalize(self, log: RunLog) -> None:
        """After the providers: --zero-free-space and --sparsify on every mounted file system,
        each reached through the descriptor of its root taken when it was mounted."""
        self.say = log.step
        if not (self.spec.sparsify or self.spec.zero_free_space):
            return
        done: set[int] = set()
        for m in self.mounts:
            if id(m.volume) in done or m.fd < 0:
                continue  # btrfs subvolumes of one file system: once is enough
            done.add(id(m.volume))
            where = f"/{m.rel} ({m.volume.name})"
            if self.dry_run:
                verbs = [
                    v
                    for v, on in (
                        ("zero", self.spec.zero_free_space),
                        ("discard", self.spec.sparsify),
                    )
                    if on
                ]
                log.step(f"would {' and '.join(verbs)} the free space of {where}")
                continue
            if self.spec.zero_free_space:
                written = zero_free_space(m.fd, m.key[0])
                log.step(
                    f"wrote zeros over {written // (1024 * 1024)} MiB of free space on {where}"
                )
            if self.spec.sparsify:
                os.sync()
                try:
                    trimmed = trim(m.fd, m.key[0])
                except OSError as e:
                    log.warning(f"could not discard the free space of {where}: {e.strerror or e}")
                else:
                    log.step(f"discarded the free space of {where}: {mib(trimmed)} trimmed")

    def _unmount_all(self) -> None:
        errors = self._unmount_each(self.mounts)
        for lock in self._btrfs_locks.values():
            lock.release()
        self._btrfs_locks.clear()
        if errors:
            raise RunError("; ".join(errors))

    def _run_deferred(self) -> None:
        failed = []
        for what, action in self.deferred:
            try:
                action()
                self._say(what)
            except (RunError, OSError) as e:
                failed.append(f"{what}: {e}")
        self.deferred.clear()
        if failed:
            raise RunError("after unmounting, " + "; ".join(failed))

    def _record(self, recorder: _Recorder, error: str) -> tuple[bool, str]:
        """Mount the root again read-write (with the mounts the record needs), let the run
        record its outcome, and unmount again. Returns whether the record was made and what
        failed ("" when nothing did)."""
        assert self.root is not None
        recorded, problems = False, []
        again: list[Mounted] = []  # tracked meanwhile: a btrfs volume stays locked until the last
        try:
            root = self._mount_in_workdir(
                self.root.volume, "root", read_only=False, extra=self.root.extra
            )
            again.append(root)
            for vol, rel, extra in recorder.holders:
                with read_only_view(root.path, [m.rel for m in again if m.rel]) as fs:
                    parent, _, name = rel.rpartition("/")
                    parent_fd = fs.open_dir(parent)
                try:
                    again.append(
                        self._mount(
                            vol,
                            parent_fd,
                            name,
                            os.path.join(root.path, rel),
                            rel,
                            read_only=False,
                            extra=extra,
                        )
                    )
                finally:
                    os.close(parent_fd)
            with Confined(root.path, own_mounts=[m.rel for m in again if m.rel]) as fs:
                recorder.record(fs, error)
            recorded = True
        except (RunError, OSError) as e:
            problems.append(reason(e))
        finally:
            problems += self._unmount_each(again)
        return recorded, "; ".join(problems)

    def _unwind(self) -> None:
        failure = self.finish().failure
        if failure:
            raise RunError(failure)


def _resolved(fs: Confined, path: str) -> str:
    """`path` canonical inside the root, as far as it exists; the rest as it is written (a
    removed folder is made again where its name says)."""
    parts = [p for p in path.strip("/").split("/") if p]
    for i in range(len(parts), -1, -1):
        found = fs.realpath("/".join(parts[:i]))
        if found is not None:
            return "/".join(p for p in (found, *parts[i:]) if p)
    return "/".join(parts)


@contextlib.contextmanager
def open_image(spec: TargetSpec, *, dry_run: bool) -> Iterator[ImageSession]:
    """Attach, inspect and mount the image; yield the session; undo everything after."""
    namespace.ensure_private()
    with Cleanup() as cleanup:
        session = ImageSession(spec, dry_run, cleanup)
        session.attach()
        session.scan()
        vol, subvol, _rel = session.find_root()
        session.mount_root_and_fstab(vol, subvol)
        yield session
