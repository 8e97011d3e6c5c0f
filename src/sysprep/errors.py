"""The two kinds of error a user sees, and the exit codes they map to."""

from __future__ import annotations

import enum
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


def reason(e: SysprepError | OSError) -> str:
    """What went wrong, as one line: a sysprep error's message, or what the system refused
    (and on which file)."""
    if isinstance(e, OSError):
        return f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
    return str(e)
