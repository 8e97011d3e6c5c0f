"""Words and tables for the screen: counts with their plural, sizes, and tables that fit the
terminal (80 columns when it is not one); the full text is always in --json."""

from __future__ import annotations

import os
import shutil
import textwrap
from typing import Sequence

DEFAULT_COLUMNS = 80
MIN_COLUMNS = 40


def plural(n: int, word: str, words: str = "") -> str:
    """`1 file`, `2 files` (`words`: an irregular plural)."""
    return f"{n} {word if n == 1 else words or word + 's'}"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def columns() -> int:
    """The width to fit: $COLUMNS, else the terminal's, else 80."""
    env = os.environ.get("COLUMNS", "")
    width = int(env) if env.isdigit() else shutil.get_terminal_size((DEFAULT_COLUMNS, 24)).columns
    return max(width, MIN_COLUMNS)


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with `...`."""
    if len(text) <= width:
        return text
    return text[: max(width - 3, 0)] + "..." if width > 3 else text[:width]


def table(
    rows: Sequence[Sequence[str]],
    width: int | None = None,
    *,
    indent: str = "",
    right: Sequence[int] = (),
) -> list[str]:
    """Rows as aligned columns in `width`: every column but the last as wide as its widest
    cell (cut when that would leave the last one fewer than 20 columns), the last one
    wrapped under itself."""
    width = width or columns()
    if not rows:
        return []
    n = max(len(r) for r in rows)
    cells = [[*r, *[""] * (n - len(r))] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(n - 1)]
    room = width - len(indent) - sum(widths) - 2 * (n - 1)
    while room < 20 and widths and max(widths) > 8:  # cut the widest column, not the text's end
        i = widths.index(max(widths))
        cut = min(widths[i] - 8, 20 - room)
        widths[i] -= cut
        room += cut
    lines = []
    for r in cells:
        head = "  ".join(
            fit(c, w).rjust(w) if i in right else fit(c, w).ljust(w)
            for i, (c, w) in enumerate(zip(r, widths))
        )
        lead = indent + (head + "  " if n > 1 else "")
        last = textwrap.wrap(r[-1], max(width - len(lead), 20)) or [""]
        lines.append((lead + last[0]).rstrip())
        lines.extend((" " * len(lead) + more).rstrip() for more in last[1:])
    return lines


def flow(items: Sequence[str], width: int | None = None, *, indent: str = "  ") -> list[str]:
    """Items separated by commas, filled into lines of `width` (a summary list)."""
    width = width or columns()
    lines: list[str] = []
    line = ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if line and len(indent) + len(line) + 1 + len(piece) > width:
            lines.append(indent + line)
            line = ""
        line = f"{line} {piece}" if line else fit(piece, width - len(indent))
    return [*lines, indent + line] if line else lines
