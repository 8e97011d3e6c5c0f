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
import ctypes
import errno
import fcntl
import inspect
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from sysprep.errors import RunError, UsageError, reason
from sysprep.request import TargetSpec
from sysprep.run import CLEAN_PATH, run, spawn
from sysprep.target import osrelease
from sysprep.target.confined import Confined, mount_id_of
from sysprep.target.image import formats, fstab, guardian, loop, lvm, namespace
from sysprep.target.image.cleanup import Cleanup, shielded
from sysprep.target.image.partitions import Partition, PartitionTable, read_table
from sysprep.target.image.probe import Probe, probe
from sysprep.target.lock import Busy, TargetLock
from sysprep.target.mounts import read_mounts

if TYPE_CHECKING:
    from sysprep.log import RunLog

WORK_PARENTS = ("/run/sysprep/images", "/tmp")
EXPORT_TIMEOUT = 30.0
BTRFS_TOP = "5"
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8
_O_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# What a run writes once the deferred work ended: record(root file system, error or "").
Record = Callable[[Confined, str], None]


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


@dataclass
class Disk:
    index: int
    file: formats.ImageFile
    backing: str  # the file loop devices read: the image itself, or its FUSE export
    fd: int
    size: int
    read_only: bool
    table: PartitionTable | None = None

    @property
    def name(self) -> str:
        return f"/dev/sd{_letters(self.index)}"

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset >= self.size or length <= 0:
            return b""
        return os.pread(self.fd, min(length, self.size - offset), offset)


@dataclass
class Volume:
    """A partition, a whole disk or a logical volume: a byte range of one disk."""

    name: str  # /dev/sda2, /dev/vg/lv
    disk: Disk
    offset: int
    size: int
    probe: Probe
    partition: Partition | None = None
    lv: tuple[str, str] | None = None  # (volume group, logical volume)
    unreachable: str = ""  # why sysprep cannot map it (e.g. a striped LV without device-mapper)
    loop: loop.Loop | None = None

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset >= self.size:
            return b""
        return self.disk.read(self.offset + offset, min(length, self.size - offset))

    @property
    def short(self) -> str:
        return self.name[5:] if self.name.startswith("/dev/") else self.name

    def describe(self) -> str:
        kind = self.probe.type or "unknown content"
        return f"{self.name} ({kind})"

    def names(self) -> set[str]:
        """Device names the guest may use for this volume."""
        out = {self.name}
        if self.lv is not None:
            out.add(f"/dev/mapper/{lvm.mapper_name(*self.lv)}")
        return out


@dataclass
class Mounted:
    volume: Volume
    path: str  # host path where it was mounted, for messages and the root's Confined only
    rel: str  # relative to the image's root; "" for the root itself
    options: tuple[str, ...]
    read_only: bool
    extra: tuple[str, ...] = ()  # the options that choose what is mounted (btrfs subvolume)
    fd: int = -1  # O_PATH descriptor of the mount's root, taken when it was mounted
    parent_fd: int = -1  # O_PATH descriptor of the folder holding the mount point
    name: str = ""  # the mount point's name in that folder
    key: tuple[int, int, int | None] = (0, 0, None)  # st_dev, st_ino and mount id of its root


@dataclass
class Finish:
    """How the end of an image session went."""

    error: str  # what failed in unmounting or in the deferred work ("" when nothing did)
    recorded: bool = False  # the run's last step (its image state) was written
    problem: str = ""  # what failed in mounting the root again, recording, unmounting it

    @property
    def failure(self) -> str:
        return "; ".join(x for x in (self.error, self.problem) if x)


@dataclass
class _Recorder:
    record: Record
    holders: list[tuple[Volume, str, tuple[str, ...]]]  # what to mount again below the root


@dataclass
class VolumeGroupInfo:
    vg: lvm.VolumeGroup
    pvs: dict[str, Volume]  # PV UUID -> the volume holding it


@dataclass
class ImageSession:
    spec: TargetSpec
    dry_run: bool
    cleanup: Cleanup
    workdir: str = ""
    disks: list[Disk] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    groups: list[VolumeGroupInfo] = field(default_factory=list)
    mounts: list[Mounted] = field(default_factory=list)
    root: Mounted | None = None
    notes: list[str] = field(default_factory=list)
    deferred: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    say: Callable[[str], None] | None = None
    _recorder: _Recorder | None = None
    _loops: list[loop.Loop] = field(default_factory=list)
    _raw_fds: dict[str, int] = field(default_factory=dict)  # opened, not yet a Disk
    _guardian: subprocess.Popen[bytes] | None = None
    _fs_types: frozenset[str] = field(default_factory=lambda: _kernel_filesystems())
    _btrfs_locks: dict[str, TargetLock] = field(default_factory=dict)
    _trees: dict[tuple[str, str], str] = field(default_factory=dict)  # what is mounted, where

    # -- what the target layer and image providers use --------------------------------

    @property
    def root_path(self) -> str:
        assert self.root is not None
        return self.root.path

    @property
    def own_mounts(self) -> list[str]:
        return [m.rel for m in self.mounts if m.rel]

    def reachable(self) -> list[Volume]:
        return [v for v in self.volumes if not v.unreachable]

    def device(self, vol: Volume) -> str:
        """A block device for the volume (a loop device, attached on first use)."""
        if vol.unreachable:
            raise RunError(f"{vol.name}: {vol.unreachable}")
        if vol.loop is None or vol.loop.fd < 0:
            vol.loop = loop.attach(vol.disk.fd, vol.offset, vol.size, read_only=self.dry_run,
                                   name=f"sysprep:{vol.short}")
            self._loops.append(vol.loop)
        return vol.loop.path

    def mounted(self, vol: Volume) -> list[Mounted]:
        return [m for m in self.mounts if m.volume is vol]

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
        with _confined(self.root_path, self.own_mounts) as fs:
            canonical = _resolved(fs, path)
        holders = [(m.volume, m.rel, m.extra) for m in self.mounts
                   if m.rel and (canonical + "/").startswith(m.rel + "/")]
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
                verbs = [v for v, on in (("zero", self.spec.zero_free_space),
                                         ("discard", self.spec.sparsify)) if on]
                log.step(f"would {' and '.join(verbs)} the free space of {where}")
                continue
            if self.spec.zero_free_space:
                written = _zero_free_space(m.fd, m.key[0])
                log.step(f"wrote zeros over {written // (1024 * 1024)} MiB of free space on {where}")
            if self.spec.sparsify:
                os.sync()
                try:
                    trimmed = _trim(m.fd, m.key[0])
                except OSError as e:
                    log.warning(f"could not discard the free space of {where}: {e.strerror or e}")
                else:
                    log.step(f"discarded the free space of {where}: {_mib(trimmed)} trimmed")

    def _say(self, msg: str) -> None:
        if self.say is not None:
            self.say(msg)

    # -- attach -----------------------------------------------------------------------

    def attach(self) -> None:
        files = [formats.check(p, self.spec.image_format, writable=not self.dry_run)
                 for p in self.spec.images]
        seen: set[tuple[int, int]] = set()
        for f in files:
            if (f.dev, f.ino) in seen:
                raise UsageError(f"{f.path} is given twice: --image names each disk of one guest once")
            seen.add((f.dev, f.ino))
        for f in sorted(files, key=lambda f: (f.dev, f.ino)):
            self.cleanup.enter_context(TargetLock(f"image-{f.dev}-{f.ino}", f.path))
        # unwound in reverse: unmount and deferred work, loops, files, then the guardian
        self.cleanup.callback(self._stop_guardian)
        self.cleanup.callback(self._close_disks)
        self.cleanup.callback(self._close_loops)
        self.cleanup.callback(self._unwind)
        raw_fds = self._raw_fds
        for f in files:
            mode = os.O_RDONLY if self.dry_run or f.format == "qcow2" else os.O_RDWR
            fd = os.open(f.path, mode | os.O_CLOEXEC)
            raw_fds[f.path] = fd
            busy = formats.in_use(f.path, fd)
            if busy:
                raise UsageError(f"{f.path}: the image is in use by another process: {busy}")
            if f.format == "raw":
                formats.hold(fd, f.path, exclusive=not self.dry_run)
        for f in files:
            if f.format == "qcow2":
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
        if any(f.format == "qcow2" for f in files):
            qsd = self._qsd_argv(files)
        cfg = {"workdir": self.workdir, "images": [f.path for f in files], "qsd": qsd,
               "log": os.path.join(self.workdir, "qemu-storage-daemon.log")}
        source = inspect.getsource(guardian)
        self._guardian = spawn([sys.executable, "-I", "-S", "-c", source, json.dumps(cfg)])
        assert self._guardian.stdout is not None
        started = self._guardian.stdout.readline().strip()
        if not started.isdigit():
            raise RunError("the clean-up helper (guardian) did not start")
        for i, f in enumerate(files):
            if f.format == "qcow2":
                self._wait_export(self._export_path(i), f.path, int(started), str(cfg["log"]))

    def _qsd_argv(self, files: list[formats.ImageFile]) -> list[str]:
        tool = shutil.which("qemu-storage-daemon", path=CLEAN_PATH)
        if tool is None:
            raise UsageError("qcow2 images need qemu-storage-daemon (Debian: apt install "
                             "qemu-system-common), or convert the image to raw")
        argv = [tool]
        ro = self.dry_run
        for i, f in enumerate(files):
            if f.format != "qcow2":
                continue
            export = self._export_path(i)
            with open(export, "wb"):
                pass
            file_node: dict[str, object] = {"driver": "file", "node-name": f"file{i}",
                                            "filename": f.path, "read-only": ro, "aio": "threads"}
            fmt_node: dict[str, object] = {"driver": "qcow2", "node-name": f"disk{i}",
                                           "file": f"file{i}", "read-only": ro}
            if not ro:
                file_node["discard"] = "unmap"
                fmt_node.update({"discard": "unmap", "detect-zeroes": "unmap"})
            argv += ["--blockdev", json.dumps(file_node), "--blockdev", json.dumps(fmt_node),
                     "--export", json.dumps({"type": "fuse", "id": f"export{i}", "node-name": f"disk{i}",
                                             "mountpoint": export, "writable": not ro,
                                             "allow-other": "off"})]
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

    # -- scan -------------------------------------------------------------------------

    def scan(self) -> None:
        for disk in self.disks:
            what = f"{disk.file.path} ({disk.name})"
            disk.table = read_table(disk.read, disk.size, what)
            if disk.table.kind == "none":
                self.volumes.append(_probed(Volume(disk.name, disk, 0, disk.size, Probe(""))))
                continue
            for part in disk.table.partitions:
                self.volumes.append(_probed(Volume(f"{disk.name}{part.number}", disk, part.start,
                                                   part.size, Probe(""), partition=part)))
        self._scan_lvm()

    def _scan_lvm(self) -> None:
        found: dict[str, tuple[lvm.VolumeGroup, dict[str, Volume]]] = {}
        pv_volumes = [v for v in self.volumes if v.probe.type == "LVM2_member"]
        for vol in pv_volumes:
            label = lvm.read_label(vol.read, vol.name)
            if label is None:
                continue
            text = lvm.read_metadata_text(vol.read, label, vol.name)
            if text is None:
                self.notes.append(f"{vol.name}: LVM physical volume without metadata: skipped")
                continue
            vg = lvm.volume_group(lvm.parse_text(text, vol.name), vol.name)
            known = found.get(vg.id)
            if known is None or vg.seqno > known[0].seqno:
                found[vg.id] = (vg, known[1] if known else {})
            found[vg.id][1][label.uuid] = vol
        for vg, pvs in found.values():
            self.groups.append(VolumeGroupInfo(vg, pvs))
            for lv in vg.lvs:
                if not lv.visible:
                    continue
                self.volumes.append(self._lv_volume(vg, lv, pvs))

    def _lv_volume(self, vg: lvm.VolumeGroup, lv: lvm.LogicalVolume, pvs: dict[str, Volume]) -> Volume:
        name = f"/dev/{vg.name}/{lv.name}"
        any_pv = next(iter(pvs.values()))
        try:
            pv_key, offset, length = lvm.linear_range(vg, lv)
        except lvm.NotLinear as e:
            return Volume(name, any_pv.disk, 0, 0, Probe(""), lv=(vg.name, lv.name),
                          unreachable=f"{e}; sysprep maps only linear logical volumes (this "
                                      "kernel has no device-mapper)")
        pv = vg.pv(pv_key)
        holder = pvs.get(pv.id) if pv else None
        if holder is None:
            return Volume(name, any_pv.disk, 0, 0, Probe(""), lv=(vg.name, lv.name),
                          unreachable=f"its physical volume {pv.id if pv else pv_key} is not in "
                                      "the images given (add the other disks with --image)")
        if offset + length > holder.size:
            raise lvm.BadMetadata(f"{name} lies outside its physical volume {holder.name}")
        return _probed(Volume(name, holder.disk, holder.offset + offset, length, Probe(""),
                              lv=(vg.name, lv.name)))

    # -- find the root ----------------------------------------------------------------

    def find_root(self) -> tuple[Volume, str | None, osrelease.OsRelease]:
        encrypted = [v for v in self.volumes if v.probe.type == "crypto_LUKS"]
        if encrypted:
            names = ", ".join(v.name for v in encrypted)
            raise UsageError(f"{self._what()}: {names} is encrypted (LUKS); sysprep cannot clean "
                             "what it cannot read, and opening LUKS needs its key and the kernel's "
                             "device-mapper (dm-crypt). Open and mount it yourself and use --root")
        if self.spec.root_fs:
            vol, subvol = self._by_root_fs(self.spec.root_fs)
            found = self._os_in(vol, subvol)
            if not found:
                raise UsageError(f"--root-fs {self.spec.root_fs}: no operating system there "
                                 "(no etc/os-release)")
            if len(found) > 1:
                choices = ", ".join(f"{vol.name}:{s}" for s, _ in found)
                raise UsageError(f"--root-fs {self.spec.root_fs}: several systems in its "
                                 f"subvolumes; choose one of {choices}")
            return vol, found[0][0], found[0][1]
        roots: list[tuple[Volume, str | None, osrelease.OsRelease]] = []
        for vol in self.volumes:
            if vol.probe.linux_fs and not vol.unreachable:
                roots.extend((vol, s, rel) for s, rel in self._os_in(vol, None))
        if len(roots) == 1:
            return roots[0]
        if len(roots) > 1:
            listing = ", ".join(f"{v.name}{':' + s if s else ''} ({r.pretty_name})" for v, s, r in roots)
            raise UsageError(f"{self._what()}: several operating systems found: {listing}; choose "
                             "one with --root-fs DEV")
        raise UsageError(self._no_os_message())

    def _what(self) -> str:
        return ", ".join(d.file.path for d in self.disks)

    def _no_os_message(self) -> str:
        contents = [v.describe() + (f": {v.unreachable}" if v.unreachable else "") for v in self.volumes]
        if not any(v.probe.type for v in self.volumes) and all(
                d.table is not None and d.table.kind == "none" for d in self.disks):
            return (f"{self._what()}: not a disk image (no partition table and no file system "
                    "found)")
        linux = [v for v in self.volumes if v.probe.linux_fs]
        unknown = [v for v in self.volumes if not v.probe.type or not v.probe.linux_fs]
        if not linux:
            return (f"{self._what()}: no Linux file system found (sysprep reads ext2/3/4, xfs and "
                    f"btrfs); the image holds {', '.join(contents) or 'nothing'}")
        hint = f"; also {', '.join(v.describe() for v in unknown)}" if unknown else ""
        hint += "".join(f"; {note}" for note in self.notes)
        return (f"{self._what()}: no operating system found: none of "
                f"{', '.join(v.describe() for v in linux)} has etc/os-release{hint}")

    def _by_root_fs(self, text: str) -> tuple[Volume, str | None]:
        dev, _, subvol = text.partition(":")
        ref = fstab.device_ref(dev)  # UUID=, LABEL=, PARTUUID=, PARTLABEL= or /dev/...
        vol = self.lookup(ref if ref.kind != "none" else fstab.device_ref("/dev/" + dev))
        if vol is None:
            names = ", ".join(v.describe() for v in self.volumes)
            raise UsageError(f"--root-fs {text}: no such volume in the image (it has {names}; "
                             "name one as /dev/sdXN, UUID=, LABEL=, PARTUUID= or PARTLABEL=)")
        if vol.unreachable:
            raise UsageError(f"--root-fs {text}: {vol.unreachable}")
        if not vol.probe.linux_fs:
            raise UsageError(f"--root-fs {text}: {vol.describe()} is not a Linux file system")
        if subvol and vol.probe.type != "btrfs":
            raise UsageError(f"--root-fs {text}: {vol.describe()} is not btrfs, so it has no "
                             f"subvolume {subvol!r}: give --root-fs {dev}")
        return vol, subvol or None

    def _os_in(self, vol: Volume, subvol: str | None) -> list[tuple[str | None, osrelease.OsRelease]]:
        """Operating systems on a file system (btrfs: in its subvolumes too), mounted read-only."""
        if not self._supported(vol):
            return []
        point = tempfile.mkdtemp(prefix="probe-", dir=self.workdir)
        top = vol.probe.type == "btrfs" and subvol is None
        opts = ("subvolid=" + BTRFS_TOP,) if top else (("subvol=" + subvol,) if subvol else ())
        try:
            mnt = self._mount_in_workdir(vol, os.path.basename(point), read_only=True, extra=opts,
                                         track=False)
        except RunError as e:  # a damaged file system need not stop the search for the root
            self.notes.append(str(e))
            with contextlib.suppress(OSError):
                os.rmdir(point)
            return []
        found: list[tuple[str | None, osrelease.OsRelease]] = []
        try:
            rel = _os_release_at(point)
            if rel is not None:
                found.append((subvol, rel))
            if top:
                for name in sorted(os.listdir(point)):
                    path = os.path.join(point, name)
                    st = os.lstat(path)
                    if stat.S_ISDIR(st.st_mode) and st.st_ino == 256:  # a subvolume's root
                        rel = _os_release_at(path)
                        if rel is not None:
                            found.append((name, rel))
        finally:
            self._unmount(mnt)
            os.rmdir(point)
        return found

    # -- mount ------------------------------------------------------------------------

    def mount_root_and_fstab(self, vol: Volume, subvol: str | None) -> None:
        point = os.path.join(self.workdir, "root")
        os.mkdir(point, 0o755)
        opts = ("subvol=" + subvol,) if subvol else ()
        self.root = self._mount_in_workdir(vol, "root", read_only=self.dry_run, extra=opts)
        with _confined(point, []) as fs:
            text = fs.read_text("etc/fstab", limit=1024 * 1024) or ""
        local = [e for e in fstab.parse(text) if e.local]
        root_line = next((f" (fstab line {e.line})" for e in local if not e.rel), "")
        self._trees[_tree(vol, opts)] = f"the root{root_line}"
        entries = [e for e in local if e.rel]
        entries.sort(key=lambda e: (e.rel.count("/"), e.line))
        for e in entries:
            self._mount_entry(e)

    def _mount_entry(self, e: fstab.Entry) -> None:
        where = f"fstab line {e.line} ({e.spec} on {e.point})"
        vol = self.lookup(fstab.device_ref(e.spec))
        if vol is None:
            self.notes.append(f"{where}: not in the image's disks; not mounted")
            return
        if vol.unreachable:
            raise UsageError(f"{self._what()}: {where}: {vol.name} {vol.unreachable}")
        if not vol.probe.type:
            self.notes.append(f"{where}: {vol.name} holds no known file system; not mounted")
            return
        if not self._supported(vol):
            self.notes.append(f"{where}: this kernel cannot mount {vol.probe.type}; not mounted "
                              "(its files are not cleaned)")
            return
        with _confined(self.root_path, self.own_mounts) as fs:
            canonical = fs.realpath(e.rel)
            is_dir = canonical is not None and fs.is_dir(canonical)
            if canonical is None or not is_dir:
                self.notes.append(f"{where}: the mount point does not exist in the image; not mounted")
                return
            if canonical == "" or canonical in self.own_mounts:
                self.notes.append(f"{where}: mount point already used; not mounted again")
                return
            parent, _, name = canonical.rpartition("/")
            parent_fd = fs.open_dir(parent)
        extra = tuple(o for o in e.options if o.split("=", 1)[0] in ("subvol", "subvolid"))
        first = self._trees.setdefault(_tree(vol, extra), where)
        if first != where:
            os.close(parent_fd)
            # the same files twice in the tree: a provider cleaning one place (logfiles in
            # /var/log) would empty the other (the whole root)
            raise UsageError(f"{self._what()}: {where} mounts {vol.name} again, already mounted "
                             f"as {first}; a volume mounted twice would be cleaned through both "
                             "places: fix the image's fstab")
        try:
            self._mount(vol, parent_fd, name, os.path.join(self.root_path, canonical), canonical,
                        read_only=self.dry_run, extra=extra)
        finally:
            os.close(parent_fd)

    def lookup(self, ref: fstab.DeviceRef) -> Volume | None:
        """The volume an fstab/crypttab source names, among the image's own volumes."""
        for vol in self.volumes:
            p = vol.probe
            if ref.kind == "uuid" and p.uuid and p.uuid.lower() == ref.value:
                return vol
            if ref.kind == "label" and p.label and p.label == ref.value:
                return vol
            part = vol.partition
            if part is not None and ref.kind == "partuuid" and part.uuid.lower() == ref.value:
                return vol
            if part is not None and ref.kind == "partlabel" and part.name and part.name == ref.value:
                return vol
            if ref.kind == "path" and ref.value in vol.names():
                return vol
        if ref.kind == "path":
            pos = fstab.disk_and_partition(ref.value)
            if pos is not None:
                index, number = pos
                for vol in self.volumes:
                    if vol.lv is None and vol.disk.index == index and (
                            (vol.partition is None and number == 0)
                            or (vol.partition is not None and vol.partition.number == number)):
                        return vol
        return None

    def _supported(self, vol: Volume) -> bool:
        if vol.probe.type == "btrfs" and vol.probe.devices > 1:
            self.notes.append(f"{vol.name}: btrfs spanning {vol.probe.devices} devices is not supported")
            return False
        return vol.probe.type in self._fs_types or (vol.probe.type in ("ext2", "ext3")
                                                    and "ext4" in self._fs_types)

    def _mount_in_workdir(self, vol: Volume, name: str, *, read_only: bool,
                          extra: tuple[str, ...] = (), track: bool = True) -> Mounted:
        """Mount on a folder of our work folder: the root, or a probe of a file system."""
        workdir_fd = os.open(self.workdir, _O_PATH_DIR)
        try:
            return self._mount(vol, workdir_fd, name, os.path.join(self.workdir, name), "",
                               read_only=read_only, extra=extra, track=track)
        finally:
            os.close(workdir_fd)

    def _mount(self, vol: Volume, parent_fd: int, name: str, path: str, rel: str, *,
               read_only: bool, extra: tuple[str, ...] = (), track: bool = True) -> Mounted:
        """Mount the volume on the folder `name` of the folder open as `parent_fd`.

        mount(8) is given the mount point as /proc/PID/fd/N, not canonicalized: the kernel
        mounts on that very folder. The new mount's root is then opened through the same
        folder and checked to be the mount just made; that descriptor and the parent's are
        what the zero-fill, the discard and the unmount use later."""
        dev = self.device(vol)
        fstype = vol.probe.type
        if fstype in ("ext2", "ext3") and fstype not in self._fs_types:
            fstype = "ext4"
        opts = [*mount_options(fstype, read_only), *extra]
        if fstype == "btrfs":
            self._btrfs_lock(vol)
        try:
            point_fd = os.open(name, _O_PATH_DIR, dir_fd=parent_fd)
        except OSError as e:
            raise RunError(f"cannot mount {vol.describe()} on /{rel}: {e.strerror}") from None
        try:
            below = mount_id_of(point_fd)
            point = f"/proc/{os.getpid()}/fd/{point_fd}"
            tries = [opts]
            if fstype == "btrfs" and read_only:  # kernels before 5.9 know only the old name
                tries.append([o if o != "rescue=nologreplay" else "nologreplay" for o in opts])
            for opts in tries:
                result = run(["mount", "--no-canonicalize", "-t", fstype, "-o", ",".join(opts), dev,
                              point], check=False)
                if result.returncode == 0:
                    break
        finally:
            os.close(point_fd)
        if result.returncode != 0:
            why = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
            raise RunError(f"cannot mount {vol.describe()} of {vol.disk.file.path}: {why[0]}")
        mnt = Mounted(vol, path, rel, tuple(opts), read_only, extra=extra, name=name)
        try:
            mnt.fd = os.open(name, _O_PATH_DIR, dir_fd=parent_fd)
            mnt.parent_fd = os.dup(parent_fd)
            mnt.key = _identity(mnt.fd)
        except OSError as e:
            _close(mnt)
            _detach_above(parent_fd, name, below)
            raise RunError(f"cannot open the root of {vol.describe()}: {e.strerror}") from None
        mount_id = mnt.key[2]
        if mount_id is None or mount_id == below or not _mounted_from(mount_id, dev):
            _close(mnt)
            _detach_above(parent_fd, name, below)
            raise RunError(f"cannot mount {vol.describe()}: the mount is not where it was made")
        if track:
            self.mounts.append(mnt)
        return mnt

    def _unmount(self, mnt: Mounted) -> None:
        """Unmount through the folder that held the mount point (its descriptor) and the
        mount point's name there, once that name leads to this mount's root again."""
        if mnt.fd < 0:
            return  # unmounted already, or detached after a failure
        try:
            now = os.open(mnt.name, _O_PATH_DIR, dir_fd=mnt.parent_fd)
            try:
                same = _identity(now) == mnt.key
            finally:
                os.close(now)
        except OSError:
            same = False
        why = ""
        if same:
            os.close(mnt.fd)  # our own descriptor would keep it busy
            mnt.fd = -1
            point = f"/proc/self/fd/{mnt.parent_fd}/{mnt.name}"
            err = _umount2(point, UMOUNT_NOFOLLOW)
            if err:
                _umount2(point, MNT_DETACH | UMOUNT_NOFOLLOW)
                why = os.strerror(err)
        else:  # the mount point was moved: detach this mount itself, by its root
            _umount2(f"/proc/self/fd/{mnt.fd}", MNT_DETACH)
            why = "its mount point was moved or replaced; detached"
        _close(mnt)
        if why:
            raise RunError(f"cannot unmount {mnt.volume.name} (/{mnt.rel}): {why}")
        if mnt in self.mounts:
            self.mounts.remove(mnt)
        if mnt.volume.probe.type == "btrfs" and not self.mounted(mnt.volume):
            # the kernel keeps btrfs devices registered by fsid: forget ours, so that a copy
            # of this image (same fsid) can be mounted next
            if mnt.volume.loop is not None:
                run(["btrfs", "device", "scan", "--forget", mnt.volume.loop.path], check=False)
            self._btrfs_unlock(mnt.volume)

    def _btrfs_lock(self, vol: Volume) -> None:
        """Copies of one btrfs image share its fsid: the kernel mounts one at a time."""
        key = vol.probe.uuid
        if key in self._btrfs_locks:
            return
        lock = TargetLock(f"btrfs-{key}", f"btrfs fsid {key}")
        try:
            lock.acquire()
        except Busy:
            self._say(f"waiting for another image with btrfs fsid {key} to be unmounted")
            lock.acquire(wait=True)
        self._btrfs_locks[key] = lock

    def _btrfs_unlock(self, vol: Volume) -> None:
        lock = self._btrfs_locks.pop(vol.probe.uuid, None)
        if lock is not None:
            lock.release()

    # -- unwind -----------------------------------------------------------------------

    def _unmount_each(self, mounts: list[Mounted]) -> list[str]:
        """Unmount these, the last mounted first; what failed."""
        errors = []
        for mnt in reversed(list(mounts)):
            try:
                self._unmount(mnt)
            except RunError as e:
                errors.append(str(e))
        return errors

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
            root = self._mount_in_workdir(self.root.volume, "root", read_only=False,
                                          extra=self.root.extra)
            again.append(root)
            for vol, rel, extra in recorder.holders:
                with _confined(root.path, [m.rel for m in again if m.rel]) as fs:
                    parent, _, name = rel.rpartition("/")
                    parent_fd = fs.open_dir(parent)
                try:
                    again.append(self._mount(vol, parent_fd, name, os.path.join(root.path, rel), rel,
                                             read_only=False, extra=extra))
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


def mount_options(fstype: str, read_only: bool) -> list[str]:
    """Options that never let the mount change the image in a dry run, nor trust its devices."""
    opts = ["nodev", "nosuid"]
    if fstype == "xfs":
        opts.append("nouuid")  # copies of one image share the UUID; XFS refuses twins otherwise
    if read_only:
        opts.append("ro")
        # a plain read-only mount still replays the journal: forbid it
        opts.append({"xfs": "norecovery", "btrfs": "rescue=nologreplay"}.get(fstype, "noload"))
    return opts


def _zero_free_space(root_fd: int, st_dev: int) -> int:
    """Fill the file system's free space with zeros, then free it again; returns bytes.

    The file is made in the mount's root by its descriptor, and checked to be on it."""
    name = f".sysprep-zero-{os.getpid()}-{time.monotonic_ns()}"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                 dir_fd=root_fd)
    written = 0
    chunk = bytes(4 * 1024 * 1024)
    try:
        os.unlink(name, dir_fd=root_fd)  # nothing is left behind, even if we are killed while writing
        if os.fstat(fd).st_dev != st_dev:
            raise RunError("internal error: the zero-fill file is not on the file system it fills")
        while True:
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    break
                raise
            if n == 0:
                break
            written += n
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


FITRIM = 0xC0185879  # _IOWR('X', 121, struct fstrim_range)


def _trim(root_fd: int, st_dev: int) -> int:
    """Discard the free space of the file system whose root is open as `root_fd` (the FITRIM
    ioctl fstrim uses, on that very folder, not on a path); returns the bytes discarded."""
    fd = os.open(f"/proc/self/fd/{root_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if os.fstat(fd).st_dev != st_dev:
            raise RunError("internal error: the file system to discard is not the one mounted")
        arg = bytearray(struct.pack("QQQ", 0, 2**64 - 1, 0))  # start, length, minimum extent
        fcntl.ioctl(fd, FITRIM, arg)
        return int(struct.unpack("QQQ", arg)[1])  # the kernel puts what it discarded in length
    finally:
        os.close(fd)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"


def _resolved(fs: Confined, path: str) -> str:
    """`path` canonical inside the root, as far as it exists; the rest as it is written (a
    removed folder is made again where its name says)."""
    parts = [p for p in path.strip("/").split("/") if p]
    for i in range(len(parts), -1, -1):
        found = fs.realpath("/".join(parts[:i]))
        if found is not None:
            return "/".join(p for p in (found, *parts[i:]) if p)
    return "/".join(parts)


def _detach_above(parent_fd: int, name: str, below: int | None) -> None:
    """After a mount that cannot be used: detach what is mounted on `name`, if anything is."""
    try:
        fd = os.open(name, _O_PATH_DIR, dir_fd=parent_fd)
    except OSError:
        return
    try:
        mounted = mount_id_of(fd) != below
    finally:
        os.close(fd)
    if mounted:
        _umount2(f"/proc/self/fd/{parent_fd}/{name}", MNT_DETACH | UMOUNT_NOFOLLOW)


def _probed(vol: Volume) -> Volume:
    """The volume with what its content is, read through its own byte range."""
    vol.probe = probe(vol.read, vol.size)
    return vol


def _identity(fd: int) -> tuple[int, int, int | None]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, mount_id_of(fd)


def _mounted_from(mount_id: int, dev: str) -> bool:
    """Whether the mount with this id is of the block device `dev`."""
    return any(m.mount_id == mount_id and m.source == dev for m in read_mounts())


def _umount2(path: str, flags: int) -> int:
    """umount2(2) in this process (so /proc/self/fd paths are ours): 0 or the errno."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(os.fsencode(path), ctypes.c_int(flags)) == 0:
        return 0
    return ctypes.get_errno() or errno.EIO


def _close(mnt: Mounted) -> None:
    for attr in ("fd", "parent_fd"):
        fd = getattr(mnt, attr)
        if fd >= 0:
            os.close(fd)
            setattr(mnt, attr, -1)


def _tree(vol: Volume, options: tuple[str, ...]) -> tuple[str, str]:
    """What a mount shows of a volume: the whole file system, or one btrfs subvolume (those of
    one volume are different trees and may each be mounted)."""
    if vol.probe.type != "btrfs":
        return vol.name, ""
    for o in options:
        key, _, value = o.partition("=")
        if key == "subvol":
            return vol.name, value.strip("/")
        if key == "subvolid":
            return vol.name, f"id {value}"
    return vol.name, ""  # the default subvolume


def _os_release_at(path: str) -> osrelease.OsRelease | None:
    with _confined(path, []) as fs:
        rel = osrelease.read(fs)
        if rel is None and fs.lstat("etc/os-release") is not None and fs.exists("etc/fstab"):
            # etc/os-release links into a separate /usr: still the root of a system
            return osrelease.OsRelease("linux", "", "Linux (separate /usr)")
        return rel


def _confined(path: str, own: list[str]) -> Confined:
    return Confined(path, dry_run=True, own_mounts=own)


def _kernel_filesystems() -> frozenset[str]:
    try:
        with open("/proc/filesystems", encoding="ascii") as f:
            return frozenset(line.split()[-1] for line in f if line.strip())
    except OSError:
        return frozenset({"ext4", "xfs", "btrfs"})


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


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
