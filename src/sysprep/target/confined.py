"""The confined file layer: every path of a target resolves inside its root, by descriptor.

Paths are resolved component by component from a descriptor of the root, with `O_NOFOLLOW`
at every step; a symbolic link is read and resolved again *inside* the root (an absolute
target starts over at the root, `..` never climbs above it), like `openat2(RESOLVE_IN_ROOT)`.
Foreign mounts under the root (a chroot's /proc, a host folder bound into it) are never
entered. A file with several hard links is replaced, never rewritten in place. Nothing in
this module follows a path given as a string from the host's point of view.

In a dry run the layer changes nothing and keeps an overlay of what it would have done, so
that later operations of the same run see the tree as the real run would.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

from sysprep.errors import RunError
from sysprep.target.mounts import Mount, is_own_mount, mounts_below, read_mounts

MAX_SYMLINKS = 40
MAX_DEPTH = 2048  # directory levels a recursive clean descends before refusing
MAX_READ = 64 * 1024 * 1024

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP = re.compile(r"\..+\.sysprep-[0-9a-f]{8}", re.S)


def temp_name(name: str) -> str:
    """The name of the temp file that atomically replaces `name` in its folder."""
    return f".{name[:200]}.sysprep-{secrets.token_hex(4)}"


def is_temp_name(name: str) -> bool:
    """Whether `name` has the form of temp_name()'s (a leftover when a run was killed)."""
    return _TEMP.fullmatch(name) is not None


class Refused(RunError):
    """A path the layer will not touch: the reason says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"/{path}: {reason}" if path else f"/: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What one operation did (or, in a dry run, would do) to one path."""

    op: str
    path: str
    kind: str = "file"
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    skipped: tuple[tuple[str, str], ...] = ()
    errors: tuple[tuple[str, str], ...] = ()
    detail: str = ""

    def record(self) -> dict[str, object]:
        rec: dict[str, object] = {"op": self.op, "path": "/" + self.path, "kind": self.kind}
        if self.kind == "dir" or self.op == "clean":
            rec["files"] = self.files
            rec["dirs"] = self.dirs
        if self.bytes or self.op in ("remove", "clean", "truncate", "write"):
            rec["bytes"] = self.bytes
        if self.detail:
            rec["detail"] = self.detail
        if self.skipped:
            rec["skipped"] = [{"path": "/" + p, "reason": r} for p, r in self.skipped]
        if self.errors:
            rec["errors"] = [{"path": "/" + p, "error": e} for p, e in self.errors]
        return rec


@dataclass
class _Tally:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Frame:
    fd: int
    path: str
    name: str
    dev: int
    entries: Iterator[os.DirEntry[str]]
    kept: bool = False


class _Located:
    """The final component of a resolved path: its parent directory (open) and its name."""

    def __init__(self, parent_fd: int | None, name: str, path: str, st: os.stat_result | None):
        self.parent_fd = parent_fd  # None for the root itself
        self.name = name
        self.path = path  # canonical, relative to the root, no leading slash
        self.st = st  # lstat of the final component, None when it does not exist

    def close(self) -> None:
        if self.parent_fd is not None:
            os.close(self.parent_fd)
            self.parent_fd = None

    def __enter__(self) -> _Located:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


@contextlib.contextmanager
def _naming(path: str) -> Iterator[None]:
    """An OSError of an operation by descriptor names only the last component, or nothing:
    name the file in the target instead (a full disk says where it was full)."""
    try:
        yield
    except OSError as e:
        raise OSError(e.errno, e.strerror, "/" + path) from None


def mount_id_of(fd: int) -> int | None:
    try:
        with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as f:
            for line in f:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Confined:
    """A directory tree opened as the root of a target."""

    def __init__(
        self,
        host_path: str,
        *,
        dry_run: bool = False,
        own_mounts: Sequence[str] | None = None,
        mounts: Sequence[Mount] | None = None,
    ) -> None:
        self.host_path = os.path.realpath(host_path)
        self.dry_run = dry_run
        self._root_fd = os.open(self.host_path, _O_DIR)
        self.root_stat = os.fstat(self._root_fd)
        self._protected: set[tuple[int, int]] = set()
        self._removed: set[str] = set()  # dry-run overlay
        self._cleaned: set[str] = set()
        self._written: dict[str, bytes] = {}
        self._files_cleaned: set[str] = set()  # dry run: folders emptied of files only
        self._created_dirs: set[str] = set()  # dry run: folders it would have made
        self.skipped_mounts: list[tuple[str, str]] = []
        self._foreign_keys: set[tuple[int, int]] = set()
        self._foreign_ids: set[int] = set()
        self._own_keys: set[tuple[int, int]] = set()
        self._trusted_ids: set[int | None] = {mount_id_of(self._root_fd)}
        self._load_mounts(own_mounts, mounts)
        # told the path of a temp file before it is made (sysprep.target.temps notes it, so
        # that a rerun after a crash removes exactly the leftovers)
        self.on_temp: Callable[[str], None] | None = None
        # the crash-injection point with a temp file on disk (passes.checkpoint)
        self.checkpoint: Callable[[str], None] = lambda name: None

    def _temp(self, loc: _Located) -> str:
        """A temp file's name next to `loc`, noted first."""
        name = temp_name(loc.name)
        if self.on_temp is not None:
            folder = loc.path.rpartition("/")[0]
            self.on_temp(f"{folder}/{name}" if folder else name)
        return name

    # -- set-up -----------------------------------------------------------------------

    def _load_mounts(self, own: Sequence[str] | None, mounts: Sequence[Mount] | None) -> None:
        table = list(mounts) if mounts is not None else read_mounts()
        if own is None:
            own = self._fstab_points()
        below = mounts_below(self.host_path, table)
        inside = {m.mount_id for _, m in below}
        root_prefix = self.host_path.rstrip("/") + "/"
        # a file system that the host also has mounted elsewhere is the host's, whatever the
        # target's (untrusted) fstab claims: e.g. the host's /home bound into a chroot
        elsewhere = set() if self.host_path == "/" else {
            m.device for m in table if m.mount_id not in inside
            and m.mount_point != self.host_path and not m.mount_point.startswith(root_prefix)}
        for rel, mount in below:
            try:
                st = os.stat(os.path.join(self.host_path, rel), follow_symlinks=False)
            except OSError:
                continue  # hidden under another mount: unreachable from the root
            key = (st.st_dev, st.st_ino)
            if is_own_mount(rel, mount, own) and mount.device not in elsewhere:
                self._own_keys.add(key)
                self._trusted_ids.add(mount.mount_id)
            else:
                self._foreign_keys.add(key)
                self._foreign_ids.add(mount.mount_id)
                self.skipped_mounts.append((rel, f"{mount.fs_type} mount not part of the target"))

    def _fstab_points(self) -> list[str]:
        from sysprep.rules.fstab import local_mount_points

        data = self.read_bytes("etc/fstab")
        return local_mount_points(data.decode("utf-8", "replace")) if data else []

    def close(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def __enter__(self) -> Confined:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def protect(self, path: str) -> None:
        """Never remove or clean this directory (and what is in it), whoever asks."""
        st = self.lstat(path)
        if st is not None:
            self._protected.add((st.st_dev, st.st_ino))

    # -- resolution -------------------------------------------------------------------

    def _foreign(self, fd: int, st: os.stat_result, parent_dev: int) -> bool:
        key = (st.st_dev, st.st_ino)
        if st.st_dev != parent_dev:
            if key in self._own_keys:
                return False
            # A btrfs subvolume changes st_dev without being a mount: it shares the mount id
            # of the root or of one of the target's own mounts. Anything else is a mount we
            # must not enter, seen when the target was opened or not.
            return mount_id_of(fd) not in self._trusted_ids
        return key in self._foreign_keys and mount_id_of(fd) in self._foreign_ids

    def _hidden(self, path: str, st: os.stat_result | None = None) -> bool:
        """In a dry run: whether an earlier operation of this run removed the path."""
        if not self.dry_run:
            return False
        if self._files_cleaned and (st is None or not stat.S_ISDIR(st.st_mode)):
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            if parent in self._files_cleaned:
                if st is None:
                    st = self._lstat_raw(path)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    return True
        if not (self._removed or self._cleaned):
            return False
        if path in self._removed:
            return True
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self._removed or prefix in self._cleaned:
                return True
        return "" in self._cleaned

    def _locate(self, path: str, *, follow: bool, make_parents: bool = False) -> _Located:
        """Resolve `path` inside the root; the final component is followed only if `follow`."""
        todo = _split(path)
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
                cpath = _join(dpath, name)
                last = not todo
                try:
                    st: os.stat_result | None = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                except NotADirectoryError:
                    raise Refused(dpath, "not a directory") from None
                if st is not None and self._hidden(cpath, st):
                    st = None
                if self.dry_run and cpath in self._written:
                    st = self._fake_stat(cpath, st)  # what an earlier operation of this run wrote
                if st is None:
                    if last:
                        return _Located(stack.pop()[0], name, cpath, None)
                    if make_parents:
                        self._mkdir_at(dfd, cpath, name)
                        st = os.stat(name, dir_fd=dfd, follow_symlinks=False) if not self.dry_run else None
                        if st is None:  # dry run: the rest of the path does not exist yet
                            rest = "/".join(reversed(todo))
                            return _Located(None, rest.rsplit("/", 1)[-1], _join(cpath, rest), None)
                    else:
                        return _Located(None, "", _join(cpath, "/".join(reversed(todo))), None)
                if stat.S_ISLNK(st.st_mode) and (follow or not last):
                    hops += 1
                    if hops > MAX_SYMLINKS:
                        raise Refused(cpath, "too many levels of symbolic links")
                    target = os.readlink(name, dir_fd=dfd)
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop()[0])
                    todo.extend(reversed(_split(target)))
                    continue
                if last:
                    return _Located(stack.pop()[0], name, cpath, st)
                if not stat.S_ISDIR(st.st_mode):
                    raise Refused(cpath, "not a directory")
                try:
                    fd = os.open(name, _O_DIR, dir_fd=dfd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped under us
                        todo.append(name)
                        continue
                    raise
                fst = os.fstat(fd)
                if self._foreign(fd, fst, ddev):
                    os.close(fd)
                    raise Refused(cpath, "inside a mount that is not part of the target")
                stack.append((fd, cpath, fst.st_dev))
            # the path named the root itself (or climbed back to it)
            dfd, dpath, _ = stack.pop()
            if dpath:  # e.g. "var/.." : report the directory we ended in
                os.close(dfd)
                return self._locate(dpath, follow=follow)
            os.close(dfd)
            return _Located(None, "", "", self.root_stat)
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

    def _fake_stat(self, path: str, on_disk: os.stat_result | None = None) -> os.stat_result:
        """Dry run: the stat of a file this run has (planned to have) written."""
        size = len(self._written[path])
        if on_disk is not None and stat.S_ISREG(on_disk.st_mode):  # rewritten: metadata is kept
            return os.stat_result((on_disk.st_mode, on_disk.st_ino, on_disk.st_dev, 1, on_disk.st_uid,
                                   on_disk.st_gid, size, 0, 0, 0))
        return os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, size, 0, 0, 0))

    def _open_dir(self, loc: _Located) -> int:
        if loc.parent_fd is None:
            if loc.path:
                raise FileNotFoundError(loc.path)
            return os.dup(self._root_fd)
        fd = os.open(loc.name, _O_DIR, dir_fd=loc.parent_fd)
        fst = os.fstat(fd)
        if self._foreign(fd, fst, os.fstat(loc.parent_fd).st_dev):
            os.close(fd)
            raise Refused(loc.path, "mount point of a file system that is not part of the target")
        return fd

    def _need_parent(self, loc: _Located, make_parents: bool) -> None:
        """Refuse to make a file whose folder does not exist, the same way in a dry run
        (where a folder it would have made, or make_parents, counts as there)."""
        if loc.parent_fd is not None or not loc.path:
            return
        parent = loc.path.rsplit("/", 1)[0] if "/" in loc.path else ""
        if self.dry_run and (make_parents or parent in self._created_dirs):
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

    def read_bytes(self, path: str, limit: int = MAX_READ, *, tail: int | None = None,
                   head: int | None = None) -> bytes | None:
        """Content of a regular file (symlinks followed inside the root), None if absent; with
        `tail`, only its last `tail` bytes are read, with `head` only its first `head` bytes."""
        try:
            with self._locate(path, follow=True) as loc:
                if loc.path in self._written:
                    data = self._written[loc.path]
                    data = data if head is None else data[:head]
                    return data if tail is None else data[len(data) - min(tail, len(data)):]
                if loc.st is None or loc.parent_fd is None or not stat.S_ISREG(loc.st.st_mode):
                    return None
                fd = os.open(loc.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=loc.parent_fd)
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
            if base in self._cleaned:
                names = []
            names = [n for n in names if not self._hidden(_join(base, n))]
            prefix = base + "/" if base else ""
            for w in self._written:
                if w.startswith(prefix) and "/" not in w[len(prefix):] and w[len(prefix):] not in names:
                    names.append(w[len(prefix):])
        return sorted(names)

    def glob(self, pattern: str) -> list[str]:
        """Canonical paths matching a shell pattern; `**` matches any number of directories.

        Matches are sorted. Symlinked directories are followed (inside the root) for literal
        components and `*`, never for `**`, so a symlink loop cannot make it run forever.
        """
        parts = _split(pattern)
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
                    out.update(_join(dirpath, n) for n, _ in entries if _match(rest[0], n))
                elif rest:
                    self._glob_from(dirpath, rest, out)
                elif dirpath:
                    out.add(dirpath)
            return
        if not _has_magic(head):
            if not rest:
                try:
                    with self._locate(_join(base, head), follow=False) as loc:
                        if loc.st is not None:
                            out.add(loc.path)
                except Refused:
                    pass
                return
            nxt = self.realpath(_join(base, head))
            if nxt is not None and self.is_dir(nxt):
                self._glob_from(nxt, rest, out)
            return
        for name in self.listdir(base):
            if not _match(head, name):
                continue
            if not rest:
                out.add(_join(base, name))
                continue
            nxt = self.realpath(_join(base, name))
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
                frame = _Frame(pfd, ppath, "", pdev, iter(()))
                cfd2 = self._enter(frame, name, _join(ppath, name), st)
                if cfd2 is not None:
                    cur = (cfd2, _join(ppath, name))
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
                if not self._hidden(_join(base, entry.name), st):
                    out.append((entry.name, st))
        out.sort()
        return out

    def walk_files(self, path: str) -> Iterator[tuple[str, os.stat_result]]:
        """Every non-directory under `path` (not following symlinks, not entering mounts)."""
        for dirpath, entries in self.tree(path):
            for name, st in entries:
                if not stat.S_ISDIR(st.st_mode):
                    yield _join(dirpath, name), st

    def _enter(self, f: _Frame, name: str, path: str, st: os.stat_result) -> int | None:
        """Open a sub-directory met during a walk, or None when it must not be entered."""
        if (st.st_dev, st.st_ino) in self._protected:
            return None
        try:
            cfd = os.open(name, _O_DIR, dir_fd=f.fd)
        except OSError:
            return None
        cst = os.fstat(cfd)
        if (cst.st_dev, cst.st_ino) != (st.st_dev, st.st_ino) or self._foreign(cfd, cst, f.dev):
            os.close(cfd)
            return None
        return cfd

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
                        return Outcome("remove", loc.path, _kind(loc.st.st_mode),
                                       errors=((loc.path, e.strerror or str(e)),))
                else:
                    self._removed.add(loc.path)
                    self._written.pop(loc.path, None)
                size = loc.st.st_size if stat.S_ISREG(loc.st.st_mode) else 0
                return Outcome("remove", loc.path, _kind(loc.st.st_mode), files=1, bytes=size)
        except Refused as r:
            return Outcome("remove", r.path, "other", skipped=((r.path, r.reason),))

    def _remove_dir(self, loc: _Located) -> Outcome:
        assert loc.st is not None and loc.parent_fd is not None
        if (loc.st.st_dev, loc.st.st_ino) in self._protected:
            return Outcome("remove", loc.path, "dir", skipped=((loc.path, "protected"),))
        fd = self._open_dir(loc)
        tally = _Tally()
        emptied = self._empty(fd, loc.path, tally)
        if emptied:
            if self.dry_run:
                self._removed.add(loc.path)
            else:
                try:
                    os.rmdir(loc.name, dir_fd=loc.parent_fd)
                except OSError as e:
                    tally.errors.append((loc.path, e.strerror or str(e)))
            tally.dirs += 1
        return Outcome("remove", loc.path, "dir", tally.files, tally.dirs, tally.bytes,
                       tuple(tally.skipped), tuple(tally.errors))

    def clean(self, path: str, *, keep_dirs: bool = False) -> Outcome | None:
        """Remove everything inside a directory and keep the directory itself.

        With `keep_dirs`, only files (and symlinks...) go; every sub-directory stays.
        A directory named through a symbolic link is not emptied: anybody who could write in
        the image could otherwise point, say, ~/.cache at / (or /etc) and have it emptied.
        """
        try:
            with self._locate(path, follow=False) as loc:
                if loc.st is not None and stat.S_ISLNK(loc.st.st_mode):
                    return Outcome("clean", loc.path, "symlink",
                                   skipped=((loc.path, "a symbolic link, not followed"),))
                if loc.st is None or not stat.S_ISDIR(loc.st.st_mode):
                    return None
                if not loc.path:
                    raise Refused("", "refusing to empty the root of the target")
                if (loc.st.st_dev, loc.st.st_ino) in self._protected:
                    return Outcome("clean", loc.path, "dir", skipped=((loc.path, "protected"),))
                fd = self._open_dir(loc)
                tally = _Tally()
                self._empty(fd, loc.path, tally, keep_dirs=keep_dirs)
                if self.dry_run and not keep_dirs:
                    self._cleaned.add(loc.path)
                return Outcome("clean", loc.path, "dir", tally.files, tally.dirs, tally.bytes,
                               tuple(tally.skipped), tuple(tally.errors),
                               detail="files only; folders kept" if keep_dirs else "")
        except Refused as r:
            return Outcome("clean", r.path, "dir", skipped=((r.path, r.reason),))

    def _empty(self, fd: int, base: str, tally: _Tally, *, keep_dirs: bool = False) -> bool:
        """Remove the contents of an open directory (fd is consumed); True when it is empty.

        With `keep_dirs`, sub-directories are emptied of files but kept. This is the loop
        that removes the bulk of a dirty tree: it keeps per-entry work to one lstat (from
        the directory listing's descriptor) and one unlink.
        """
        frames = [_Frame(fd, base, "", os.fstat(fd).st_dev, os.scandir(fd))]
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
                    if not act and self._hidden(_join(fpath, name), st):
                        continue
                    if s_isdir(st.st_mode):
                        child = _join(fpath, name)
                        if (st.st_dev, st.st_ino) in self._protected:
                            f.kept = True
                            tally.skipped.append((child, "protected"))
                            continue
                        cfd = self._enter(f, name, child, st)
                        if cfd is None:
                            f.kept = True
                            tally.skipped.append((child, "mount point of a file system that is not part of the target"))
                            continue
                        if len(frames) >= MAX_DEPTH:
                            os.close(cfd)
                            raise Refused(child, f"directory tree deeper than {MAX_DEPTH} levels")
                        frames.append(_Frame(cfd, child, name, st.st_dev, os.scandir(cfd)))
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
                            tally.errors.append((_join(fpath, name), e.strerror or str(e)))
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
                        self._files_cleaned.update(visited)
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
                    return Outcome("truncate", loc.path, "symlink",
                                   skipped=((loc.path, "a symbolic link, not followed"),))
                if not stat.S_ISREG(st.st_mode):
                    return Outcome("truncate", loc.path, _kind(st.st_mode),
                                   skipped=((loc.path, "not a regular file"),))
                size = len(self._written[loc.path]) if loc.path in self._written else st.st_size
                if size == 0:
                    return None  # already empty: nothing to do
                if self.dry_run:
                    self._written[loc.path] = b""
                elif st.st_nlink > 1:
                    self._replace(loc, b"")
                else:
                    fd = os.open(loc.name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                                 dir_fd=loc.parent_fd)
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
                self._written[loc.path] = data
                self._removed.discard(loc.path)
                return Outcome("write", loc.path, "file", files=1, bytes=len(data))
            assert loc.parent_fd is not None
            with _naming(loc.path):
                self._replace(loc, data, mode, uid, gid, keep_metadata=not fresh)
            return Outcome("write", loc.path, "file", files=1, bytes=len(data))

    def _replace(self, loc: _Located, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0,
                 *, keep_metadata: bool = True) -> None:
        assert loc.parent_fd is not None
        dfd = loc.parent_fd
        old_fd = None
        if keep_metadata and loc.st is not None and stat.S_ISREG(loc.st.st_mode):
            try:
                old_fd = os.open(loc.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                                 dir_fd=dfd)
                ost = os.fstat(old_fd)
                mode, uid, gid = stat.S_IMODE(ost.st_mode), ost.st_uid, ost.st_gid
            except OSError:
                old_fd = None
        tmp = self._temp(loc)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dfd)
        try:
            self.checkpoint("temp-file")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            if old_fd is not None:
                _copy_xattrs(old_fd, fd)
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
                self._created_dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
                return Outcome("mkdir", loc.path, "dir", dirs=1)
            if loc.parent_fd is None:
                raise Refused(loc.path, "its parent does not exist")
            with _naming(loc.path):
                os.mkdir(loc.name, mode, dir_fd=loc.parent_fd)
                fd = os.open(loc.name, _O_DIR, dir_fd=loc.parent_fd)
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
                _fchmod_at(loc.parent_fd, loc.name, mode)
            return Outcome("chmod", loc.path, _kind(loc.st.st_mode), detail=f"{mode:04o}")

    def open_append(self, path: str, mode: int = 0o600) -> int:
        """A descriptor appending to a log file, created when missing (never in a dry run).

        A file with other hard links, or anything but a regular file, is replaced first.
        """
        assert not self.dry_run, "nothing is written to the target in a dry run"
        dirname = path.rsplit("/", 1)[0] if "/" in path else ""
        if dirname:
            self.mkdir(dirname, 0o755)
        with self._locate(path, follow=False) as loc, _naming(loc.path):
            if loc.parent_fd is None:
                raise Refused(loc.path, "its directory does not exist")
            if loc.st is not None and (not stat.S_ISREG(loc.st.st_mode) or loc.st.st_nlink > 1):
                if stat.S_ISDIR(loc.st.st_mode):
                    raise Refused(loc.path, "is a directory")
                os.unlink(loc.name, dir_fd=loc.parent_fd)
            fd = os.open(loc.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         mode, dir_fd=loc.parent_fd)
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
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except OSError:
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or self._foreign(fd, st, os.fstat(dir_fd).st_dev):
            os.close(fd)
            return None
        return fd


def _fchmod_at(dfd: int, name: str, mode: int) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _copy_xattrs(src: int, dst: int) -> None:
    """Copy every extended attribute (ACLs and SELinux label included) between descriptors."""
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError:
            if name.startswith(("security.", "system.")):
                raise
    return


_MAGIC = re.compile(r"[*?[]")


def _has_magic(s: str) -> bool:
    return _MAGIC.search(s) is not None


def _match(pattern: str, name: str) -> bool:
    """Shell-style match of one path component; `*` does not match a leading dot."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)
