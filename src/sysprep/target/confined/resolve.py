"""Path resolution inside the root, by descriptor (the heart of the confined layer)."""

from __future__ import annotations

import errno
import os
import stat
from typing import Callable

from sysprep.target.confined.overlay import Overlay
from sysprep.target.confined.paths import (
    MAX_SYMLINKS,
    O_DIR,
    Located,
    Refused,
    join,
    split,
    temp_name,
)
from sysprep.target.confined.trust import MountTrust


class Resolver:
    """A directory tree opened as the root of a target: paths resolved inside it."""

    def __init__(
        self,
        host_path: str,
        *,
        dry_run: bool = False,
    ) -> None:
        self.host_path = os.path.realpath(host_path)
        self.dry_run = dry_run
        self._root_fd = os.open(self.host_path, O_DIR)
        self.root_stat = os.fstat(self._root_fd)
        self._protected: set[tuple[int, int]] = set()
        self._overlay = Overlay()  # what a dry run would have done
        self._trust = MountTrust(self._root_fd)  # which mounts under the root are the target's
        # told the path of a temp file before it is made (sysprep.target.temps notes it, so
        # that a rerun after a crash removes exactly the leftovers)
        self.on_temp: Callable[[str], None] | None = None
        # the crash-injection point with a temp file on disk (passes.checkpoint)
        self.checkpoint: Callable[[str], None] = lambda name: None

    def _temp(self, loc: Located) -> str:
        """A temp file's name next to `loc`, noted first."""
        name = temp_name(loc.name)
        if self.on_temp is not None:
            folder = loc.path.rpartition("/")[0]
            self.on_temp(f"{folder}/{name}" if folder else name)
        return name

    @property
    def skipped_mounts(self) -> list[tuple[str, str]]:
        """The mounts under the root that are not the target's own: (path, why)."""
        return self._trust.skipped

    def close(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    # -- resolution -------------------------------------------------------------------

    def _hidden(self, path: str, st: os.stat_result | None = None) -> bool:
        """In a dry run: whether an earlier operation of this run removed the path."""
        return self.dry_run and self._overlay.hides(path, st, self._lstat_raw)

    def _locate(self, path: str, *, follow: bool, make_parents: bool = False) -> Located:
        """Resolve `path` inside the root; the final component is followed only if `follow`."""
        todo = split(path)
        todo.reverse()
        stack: list[tuple[int, str, int]] = [(os.dup(self._root_fd), "", self.root_stat.st_dev)]
        hops = 0
        try:
            while todo:
                name = todo.pop()
                if name == "..":
                    if len(stack) > 1:
                        os.close(stack.pop()[0])
                    continue
                dfd, dpath, ddev = stack[-1]
                cpath = join(dpath, name)
                last = not todo
                try:
                    st: os.stat_result | None = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                except NotADirectoryError:
                    raise Refused(dpath, "not a directory") from None
                if st is not None and self._hidden(cpath, st):
                    st = None
                if self.dry_run and cpath in self._overlay.written:
                    st = self._overlay.fake_stat(
                        cpath, st
                    )  # what an earlier operation of this run wrote
                if st is None:
                    if last:
                        return Located(stack.pop()[0], name, cpath, None)
                    if make_parents:
                        self._mkdir_at(dfd, cpath, name)
                        st = (
                            os.stat(name, dir_fd=dfd, follow_symlinks=False)
                            if not self.dry_run
                            else None
                        )
                        if st is None:  # dry run: the rest of the path does not exist yet
                            rest = "/".join(reversed(todo))
                            return Located(None, rest.rsplit("/", 1)[-1], join(cpath, rest), None)
                    else:
                        return Located(None, "", join(cpath, "/".join(reversed(todo))), None)
                if stat.S_ISLNK(st.st_mode) and (follow or not last):
                    hops += 1
                    if hops > MAX_SYMLINKS:
                        raise Refused(cpath, "too many levels of symbolic links")
                    target = os.readlink(name, dir_fd=dfd)
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop()[0])
                    todo.extend(reversed(split(target)))
                    continue
                if last:
                    return Located(stack.pop()[0], name, cpath, st)
                if not stat.S_ISDIR(st.st_mode):
                    raise Refused(cpath, "not a directory")
                try:
                    fd = os.open(name, O_DIR, dir_fd=dfd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped under us
                        todo.append(name)
                        continue
                    raise
                fst = os.fstat(fd)
                if self._trust.foreign(fd, fst, ddev):
                    os.close(fd)
                    raise Refused(cpath, "inside a mount that is not part of the target")
                stack.append((fd, cpath, fst.st_dev))
            # the path named the root itself (or climbed back to it)
            dfd, dpath, _ = stack.pop()
            if dpath:  # e.g. "var/.." : report the directory we ended in
                os.close(dfd)
                return self._locate(dpath, follow=follow)
            os.close(dfd)
            return Located(None, "", "", self.root_stat)
        finally:
            for fd, _, _ in stack:
                os.close(fd)

    def _lstat_raw(self, path: str) -> os.stat_result | None:
        """lstat on disk, ignoring the dry-run overlay (the overlay asks it)."""
        saved, self.dry_run = self.dry_run, False
        try:
            with self._locate(path, follow=False) as loc:
                return loc.st
        except Refused:
            return None
        finally:
            self.dry_run = saved

    def _open_dir(self, loc: Located) -> int:
        if loc.parent_fd is None:
            if loc.path:
                raise FileNotFoundError(loc.path)
            return os.dup(self._root_fd)
        fd = os.open(loc.name, O_DIR, dir_fd=loc.parent_fd)
        fst = os.fstat(fd)
        if self._trust.foreign(fd, fst, os.fstat(loc.parent_fd).st_dev):
            os.close(fd)
            raise Refused(loc.path, "mount point of a file system that is not part of the target")
        return fd

    def _need_parent(self, loc: Located, make_parents: bool) -> None:
        """Refuse to make a file whose folder does not exist, the same way in a dry run
        (where a folder it would have made, or make_parents, counts as there)."""
        if loc.parent_fd is not None or not loc.path:
            return
        parent = loc.path.rsplit("/", 1)[0] if "/" in loc.path else ""
        if self.dry_run and (make_parents or parent in self._overlay.created_dirs):
            return
        raise Refused(loc.path, "its directory does not exist")

    def _mkdir_at(self, dfd: int, path: str, name: str, mode: int = 0o755) -> None:
        if self.dry_run:
            return
        try:
            os.mkdir(name, mode, dir_fd=dfd)
        except FileExistsError:
            pass

    def realpath(self, path: str) -> str | None:
        """The canonical path inside the root, or None when it does not exist."""
        try:
            with self._locate(path, follow=True) as loc:
                return loc.path if loc.st is not None else None
        except Refused:
            return None
