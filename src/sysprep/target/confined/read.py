"""Reading a target: stat, read, list, glob and walk, all through the resolver."""

from __future__ import annotations

import os
import stat
from typing import Iterator

from sysprep.target.confined.paths import (
    MAX_DEPTH,
    MAX_READ,
    O_DIR,
    Frame,
    Refused,
    has_magic,
    join,
    match,
    split,
)
from sysprep.target.confined.resolve import Resolver


class Reader(Resolver):
    """The read-only half of Confined."""

    # -- reading ----------------------------------------------------------------------

    def lstat(self, path: str) -> os.stat_result | None:
        try:
            with self._locate(path, follow=False) as loc:
                return loc.st
        except Refused:
            return None

    def stat(self, path: str) -> os.stat_result | None:
        try:
            with self._locate(path, follow=True) as loc:
                return loc.st
        except Refused:
            return None

    def exists(self, path: str) -> bool:
        return self.lstat(path) is not None

    def is_dir(self, path: str) -> bool:
        st = self.stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def is_file(self, path: str) -> bool:
        st = self.stat(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def readlink(self, path: str) -> str | None:
        try:
            with self._locate(path, follow=False) as loc:
                if loc.st is None or not stat.S_ISLNK(loc.st.st_mode) or loc.parent_fd is None:
                    return None
                return os.readlink(loc.name, dir_fd=loc.parent_fd)
        except Refused:
            return None

    def read_bytes(
        self, path: str, limit: int = MAX_READ, *, tail: int | None = None, head: int | None = None
    ) -> bytes | None:
        """Content of a regular file (symlinks followed inside the root), None if absent; with
        `tail`, only its last `tail` bytes are read, with `head` only its first `head` bytes."""
        try:
            with self._locate(path, follow=True) as loc:
                if loc.path in self._overlay.written:
                    data = self._overlay.written[loc.path]
                    data = data if head is None else data[:head]
                    return data if tail is None else data[len(data) - min(tail, len(data)) :]
                if loc.st is None or loc.parent_fd is None or not stat.S_ISREG(loc.st.st_mode):
                    return None
                fd = os.open(
                    loc.name,
                    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                    dir_fd=loc.parent_fd,
                )
        except Refused:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            if tail is not None and st.st_size > tail:
                os.lseek(fd, st.st_size - tail, os.SEEK_SET)
            chunks: list[bytes] = []
            size = 0
            while True:
                want = 1 << 20 if head is None else min(1 << 20, head - size)
                chunk = os.read(fd, want) if want > 0 else b""
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > limit:
                    raise Refused(loc.path, f"larger than {limit} bytes")
                chunks.append(chunk)
        finally:
            os.close(fd)

    def read_text(self, path: str, limit: int = MAX_READ) -> str | None:
        data = self.read_bytes(path, limit)
        return None if data is None else data.decode("utf-8", "surrogateescape")

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a directory (symlinks followed inside the root); [] if absent."""
        try:
            with self._locate(path, follow=True) as loc:
                if loc.st is None or not stat.S_ISDIR(loc.st.st_mode):
                    return []
                fd = self._open_dir(loc)
                base = loc.path
        except (Refused, OSError):
            return []
        try:
            names = os.listdir(fd)
        finally:
            os.close(fd)
        if self.dry_run:
            if base in self._overlay.cleaned:
                names = []
            names = [n for n in names if not self._hidden(join(base, n))]
            names += [n for n in self._overlay.written_in(base) if n not in names]
        return sorted(names)

    def glob(self, pattern: str) -> list[str]:
        """Canonical paths matching a shell pattern; `**` matches any number of directories.

        Matches are sorted. Symlinked directories are followed (inside the root) for literal
        components and `*`, never for `**`, so a symlink loop cannot make it run forever.
        """
        parts = split(pattern)
        results: set[str] = set()
        self._glob_from("", parts, results)
        return sorted(results)

    def _glob_from(self, base: str, parts: list[str], out: set[str]) -> None:
        if not parts:
            if base and self.lstat(base) is not None:
                out.add(base)
            return
        head, rest = parts[0], parts[1:]
        if head == "**":
            for dirpath, entries in self.tree(base):
                if len(rest) == 1 and rest[0] != "**":
                    out.update(join(dirpath, n) for n, _ in entries if match(rest[0], n))
                elif rest:
                    self._glob_from(dirpath, rest, out)
                elif dirpath:
                    out.add(dirpath)
            return
        if not has_magic(head):
            if not rest:
                try:
                    with self._locate(join(base, head), follow=False) as loc:
                        if loc.st is not None:
                            out.add(loc.path)
                except Refused:
                    pass
                return
            nxt = self.realpath(join(base, head))
            if nxt is not None and self.is_dir(nxt):
                self._glob_from(nxt, rest, out)
            return
        for name in self.listdir(base):
            if not match(head, name):
                continue
            if not rest:
                out.add(join(base, name))
                continue
            nxt = self.realpath(join(base, name))
            if nxt is not None and self.is_dir(nxt):
                self._glob_from(nxt, rest, out)

    def tree(self, path: str) -> Iterator[tuple[str, list[tuple[str, os.stat_result]]]]:
        """Walk a directory tree top-down: (canonical dir path, its entries with lstat).

        Symlinks are listed but never followed; foreign mounts and protected directories are
        not entered. Holds one descriptor per level, and one directory listing per level.
        As with os.walk, a caller may remove directories from the yielded list (in place) to
        keep the walk out of them.
        """
        try:
            with self._locate(path, follow=True) as loc:
                if loc.st is None or not stat.S_ISDIR(loc.st.st_mode):
                    return
                fd = self._open_dir(loc)
                base = loc.path
        except (Refused, OSError):
            return
        stack: list[tuple[int, str, int, Iterator[tuple[str, os.stat_result]]]] = []
        try:
            cur: tuple[int, str] | None = (fd, base)
            while True:
                if cur is not None:
                    cfd, cpath = cur
                    cur = None
                    entries = self._entries(cfd, cpath)
                    yield cpath, entries
                    subdirs = iter([(n, s) for n, s in entries if stat.S_ISDIR(s.st_mode)])
                    stack.append((cfd, cpath, os.fstat(cfd).st_dev, subdirs))
                    if len(stack) > MAX_DEPTH:
                        raise Refused(cpath, f"directory tree deeper than {MAX_DEPTH} levels")
                if not stack:
                    return
                pfd, ppath, pdev, subdirs = stack[-1]
                nxt = next(subdirs, None)
                if nxt is None:
                    stack.pop()
                    os.close(pfd)
                    continue
                name, st = nxt
                frame = Frame(pfd, ppath, "", pdev, iter(()))
                cfd2 = self._enter(frame, name, join(ppath, name), st)
                if cfd2 is not None:
                    cur = (cfd2, join(ppath, name))
        finally:
            if cur is not None:
                os.close(cur[0])
            for sfd, *_ in stack:
                os.close(sfd)

    def _entries(self, fd: int, base: str) -> list[tuple[str, os.stat_result]]:
        out = []
        with os.scandir(fd) as it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if not self._hidden(join(base, entry.name), st):
                    out.append((entry.name, st))
        out.sort()
        return out

    def walk_files(self, path: str) -> Iterator[tuple[str, os.stat_result]]:
        """Every non-directory under `path` (not following symlinks, not entering mounts)."""
        for dirpath, entries in self.tree(path):
            for name, st in entries:
                if not stat.S_ISDIR(st.st_mode):
                    yield join(dirpath, name), st

    def _enter(self, f: Frame, name: str, path: str, st: os.stat_result) -> int | None:
        """Open a sub-directory met during a walk, or None when it must not be entered."""
        if (st.st_dev, st.st_ino) in self._protected:
            return None
        try:
            cfd = os.open(name, O_DIR, dir_fd=f.fd)
        except OSError:
            return None
        cst = os.fstat(cfd)
        if (cst.st_dev, cst.st_ino) != (st.st_dev, st.st_ino) or self._trust.foreign(
            cfd, cst, f.dev
        ):
            os.close(cfd)
            return None
        return cfd

    def _fstab_points(self) -> list[str]:
        from sysprep.rules.fstab import local_mount_points

        data = self.read_bytes("etc/fstab")
        return local_mount_points(data.decode("utf-8", "replace")) if data else []
