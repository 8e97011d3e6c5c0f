"""One sysprep at a time per target: an flock held for the whole run, naming its holder."""

from __future__ import annotations

import errno
import fcntl
import os

from sysprep.errors import RunError

LOCK_DIRS = ("/run/lock/sysprep", "/run/sysprep", "/tmp/sysprep-locks")


class Busy(RunError):
    """The lock is held by another sysprep."""


def _lock_dir() -> str:
    for d in LOCK_DIRS:
        try:
            os.makedirs(d, mode=0o755, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise RunError(
        "no writable folder for sysprep's lock files (tried " + ", ".join(LOCK_DIRS) + ")"
    )


class TargetLock:
    """Held from acquire() to release(); a second holder fails at once with the first's PID
    (or, with `wait`, waits for it).

    The lock lives on the host, keyed by the identity of the target, so that taking it never
    writes into the target (a dry run changes nothing). Its file is removed on release, so
    that /run/lock/sysprep does not keep one file per target ever used; a locker that got
    the lock on a file removed (or replaced) meanwhile tries again on the current one.
    """

    def __init__(self, key: str, what: str) -> None:
        self.path = os.path.join(_lock_dir(), key.replace("/", "_") + ".lock")
        self.what = what
        self.fd = -1

    def acquire(self, *, wait: bool = False) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as e:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise Busy(
                        f"another sysprep (PID {holder}) is already running on "
                        f"{self.what}; wait for it to finish"
                    ) from None
                raise
            if self._current(fd):
                break
            os.close(fd)  # its holder removed it on release: lock the one at the path now
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def _current(self, fd: int) -> bool:
        """Whether the locked file is still the one at the path."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        if self.fd >= 0:
            try:  # while still holding it: whoever waits on this file then sees it is gone
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = -1

    def held(self) -> bool:
        """Whether a process holds the lock now, asked without taking it (taking it, even
        shared, would make a run starting at that moment fail): the kernel's table of locks."""
        try:
            st = os.stat(self.path)
            with open("/proc/locks", encoding="ascii", errors="replace") as f:
                table = f.read()
        except OSError:
            return False
        ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        return any(
            line.split()[5:6] == [ident]
            for line in table.splitlines()
            if " FLOCK " in line and "->" not in line
        )

    def __enter__(self) -> TargetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
