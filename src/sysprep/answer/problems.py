"""What is wrong with an answer file, and where: `FILE:LINE:COL: message; hint`."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Iterable, NoReturn

from sysprep.errors import LocatedError

MAX_REPORTED = 20  # errors listed before "... and N more"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based
    col: int  # 1-based
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR

    def render(self, *, severity: bool = True) -> str:
        """One line, whatever the message quotes from the file; warnings say so unless
        `severity` is False (a log line that has its own level)."""
        where = f"{one_line(self.file)}:{self.line}:{self.col}"
        kind = "warning: " if severity and self.severity is Severity.WARNING else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}: {kind}{one_line(self.message + hint)}"

    def as_error(self) -> Problem:
        return Problem(self.file, self.line, self.col, self.message, self.hint, Severity.ERROR)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\ud800-\udfff]")


def one_line(text: str) -> str:
    """Escape what would break a one-line message (newlines, controls, lone surrogates)."""
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def show(value: str, limit: int = 40) -> str:
    """A value of the file quoted in a message: escaped and shortened."""
    text = one_line(value)
    return repr(text[:limit] + "..." if len(text) > limit else text)


def fail(problems: Iterable[Problem]) -> NoReturn:
    """Raise the errors as one LocatedError (exit 2), at most MAX_REPORTED of them listed."""
    found = list(problems)
    lines = [p.render() for p in found[:MAX_REPORTED]]
    if len(found) > MAX_REPORTED:
        last = found[MAX_REPORTED]
        lines.append(
            f"{one_line(last.file)}:{last.line}:{last.col}: ... and "
            f"{len(found) - MAX_REPORTED} more errors"
        )
    raise LocatedError(lines)


def fail_at(file: str, line: int, col: int, message: str, hint: str = "") -> NoReturn:
    fail([Problem(file, line, col, message, hint)])
