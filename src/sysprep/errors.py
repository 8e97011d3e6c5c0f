"""The two kinds of error a user sees, and the exit codes they map to."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the run started and something failed
    USAGE = 2  # the request was wrong; nothing was changed


class SysprepError(Exception):
    """Base of the errors rendered as one clear line, never as a traceback."""

    exit_code = ExitCode.FAILURE


class UsageError(SysprepError):
    """The user asked for something wrong: bad command line, answer file or target.

    Raised before anything on the target is changed.
    """

    exit_code = ExitCode.USAGE


class RunError(SysprepError):
    """The run was valid but failed while it ran."""

    exit_code = ExitCode.FAILURE
