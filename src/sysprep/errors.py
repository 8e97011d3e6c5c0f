"""The two kinds of error a user sees, and the exit codes they map to."""

from __future__ import annotations

import enum
import signal
import stat
from typing import Sequence


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the run started and something failed
    USAGE = 2  # the request was wrong; nothing was changed
    PENDING = 3  # sysprep state: a pass is under way, or will run in this boot


class SysprepError(Exception):
    """Base of the errors rendered as one clear line, never as a traceback."""

    exit_code = ExitCode.FAILURE


class UsageError(SysprepError):
    """The user asked for something wrong: bad command line, answer file or target.

    Raised before anything on the target is changed.
    """

    exit_code = ExitCode.USAGE


class LocatedError(UsageError):
    """Mistakes at places in a file the user wrote (an answer file).

    Rendered as one `FILE:LINE:COL: message` line per mistake, without the `sysprep:` prefix,
    in the form editors and CI logs link to the place.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


class RunError(SysprepError):
    """The run was valid but failed while it ran."""

    exit_code = ExitCode.FAILURE


class Terminated(KeyboardInterrupt):
    """The run was asked to stop by a signal (SIGTERM, SIGHUP): stopped like Ctrl+C."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def reason(e: SysprepError | OSError | KeyboardInterrupt) -> str:
    """What went wrong, as one line: a sysprep error's message, what the system refused
    (and on which file), or what stopped the run."""
    if isinstance(e, KeyboardInterrupt):
        return str(e) if isinstance(e, Terminated) else "interrupted (Ctrl+C)"
    if isinstance(e, OSError):
        return f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
    return str(e)


def not_regular(mode: int) -> str | None:
    """What a file is when it is not a regular file (for messages); None when it is one."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((what for test, what in kinds if test(mode)), "not a regular file")
