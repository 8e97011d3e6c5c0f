"""Mounting the image's file systems privately, through descriptors, and unmounting them."""

from __future__ import annotations

import ctypes
import errno
import os

from sysprep.errors import RunError, UsageError
from sysprep.run import run
from sysprep.target.confined import Confined, mount_id_of
from sysprep.target.image import fstab
from sysprep.target.image.model import Mounted, SessionState, Volume
from sysprep.target.lock import Busy, TargetLock
from sysprep.target.mounts import read_mounts

MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8
_O_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class MountSteps(SessionState):
    # -- mount ------------------------------------------------------------------------

    def mount_root_and_fstab(self, vol: Volume, subvol: str | None) -> None:
        point = os.path.join(self.workdir, "root")
        os.mkdir(point, 0o755)
        opts = ("subvol=" + subvol,) if subvol else ()
        self.root = self._mount_in_workdir(vol, "root", read_only=self.dry_run, extra=opts)
        with read_only_view(point, []) as fs:
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
            self.notes.append(
                f"{where}: this kernel cannot mount {vol.probe.type}; not mounted "
                "(its files are not cleaned)"
            )
            return
        with read_only_view(self.root_path, self.own_mounts) as fs:
            canonical = fs.realpath(e.rel)
            is_dir = canonical is not None and fs.is_dir(canonical)
            if canonical is None or not is_dir:
                self.notes.append(
                    f"{where}: the mount point does not exist in the image; not mounted"
                )
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
            raise UsageError(
                f"{self._what()}: {where} mounts {vol.name} again, already mounted "
                f"as {first}; a volume mounted twice would be cleaned through both "
                "places: fix the image's fstab"
            )
        try:
            self._mount(
                vol,
                parent_fd,
                name,
                os.path.join(self.root_path, canonical),
                canonical,
                read_only=self.dry_run,
                extra=extra,
            )
        finally:
            os.close(parent_fd)

    def _supported(self, vol: Volume) -> bool:
        if vol.probe.type == "btrfs" and vol.probe.devices > 1:
            self.notes.append(
                f"{vol.name}: btrfs spanning {vol.probe.devices} devices is not supported"
            )
            return False
        return vol.probe.type in self._fs_types or (
            vol.probe.type in ("ext2", "ext3") and "ext4" in self._fs_types
        )

    def _mount_in_workdir(
        self,
        vol: Volume,
        name: str,
        *,
        read_only: bool,
        extra: tuple[str, ...] = (),
        track: bool = True,
    ) -> Mounted:
        """Mount on a folder of our work folder: the root, or a probe of a file system."""
        workdir_fd = os.open(self.workdir, _O_PATH_DIR)
        try:
            return self._mount(
                vol,
                workdir_fd,
                name,
                os.path.join(self.workdir, name),
                "",
                read_only=read_only,
                extra=extra,
                track=track,
            )
        finally:
            os.close(workdir_fd)

    def _mount(
        self,
        vol: Volume,
        parent_fd: int,
        name: str,
        path: str,
        rel: str,
        *,
        read_only: bool,
        extra: tuple[str, ...] = (),
        track: bool = True,
    ) -> Mounted:
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
                result = run(
                    ["mount", "--no-canonicalize", "-t", fstype, "-o", ",".join(opts), dev, point],
                    check=False,
                )
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

    def _unmount_each(self, mounts: list[Mounted]) -> list[str]:
        """Unmount these, the last mounted first; what failed."""
        errors = []
        for mnt in reversed(list(mounts)):
            try:
                self._unmount(mnt)
            except RunError as e:
                errors.append(str(e))
        return errors


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


def read_only_view(path: str, own: list[str]) -> Confined:
    return Confined(path, dry_run=True, own_mounts=own)
