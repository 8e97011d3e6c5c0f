"""Changing a target: remove, clean, truncate, write, mkdir, symlink, chmod, open for
appending; in a dry run only the overlay records what would change."""

from __future__ import annotations

import os
import stat
from typing import Sequence

from sysprep.target.confined.paths import (
    MAX_DEPTH,
    O_DIR,
    Frame,
    Located,
    Outcome,
    Refused,
    Tally,
    copy_xattrs,
    fchmod_at,
    join,
    kind_of,
    naming,
)
from sysprep.target.confined.read import Reader
from sysprep.target.mounts import Mount


class Confined(Reader):
    """A directory tree opened as the root of a target."""

    def __init__(
        self,
        host_path: str,
        *,
        dry_run: bool = False,
        own_mounts: Sequence[str] | None = None,
        mounts: Sequence[Mount] | None = None,
    ) -> None:
        super().__init__(host_path, dry_run=dry_run)
        # own: the mount points the target's fstab declares (read through the layer, before
        # any mount is trusted), unless the caller (an image session) knows them
        self._trust.load(
            self.host_path, self._fstab_points() if own_mounts is None else own_mounts, mounts
        )

    def __enter__(self) -> Confined:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def protect(self, path: str) -> None:
        """Never remove or clean this directory (and what is in it), whoever asks."""
        st = self.lstat(path)
        if st is not None:
            self._protected.add((st.st_dev, st.st_ino))

    # -- changing ---------------------------------------------------------------------

    def remove(self, path: str) -> Outcome | None:
        """Remove a file, a symlink (never its target) or a whole directory tree."""
        try:
            with self._locate(path, follow=False) as loc:
                if loc.st is None:
                    return None
                if not loc.path:
                    raise Refused("", "refusing to remove the root of the target")
                if stat.S_ISDIR(loc.st.st_mode):
                    return self._remove_dir(loc)
                if loc.parent_fd is None:
                    return None
                if not self.dry_run:
                    try:
                        os.unlink(loc.name, dir_fd=loc.parent_fd)
                    except FileNotFoundError:
                        return None
                    except OSError as e:
                        return Outcome(
                            "remove",
                            loc.path,
                            kind_of(loc.st.st_mode),
                            errors=((loc.path, e.strerror or str(e)),),
                        )
                else:
                    self._overlay.remove(loc.path)
                size = loc.st.st_size if stat.S_ISREG(loc.st.st_mode) else 0
                return Outcome("remove", loc.path, kind_of(loc.st.st_mode), files=1, bytes=size)
        except Refused as r:
            return Outcome("remove", r.path, "other", skipped=((r.path, r.reason),))

    def _remove_dir(self, loc: Located) -> Outcome:
        assert loc.st is not None and loc.parent_fd is not None
        if (loc.st.st_dev, loc.st.st_ino) in self._protected:
            return Outcome("remove", loc.path, "dir", skipped=((loc.path, "protected"),))
        fd = self._open_dir(loc)
        tally = Tally()
        emptied = self._empty(fd, loc.path, tally)
        if emptied:
            if self.dry_run:
                self._overlay.removed.add(loc.path)
            else:
                try:
                    os.rmdir(loc.name, dir_fd=loc.parent_fd)
                except OSError as e:
                    tally.errors.append((loc.path, e.strerror or str(e)))
            tally.dirs += 1
        return Outcome(
            "remove",
            loc.path,
            "dir",
            tally.files,
            tally.dirs,
            tally.bytes,
            tuple(tally.skipped),
            tuple(tally.errors),
        )

    def clean(self, path: str, *, keep_dirs: bool = False) -> Outcome | None:
        """Remove everything inside a directory and keep the directory itself.

        With `keep_dirs`, only files (and symlinks...) go; every sub-directory stays.
        A directory named through a symbolic link is not emptied: anybody who could write in
        the image could otherwise point, say, ~/.cache at / (or /etc) and have it emptied.
        """
        try:
            with self._locate(path, follow=False) as loc:
                if loc.st is not None and stat.S_ISLNK(loc.st.st_mode):
                    return Outcome(
                        "clean",
                        loc.path,
                        "symlink",
                        skipped=((loc.path, "a symbolic link, not followed"),),
                    )
                if loc.st is None or not stat.S_ISDIR(loc.st.st_mode):
                    return None
                if not loc.path:
                    raise Refused("", "refusing to empty the root of the target")
                if (loc.st.st_dev, loc.st.st_ino) in self._protected:
                    return Outcome("clean", loc.path, "dir", skipped=((loc.path, "protected"),))
                fd = self._open_dir(loc)
                tally = Tally()
                self._empty(fd, loc.path, tally, keep_dirs=keep_dirs)
                if self.dry_run and not keep_dirs:
                    self._overlay.cleaned.add(loc.path)
                return Outcome(
                    "clean",
                    loc.path,
                    "dir",
                    tally.files,
                    tally.dirs,
                    tally.bytes,
                    tuple(tally.skipped),
                    tuple(tally.errors),
                    detail="files only; folders kept" if keep_dirs else "",
                )
        except Refused as r:
            return Outcome("clean", r.path, "dir", skipped=((r.path, r.reason),))

    def _empty(self, fd: int, base: str, tally: Tally, *, keep_dirs: bool = False) -> bool:
        """Remove the contents of an open directory (fd is consumed); True when it is empty.

        With `keep_dirs`, sub-directories are emptied of files but kept. This is the loop
        that removes the bulk of a dirty tree: it keeps per-entry work to one lstat (from
        the directory listing's descriptor) and one unlink.
        """
        frames = [Frame(fd, base, "", os.fstat(fd).st_dev, os.scandir(fd))]
        act = not self.dry_run
        visited = [base]  # dry run with keep_dirs: folders whose files the overlay hides
        s_isdir, s_isreg, unlink = stat.S_ISDIR, stat.S_ISREG, os.unlink
        files = size = 0
        try:
            while frames:
                f = frames[-1]
                ffd, fpath = f.fd, f.path
                descended = False
                for entry in f.entries:  # resumes where it stopped when a sub-folder was entered
                    name = entry.name
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if not act and self._hidden(join(fpath, name), st):
                        continue
                    if s_isdir(st.st_mode):
                        child = join(fpath, name)
                        if (st.st_dev, st.st_ino) in self._protected:
                            f.kept = True
                            tally.skipped.append((child, "protected"))
                            continue
                        cfd = self._enter(f, name, child, st)
                        if cfd is None:
                            f.kept = True
                            tally.skipped.append(
                                (
                                    child,
                                    "mount point of a file system that is not part of the target",
                                )
                            )
                            continue
                        if len(frames) >= MAX_DEPTH:
                            os.close(cfd)
                            raise Refused(child, f"directory tree deeper than {MAX_DEPTH} levels")
                        frames.append(Frame(cfd, child, name, st.st_dev, os.scandir(cfd)))
                        if not act and keep_dirs:
                            visited.append(child)
                        descended = True
                        break
                    if act:
                        try:
                            unlink(name, dir_fd=ffd)
                        except FileNotFoundError:
                            continue
                        except OSError as e:
                            tally.errors.append((join(fpath, name), e.strerror or str(e)))
                            f.kept = True
                            continue
                    files += 1
                    if s_isreg(st.st_mode):
                        size += st.st_size
                if descended:
                    continue
                frames.pop()
                os.close(f.fd)
                if frames:
                    parent = frames[-1]
                    if f.kept or keep_dirs:
                        parent.kept = parent.kept or f.kept or keep_dirs
                    else:
                        if act:
                            try:
                                os.rmdir(f.name, dir_fd=parent.fd)
                            except OSError as e:
                                tally.errors.append((f.path, e.strerror or str(e)))
                                parent.kept = True
                                continue
                        tally.dirs += 1
                else:
                    if not act and keep_dirs:
                        self._overlay.files_cleaned.update(visited)
                    return not f.kept
            return True
        finally:
            tally.files += files
            tally.bytes += size
            for f in frames:
                os.close(f.fd)

    def truncate(self, path: str) -> Outcome | None:
        """Empty a regular file, keeping it; a file with other hard links is replaced."""
        try:
            with self._locate(path, follow=False) as loc:
                st = loc.st
                if st is None or loc.parent_fd is None:
                    return None
                if stat.S_ISLNK(st.st_mode):
                    return Outcome(
                        "truncate",
                        loc.path,
                        "symlink",
                        skipped=((loc.path, "a symbolic link, not followed"),),
                    )
                if not stat.S_ISREG(st.st_mode):
                    return Outcome(
                        "truncate",
                        loc.path,
                        kind_of(st.st_mode),
                        skipped=((loc.path, "not a regular file"),),
                    )
                size = (
                    len(self._overlay.written[loc.path])
                    if loc.path in self._overlay.written
                    else st.st_size
                )
                if size == 0:
                    return None  # already empty: nothing to do
                if self.dry_run:
                    self._overlay.written[loc.path] = b""
                elif st.st_nlink > 1:
                    self._replace(loc, b"")
                else:
                    fd = os.open(
                        loc.name,
                        os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                        dir_fd=loc.parent_fd,
                    )
                    try:
                        fst = os.fstat(fd)
                        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino) or fst.st_nlink > 1:
                            raise Refused(loc.path, "changed while it was being truncated")
                        os.ftruncate(fd, 0)
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                return Outcome("truncate", loc.path, "file", files=1, bytes=size)
        except Refused as r:
            return Outcome("truncate", r.path, "other", skipped=((r.path, r.reason),))

    def write(
        self,
        path: str,
        data: bytes,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        make_parents: bool = False,
        fresh: bool = False,
    ) -> Outcome:
        """Atomically replace (or create) a file with `data`.

        An existing regular file keeps its mode, owner, ACLs, extended attributes and SELinux
        label; `mode`, `uid` and `gid` apply to a new file, or always with `fresh` (a file
        that must be exactly root's 0600 whatever it was). A symlink at the path is replaced
        by the file, never followed.
        """
        with self._locate(path, follow=False, make_parents=make_parents) as loc:
            if loc.st is not None and stat.S_ISDIR(loc.st.st_mode):
                raise Refused(loc.path, "is a directory")
            self._need_parent(loc, make_parents)
            if self.dry_run:
                self._overlay.write(loc.path, data)
                return Outcome("write", loc.path, "file", files=1, bytes=len(data))
            assert loc.parent_fd is not None
            with naming(loc.path):
                self._replace(loc, data, mode, uid, gid, keep_metadata=not fresh)
            return Outcome("write", loc.path, "file", files=1, bytes=len(data))

    def _replace(
        self,
        loc: Located,
        data: bytes,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        *,
        keep_metadata: bool = True,
    ) -> None:
        assert loc.parent_fd is not None
        dfd = loc.parent_fd
        old_fd = None
        if keep_metadata and loc.st is not None and stat.S_ISREG(loc.st.st_mode):
            try:
                old_fd = os.open(
                    loc.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd
                )
                ost = os.fstat(old_fd)
                mode, uid, gid = stat.S_IMODE(ost.st_mode), ost.st_uid, ost.st_gid
            except OSError:
                old_fd = None
        tmp = self._temp(loc)
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=dfd,
        )
        try:
            self.checkpoint("temp-file")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            if old_fd is not None:
                copy_xattrs(old_fd, fd)
            os.fsync(fd)
            os.rename(tmp, loc.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        finally:
            os.close(fd)
            if old_fd is not None:
                os.close(old_fd)
        os.fsync(dfd)

    def mkdir(self, path: str, mode: int = 0o755, *, uid: int = 0, gid: int = 0) -> Outcome | None:
        """Create a directory and its missing parents; None when it already exists.

        A symbolic link in the last place is refused, never followed: a dangling link would
        otherwise have the directory made wherever it points, with the owner asked for.
        """
        with self._locate(path, follow=False, make_parents=True) as loc:
            if loc.st is not None:
                if stat.S_ISLNK(loc.st.st_mode):
                    raise Refused(loc.path, "is a symbolic link")
                if not stat.S_ISDIR(loc.st.st_mode):
                    raise Refused(loc.path, "exists and is not a directory")
                return None
            if self.dry_run:
                parts = loc.path.split("/")
                self._overlay.created_dirs.update(
                    "/".join(parts[:i]) for i in range(1, len(parts) + 1)
                )
                return Outcome("mkdir", loc.path, "dir", dirs=1)
            if loc.parent_fd is None:
                raise Refused(loc.path, "its parent does not exist")
            with naming(loc.path):
                os.mkdir(loc.name, mode, dir_fd=loc.parent_fd)
                fd = os.open(loc.name, O_DIR, dir_fd=loc.parent_fd)
                try:
                    os.fchown(fd, uid, gid)
                    os.fchmod(fd, mode)
                finally:
                    os.close(fd)
            return Outcome("mkdir", loc.path, "dir", dirs=1)

    def symlink(self, target: str, path: str) -> Outcome:
        """Atomically make `path` a symbolic link to `target` (replacing a file or link)."""
        with self._locate(path, follow=False) as loc:
            if loc.st is not None and stat.S_ISDIR(loc.st.st_mode):
                raise Refused(loc.path, "is a directory")
            self._need_parent(loc, False)
            if not self.dry_run:
                assert loc.parent_fd is not None
                tmp = self._temp(loc)
                os.symlink(target, tmp, dir_fd=loc.parent_fd)
                os.rename(tmp, loc.name, src_dir_fd=loc.parent_fd, dst_dir_fd=loc.parent_fd)
            return Outcome("symlink", loc.path, "symlink", detail=target)

    def chmod(self, path: str, mode: int) -> Outcome | None:
        with self._locate(path, follow=False) as loc:
            if loc.st is None or loc.parent_fd is None or stat.S_ISLNK(loc.st.st_mode):
                return None
            if stat.S_IMODE(loc.st.st_mode) == mode:
                return None
            if not self.dry_run:
                fchmod_at(loc.parent_fd, loc.name, mode)
            return Outcome("chmod", loc.path, kind_of(loc.st.st_mode), detail=f"{mode:04o}")

    def open_append(self, path: str, mode: int = 0o600) -> int:
        """A descriptor appending to a log file, created when missing (never in a dry run).

        A file with other hard links, or anything but a regular file, is replaced first.
        """
        assert not self.dry_run, "nothing is written to the target in a dry run"
        dirname = path.rsplit("/", 1)[0] if "/" in path else ""
        if dirname:
            self.mkdir(dirname, 0o755)
        with self._locate(path, follow=False) as loc, naming(loc.path):
            if loc.parent_fd is None:
                raise Refused(loc.path, "its directory does not exist")
            if loc.st is not None and (not stat.S_ISREG(loc.st.st_mode) or loc.st.st_nlink > 1):
                if stat.S_ISDIR(loc.st.st_mode):
                    raise Refused(loc.path, "is a directory")
                os.unlink(loc.name, dir_fd=loc.parent_fd)
            fd = os.open(
                loc.name,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                mode,
                dir_fd=loc.parent_fd,
            )
            st = os.fstat(fd)
            if st.st_nlink > 1 or not stat.S_ISREG(st.st_mode):
                os.close(fd)
                raise Refused(loc.path, "changed while it was being opened")
            return fd

    def open_dir(self, path: str) -> int:
        """A descriptor of a directory inside the root, resolved like every path (never into
        a mount that is not the target's): for acting on the directory itself (mounting on a
        folder of it) without naming it by a host path again."""
        with self._locate(path, follow=True) as loc:
            if loc.st is None or not stat.S_ISDIR(loc.st.st_mode):
                raise Refused(loc.path, "not a directory")
            return self._open_dir(loc)

    def open_file_at(self, dir_fd: int, name: str) -> int | None:
        """A read-only descriptor of the regular file `name` in a directory of the root
        opened by `open_dir` (a walk reading many files of one folder); None for a symlink,
        something else than a regular file, or a file that is a mount not the target's own
        (a host file bind-mounted into a chroot)."""
        try:
            fd = os.open(
                name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
            )
        except OSError:
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or self._trust.foreign(fd, st, os.fstat(dir_fd).st_dev):
            os.close(fd)
            return None
        return fd
