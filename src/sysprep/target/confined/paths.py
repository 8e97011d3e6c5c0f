"""The confined layer's vocabulary: what an operation did (Outcome), what it refused
(Refused), a resolved path (Located), temp names and shell-pattern matching."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from typing import Iterator

from sysprep.errors import RunError

MAX_SYMLINKS = 40
MAX_DEPTH = 2048  # directory levels a recursive clean descends before refusing
MAX_READ = 64 * 1024 * 1024

O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
TEMP = re.compile(r"\..+\.sysprep-[0-9a-f]{8}", re.S)


def temp_name(name: str) -> str:
    """The name of the temp file that atomically replaces `name` in its folder."""
    return f".{name[:200]}.sysprep-{secrets.token_hex(4)}"


def is_temp_name(name: str) -> bool:
    """Whether `name` has the form of temp_name()'s (a leftover when a run was killed)."""
    return TEMP.fullmatch(name) is not None


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
class Tally:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Frame:
    fd: int
    path: str
    name: str
    dev: int
    entries: Iterator[os.DirEntry[str]]
    kept: bool = False


class Located:
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

    def __enter__(self) -> Located:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def split(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def kind_of(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


@contextlib.contextmanager
def naming(path: str) -> Iterator[None]:
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


def fchmod_at(dfd: int, name: str, mode: int) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def copy_xattrs(src: int, dst: int) -> None:
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


MAGIC = re.compile(r"[*?[]")


def has_magic(s: str) -> bool:
    return MAGIC.search(s) is not None


def match(pattern: str, name: str) -> bool:
    """Shell-style match of one path component; `*` does not match a leading dot."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)
