"""What the terminal can do: a full-screen UI or the plain fallback, and which glyphs it draws.

The Linux virtual console (TERM=linux) has 8/16 colours and a 256- or 512-glyph font: the
UIs then use ASCII marks and spinners, and box lines only from the VGA set. The plain fallback
is chosen when a full-screen UI cannot work (not a terminal, TERM=dumb, no size, textual
missing) or when asked for with SYSPREP_UI=plain.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping

# the boot switches moved below the UI (the boot engine reads them too); importable from here
from sysprep.passes.switches import CMDLINE_ENV as CMDLINE_ENV
from sysprep.passes.switches import boot_switches as boot_switches
from sysprep.passes.switches import kernel_cmdline as kernel_cmdline

FULL = "full"
PLAIN = "plain"
MIN_COLUMNS, MIN_ROWS = 60, 20


@dataclass(frozen=True)
class Glyphs:
    ok: str
    fail: str
    pending: str
    rerun: str
    spinner: tuple[str, ...]
    arrow: str


UNICODE = Glyphs(
    ok="✔",
    fail="✘",
    pending="·",
    rerun="↻",
    spinner=("⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"),
    arrow="›",
)
# Every console font (the kernel's VGA font, Debian's Lat15/Uni2) has these.
ASCII = Glyphs(
    ok="OK", fail="XX", pending="..", rerun="<>", spinner=("|", "/", "-", "\\"), arrow=">"
)


@dataclass(frozen=True)
class Terminal:
    """How to talk to the user on this terminal."""

    mode: str  # FULL or PLAIN
    console: bool  # a Linux virtual console: limited glyphs and colours
    why: str = ""  # why the plain fallback was chosen

    @property
    def full(self) -> bool:
        return self.mode == FULL

    @property
    def glyphs(self) -> Glyphs:
        return ASCII if self.console else UNICODE


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def is_console_term(env: Mapping[str, str]) -> bool:
    term = env.get("TERM", "")
    return term == "linux" or term.startswith("linux-") or env.get("SYSPREP_UI_GLYPHS") == "ascii"


def textual_available() -> bool:
    try:
        import textual  # noqa: F401
    except ImportError:
        return False
    return True


def detect(
    fd_in: int | None = None, fd_out: int | None = None, env: Mapping[str, str] | None = None
) -> Terminal:
    """Full-screen when the terminal can show it; the plain fallback otherwise."""
    env = os.environ if env is None else env
    fd_in = sys.stdin.fileno() if fd_in is None and sys.stdin is not None else (fd_in or 0)
    fd_out = sys.stdout.fileno() if fd_out is None and sys.stdout is not None else (fd_out or 1)
    console = is_console_term(env)
    forced = env.get("SYSPREP_UI", "").strip().lower()
    if forced == PLAIN:
        return Terminal(PLAIN, console, "SYSPREP_UI=plain")
    if not (_isatty(fd_in) and _isatty(fd_out)):
        return Terminal(PLAIN, console, "not a terminal")
    term = env.get("TERM", "")
    if term in ("", "dumb", "unknown"):
        return Terminal(PLAIN, console, f"TERM={term or '(unset)'}")
    try:
        size = os.get_terminal_size(fd_out)
    except OSError:
        return Terminal(PLAIN, console, "the terminal reports no size")
    if size.columns == 0 or size.lines == 0:
        return Terminal(PLAIN, console, "the terminal reports no size (a serial console?)")
    if size.columns < MIN_COLUMNS or size.lines < MIN_ROWS:
        return Terminal(
            PLAIN,
            console,
            f"the terminal is {size.columns}x{size.lines}; "
            f"the full-screen UI needs {MIN_COLUMNS}x{MIN_ROWS}",
        )
    if not textual_available():
        return Terminal(PLAIN, console, "textual is not available")
    return Terminal(FULL, console)
