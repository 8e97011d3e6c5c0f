"""Attaching the files of one guest: raw files directly, other formats through
qemu-storage-daemon's FUSE export, all watched by the guardian process."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from sysprep.errors import RunError, UsageError
from sysprep.run import CLEAN_PATH, spawn
from sysprep.target.image import formats, guardian
from sysprep.target.image.model import Disk, SessionState
from sysprep.target.lock import TargetLock

WORK_PARENTS = ("/run/sysprep/images", "/tmp")
EXPORT_TIMEOUT = 30.0


class AttachSteps(SessionState):
    # -- attach -----------------------------------------------------------------------

    def _locked_files(self) -> list[formats.ImageFile]:
        """The images checked, each given once, each locked for the session."""
        files = [
            formats.check(
                p,
                self.spec.image_format,
                writable=not self.dry_run,
                allow_block=self.spec.allow_block_device,
            )
            for p in self.spec.images
        ]
        seen: set[tuple[int, int]] = set()
        for f in files:
            if (f.dev, f.ino) in seen:
                raise UsageError(
                    f"{f.path} is given twice: --image names each disk of one guest once"
                )
            seen.add((f.dev, f.ino))
        for f in sorted(files, key=lambda f: (f.dev, f.ino)):
            self.cleanup.enter_context(TargetLock(f"image-{f.dev}-{f.ino}", f.path))
        return files

    def _open_disks(self, files: list[formats.ImageFile]) -> None:
        raw_fds = self._raw_fds
        for f in files:
            mode = os.O_RDONLY if self.dry_run or f.format != "raw" else os.O_RDWR
            # O_EXCL on a block device claims it for the session: the host cannot mount it,
            # nor its LVM build on it, meanwhile (a file ignores the flag without O_CREAT)
            fd = os.open(f.path, mode | os.O_CLOEXEC | (os.O_EXCL if f.block else 0))
            raw_fds[f.path] = fd
            busy = formats.in_use(f.path, fd)
            if busy:
                raise UsageError(f"{f.path}: the image is in use by another process: {busy}")
            if f.format == "raw":
                formats.hold(fd, f.path, exclusive=not self.dry_run)
        for f in files:
            if f.format != "raw":
                os.close(raw_fds.pop(f.path))  # qemu-storage-daemon opens (and locks) it
        self._start_guardian(files)
        for i, f in enumerate(files):
            if f.format == "raw":
                fd = raw_fds.pop(f.path)
                self.disks.append(Disk(i, f, f.path, fd, f.size, self.dry_run))
            else:
                export = self._export_path(i)
                fd = os.open(export, (os.O_RDONLY if self.dry_run else os.O_RDWR) | os.O_CLOEXEC)
                self.disks.append(Disk(i, f, export, fd, f.size, self.dry_run))

    def _export_path(self, index: int) -> str:
        return os.path.join(self.workdir, f"disk{index}")

    def _start_guardian(self, files: list[formats.ImageFile]) -> None:
        self.workdir = _make_workdir()
        qsd: list[str] = []
        if any(f.format != "raw" for f in files):
            qsd = self._qsd_argv(files)
        cfg = {
            "workdir": self.workdir,
            "images": [f.path for f in files],
            "qsd": qsd,
            "log": os.path.join(self.workdir, "qemu-storage-daemon.log"),
        }
        source = inspect.getsource(guardian)
        self._guardian = spawn([sys.executable, "-I", "-S", "-c", source, json.dumps(cfg)])
        assert self._guardian.stdout is not None
        started = self._guardian.stdout.readline().strip()
        if not started.isdigit():
            raise RunError("the clean-up helper (guardian) did not start")
        for i, f in enumerate(files):
            if f.format != "raw":
                self._wait_export(self._export_path(i), f.path, int(started), str(cfg["log"]))

    def _qsd_argv(self, files: list[formats.ImageFile]) -> list[str]:
        tool = shutil.which("qemu-storage-daemon", path=CLEAN_PATH)
        if tool is None:
            raise UsageError(
                "qcow2, vmdk, vhdx, vdi and vpc images need qemu-storage-daemon "
                "(Debian: apt install qemu-system-common), or convert the image "
                "to raw"
            )
        argv = [tool]
        ro = self.dry_run
        for i, f in enumerate(files):
            if f.format == "raw":
                continue
            export = self._export_path(i)
            with open(export, "wb"):
                pass
            file_node: dict[str, object] = {
                "driver": "file",
                "node-name": f"file{i}",
                "filename": f.path,
                "read-only": ro,
                "aio": "threads",
            }
            # the format driver opens the image's backing chain itself, always read-only
            fmt_node: dict[str, object] = {
                "driver": f.format,
                "node-name": f"disk{i}",
                "file": f"file{i}",
                "read-only": ro,
            }
            if not ro:
                file_node["discard"] = "unmap"
                fmt_node.update({"discard": "unmap", "detect-zeroes": "unmap"})
            argv += [
                "--blockdev",
                json.dumps(file_node),
                "--blockdev",
                json.dumps(fmt_node),
                "--export",
                json.dumps(
                    {
                        "type": "fuse",
                        "id": f"export{i}",
                        "node-name": f"disk{i}",
                        "mountpoint": export,
                        "writable": not ro,
                        "allow-other": "off",
                    }
                ),
            ]
        return argv

    def _wait_export(self, export: str, image: str, qsd_pid: int, log_path: str) -> None:
        parent_dev = os.stat(self.workdir).st_dev
        deadline = time.monotonic() + EXPORT_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if os.stat(export).st_dev != parent_dev:
                    return
            except OSError:
                pass
            if not _alive(qsd_pid):
                break
            time.sleep(0.02)
        try:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                lines = f.read().strip().splitlines()
        except OSError:
            lines = []
        detail = lines[-1] if lines else "it did not start in time"
        if "lock" in detail.lower():
            raise UsageError(f"{image}: the image is in use by another process ({detail})")
        raise RunError(f"{image}: qemu-storage-daemon could not export the image: {detail}")

    def _close_loops(self) -> None:
        for lo in reversed(self._loops):
            lo.close()
        self._loops.clear()

    def _close_disks(self) -> None:
        for fd in self._raw_fds.values():
            os.close(fd)
        self._raw_fds.clear()
        for d in self.disks:
            if d.fd >= 0:
                os.close(d.fd)
                d.fd = -1

    def _stop_guardian(self) -> None:
        g = self._guardian
        if g is None:
            _remove_empty_tree(self.workdir)
            return
        for pipe in (g.stdin, g.stdout):
            if pipe is not None:
                pipe.close()
        try:
            g.wait(120)
        except subprocess.TimeoutExpired:
            g.kill()
            g.wait()
        self._guardian = None


def _make_workdir() -> str:
    for parent in WORK_PARENTS:
        try:
            os.makedirs(parent, mode=0o700, exist_ok=True)
            return tempfile.mkdtemp(prefix=f"sysprep-{os.getpid()}-", dir=parent)
        except OSError:
            continue
    raise RunError("no folder to mount images in (tried " + ", ".join(WORK_PARENTS) + ")")


def _remove_empty_tree(path: str) -> None:
    if not path or not os.path.isdir(path):
        return
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in filenames:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(dirpath, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
