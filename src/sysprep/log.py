"""setupact.log, setuperr.log and the JSON-lines action record, as the seed's Panther logs.

Logging starts before anything else, in memory; once the target is open and locked the
log is attached to the target's log folder for the phase (see LOG_DIRS) and what was
buffered is written out. Records stream to disk as they come: memory stays flat.
"""

from __future__ import annotations

import enum
import json
import os
import re
import socket
import sys
import time
from typing import IO, Mapping, Protocol

# Generalize logs live outside var/log, which the generalize phase cleans (the seed's Panther).
PANTHER = "var/lib/sysprep/panther"
BOOT_LOGS = "var/log/sysprep"
UNATTEND_LOGS = "var/log/sysprep/unattendgc"

ACT = "setupact.log"
ERR = "setuperr.log"
RECORDS = "actions.jsonl"

JOURNAL_SOCKET = "/run/systemd/journal/socket"
REDACTED = "*SENSITIVE*DATA*DELETED*"


class LogFolder(Protocol):
    """What the log needs of a target to write into it (sysprep.target.confined.Confined): the
    log sits below the target, which logs through it."""

    def mkdir(self, path: str, mode: int = ...) -> object: ...

    def chmod(self, path: str, mode: int) -> object: ...

    def open_append(self, path: str, mode: int = ...) -> int: ...


class Level(str, enum.Enum):
    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"


_PRIORITY = {Level.INFO: 6, Level.WARNING: 4, Level.ERROR: 3}


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return {"\n": "\\n", "\r": "\\r"}.get(ch) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    )


# C0 and C1 controls (but tab), DEL, undecodable bytes, and the line and paragraph separators
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")


def printable(text: str) -> str:
    """Text from a target (a file name can hold ESC sequences or newlines) made safe for a
    terminal or a line of a text log: every control character becomes a visible escape."""
    return _UNPRINTABLE.sub(lambda m: _escape(m.group()), text)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


class RunLog:
    """The log of one run: to the target's files, the console, and the journal when live."""

    def __init__(
        self, *, quiet: bool = False, console: IO[str] | None = None, verbose: bool = False
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose  # every action reaches the screen too (-v)
        self.console = console if console is not None else sys.stderr
        self.warnings = 0
        self.errors = 0
        self._secrets: set[str] = set()
        self._identity: dict[str, str] = {}  # token of the template -> what stands for it
        self._identity_rx: re.Pattern[str] | None = None
        self._buffer: list[tuple[str, Level, str, str]] = []
        self._records: list[str] = []
        self._fds: dict[str, int] = {}
        self._journal: socket.socket | None = None
        self.folder: str | None = None

    # -- where it goes ----------------------------------------------------------------

    def attach(self, fs: LogFolder, folder: str, *, journal: bool = False) -> None:
        """Write to `folder` in the target from now on, starting with what was buffered."""
        fs.mkdir(folder, 0o700)
        fs.chmod(folder, 0o700)
        fds: dict[str, int] = {}
        try:  # all three or none: until then, what is logged stays buffered
            for name in (ACT, ERR, RECORDS):
                fds[name] = fs.open_append(f"{folder}/{name}", 0o600)
        except BaseException:
            for fd in fds.values():
                os.close(fd)
            raise
        self._fds.update(fds)
        self.folder = folder
        if journal and os.path.exists(JOURNAL_SOCKET):
            try:
                self._journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._journal.connect(JOURNAL_SOCKET)
            except OSError:
                self._journal = None
        for ts, level, comp, msg in self._buffer:
            self._write_line(ts, level, comp, msg)
        for line in self._records:
            self._append(RECORDS, line)
        self._buffer.clear()
        self._records.clear()

    def close(self) -> None:
        for fd in self._fds.values():
            try:
                os.fsync(fd)
            except OSError:
                pass
            os.close(fd)
        self._fds.clear()
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def add_secret(self, secret: str) -> None:
        """Never let this string reach a log, the console or the journal."""
        if secret:
            self._secrets.add(secret)

    def add_identity(self, token: str, label: str) -> None:
        """Never let this identity token of the template (machine-id, host name...) reach a
        log: it is shown as <label> wherever it stands as a whole word (a journal folder)."""
        if token:
            self._identity[token] = f"<{label}>"
            words = sorted(self._identity, key=len, reverse=True)
            self._identity_rx = re.compile(
                r"(?<![\w.-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])"
            )

    def redact(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, REDACTED)
        if self._identity_rx is not None:
            text = self._identity_rx.sub(lambda m: self._identity[m.group()], text)
        return text

    # -- messages ---------------------------------------------------------------------

    def info(self, msg: str, component: str = "sysprep") -> None:
        """To the log files; to the screen too with -v."""
        self._emit(Level.INFO, component, msg, console=self.verbose and not self.quiet)

    def step(self, msg: str, component: str = "sysprep") -> None:
        """To the log files and, unless quiet, the screen."""
        self._emit(Level.INFO, component, msg, console=not self.quiet)

    def warning(self, msg: str, component: str = "sysprep") -> None:
        self.warnings += 1
        self._emit(Level.WARNING, component, msg, console=not self.quiet)

    def error(self, msg: str, component: str = "sysprep", *, console: bool = True) -> None:
        """`console=False`: the caller tells the user itself (the run's final message)."""
        self.errors += 1
        self._emit(Level.ERROR, component, msg, console=console)

    def record(self, rec: Mapping[str, object]) -> None:
        """One line of the machine-readable action record."""
        line = self.redact(json.dumps(rec, sort_keys=True, ensure_ascii=False)) + "\n"
        if RECORDS in self._fds:
            self._append(RECORDS, line)
        else:
            self._records.append(line)

    def take_records(self) -> list[dict[str, object]]:
        """The action records not written to a file (a dry run's plan), in order."""
        out = [json.loads(line) for line in self._records]
        self._records.clear()
        return out

    def _emit(self, level: Level, component: str, msg: str, *, console: bool) -> None:
        msg = printable(self.redact(msg))  # one line each, whatever names the target holds
        ts = _now()
        if self._fds:
            self._write_line(ts, level, component, msg)
        else:
            self._buffer.append((ts, level, component, msg))
        if console:
            prefix = "" if level is Level.INFO else f"{level.value.lower()}: "
            who = "" if component == "sysprep" else f"[{component}] "
            try:
                print(f"sysprep: {prefix}{who}{msg}", file=self.console, flush=True)
            except (OSError, ValueError):
                pass
        if self._journal is not None:
            self._send_journal(level, component, msg)

    def _write_line(self, ts: str, level: Level, component: str, msg: str) -> None:
        line = f"{ts}, {level.value:<8} [{component}] {msg}\n"
        self._append(ACT, line)
        if level is not Level.INFO:
            self._append(ERR, line)

    def _append(self, name: str, line: str) -> None:
        data = line.encode("utf-8", "replace")
        fd = self._fds[name]
        while data:
            data = data[os.write(fd, data) :]

    def _send_journal(self, level: Level, component: str, msg: str) -> None:
        assert self._journal is not None
        fields = {
            "MESSAGE": msg,
            "PRIORITY": str(_PRIORITY[level]),
            "SYSLOG_IDENTIFIER": "sysprep",
            "SYSPREP_COMPONENT": component,
        }
        payload = b"".join(_journal_field(k, v) for k, v in fields.items())
        try:
            self._journal.send(payload)
        except OSError:
            pass


def _journal_field(key: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" not in data:
        return key.encode() + b"=" + data + b"\n"
    return key.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"
