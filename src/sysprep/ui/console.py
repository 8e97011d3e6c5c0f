"""Showing a UI on the console at boot, from the boot-time engine (a systemd service).

The service's own output goes to the journal and /dev/console; the UI runs in a child
process whose session and terminal are the console's VT (tty1, or what `sysprep.console=`
on the kernel command line or SYSPREP_CONSOLE names; `-` = this process's own terminal,
`none` = no console). The child reports to the engine through a pipe, one JSON object a
line; the engine applies what it collected. On a VT, Ctrl+Shift+F3 is made to send what
xterm sends for it while the UI runs (see `chord`): Debian's console keymap maps it to a
function key with no string, so by default it sends nothing at all.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import signal
import struct
import sys
import termios
import time
import traceback
from typing import Any, Callable, Dict, Optional

from sysprep.passes.switches import boot_switches

CONSOLE_ENV = "SYSPREP_CONSOLE"
DEFAULT_TTY = "/dev/tty1"
HERE = "-"

Message = Dict[str, Any]

# linux/kd.h
KDGKBTYPE = 0x4B33
KDGKBENT, KDSKBENT, KDGKBSENT, KDSKBSENT = 0x4B46, 0x4B47, 0x4B48, 0x4B49
VT_ACTIVATE = 0x5606
KG_SHIFT, KG_CTRL = 0, 2
KT_FN = 1
F3_KEYCODE = 61
CHORD_TABLE = (1 << KG_SHIFT) | (1 << KG_CTRL)
# What xterm sends for Ctrl+Shift+F3; textual reads it as "ctrl+f15".
CHORD_SEQUENCE = b"\x1b[1;6R"
SPARE_FUNC = 254  # an F-key slot (F245) no keymap uses, for a chord mapped to nothing


def console_path(
    interactive: bool = False, cmdline: dict[str, str] | None = None, *, live: bool = True
) -> str | None:
    """Where to show a boot-time UI: SYSPREP_CONSOLE, else sysprep.console= on the kernel
    command line, else this terminal when run by hand from one, else tty1 (None: no console).
    An offline target never gets the host's tty1."""
    cmdline = boot_switches(live) if cmdline is None else cmdline
    value = os.environ.get(CONSOLE_ENV) or cmdline.get("console") or ""
    if value == "none":
        return None
    if value in (HERE, "stdio"):
        return HERE
    if value:
        return value if value.startswith("/") else "/dev/" + value
    if interactive:
        return HERE
    return DEFAULT_TTY if live and os.path.exists(DEFAULT_TTY) else None


def is_vt(fd: int) -> bool:
    try:
        fcntl.ioctl(fd, KDGKBTYPE, b"\0")
    except OSError:
        return False
    return True


# -- Ctrl+Shift+F3 on the Linux console ----------------------------------------------------


def _entry(fd: int, table: int, index: int) -> int:
    res = fcntl.ioctl(fd, KDGKBENT, struct.pack("BBH", table, index, 0))
    return int(struct.unpack("BBH", res)[2])


def _set_entry(fd: int, table: int, index: int, value: int) -> None:
    fcntl.ioctl(fd, KDSKBENT, struct.pack("BBH", table, index, value))


def _string(fd: int, func: int) -> bytes:
    res = fcntl.ioctl(fd, KDGKBSENT, struct.pack("B512s", func, b""))
    return bytes(res[1:]).split(b"\0", 1)[0]


def _set_string(fd: int, func: int, value: bytes) -> None:
    fcntl.ioctl(fd, KDSKBSENT, struct.pack("B512s", func, value))


class Chord:
    """Ctrl+Shift+F3 on a VT: what the keymap makes of it, and a patch while the UI runs."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.before = ""  # what the chord produced before the patch, in words
        self._undo: list[Callable[[], None]] = []

    def patch(self) -> str:
        """Make the chord send CHORD_SEQUENCE; returns what it did before (for the log)."""
        fd = self.fd
        value = _entry(fd, CHORD_TABLE, F3_KEYCODE)
        kind, index = value >> 8, value & 0xFF
        if kind == KT_FN:
            old = _string(fd, index)
            self.before = (
                f"function key {index} sending {old!r}"
                if old
                else f"function key {index} with no string: it sends nothing"
            )
            if old == CHORD_SEQUENCE:
                return self.before
            _set_string(fd, index, CHORD_SEQUENCE)
            self._undo.append(lambda: _set_string(fd, index, old))
        else:
            self.before = f"keysym 0x{value:04x} (not a function key): it sends nothing usable"
            old_spare = _string(fd, SPARE_FUNC)
            _set_entry(fd, CHORD_TABLE, F3_KEYCODE, (KT_FN << 8) | SPARE_FUNC)
            _set_string(fd, SPARE_FUNC, CHORD_SEQUENCE)
            self._undo.append(lambda: _set_entry(fd, CHORD_TABLE, F3_KEYCODE, value))
            self._undo.append(lambda: _set_string(fd, SPARE_FUNC, old_spare))
        return self.before

    def restore(self) -> None:
        while self._undo:
            try:
                self._undo.pop()()
            except OSError:
                pass


# -- the child process ---------------------------------------------------------------------


class Channel:
    """The child's side: report events to the engine, notice when it asks to stop."""

    def __init__(
        self,
        out_fd: int | None,
        stop_fd: int | None,
        on_event: Callable[[Message], None] | None = None,
    ) -> None:
        self._out, self._stop, self._on_event = out_fd, stop_fd, on_event
        self.stopped = False

    def send(self, message: Message) -> None:
        if self._on_event is not None:
            self._on_event(message)
        if self._out is not None:
            try:
                os.write(self._out, (json.dumps(message) + "\n").encode())
            except OSError:
                pass

    def stop_requested(self) -> bool:
        if self.stopped:
            return True
        if self._stop is None:
            return False
        ready, _, _ = select.select([self._stop], [], [], 0)
        if ready:
            self.stopped = True
        return self.stopped


Work = Callable[[Channel], Optional[Message]]


class ConsoleChild:
    """A UI running on a terminal in a child process (or in this process for `-`)."""

    def __init__(
        self, path: str, work: Work, *, on_event: Callable[[Message], None] | None = None
    ) -> None:
        self.path, self.work, self.on_event = path, work, on_event
        self.pid = 0
        self._events_r = -1
        self._stop_w = -1
        self._buf = b""
        self.result: Message | None = None
        self.error = ""

    def start(self) -> ConsoleChild:
        if self.path == HERE:
            return self
        events_r, events_w = os.pipe()
        stop_r, stop_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        pid = os.fork()
        if pid == 0:  # the child never returns into the engine
            code = 1
            try:
                os.close(events_r)
                os.close(stop_w)
                code = _child(self.path, self.work, events_w, stop_r)
            except BaseException:
                try:
                    os.write(
                        events_w,
                        (json.dumps({"error": traceback.format_exc(limit=5)}) + "\n").encode(),
                    )
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(events_w)
        os.close(stop_r)
        self.pid, self._events_r, self._stop_w = pid, events_r, stop_w
        return self

    def _read(self, timeout: float | None) -> bool:
        """Read what the child sent; False once it closed its end."""
        ready, _, _ = select.select([self._events_r], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self._events_r, 65536)
        except OSError as e:
            if e.errno == errno.EINTR:
                return True
            data = b""
        if not data:
            return False
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if "result" in msg:
                self.result = msg["result"]
            elif "error" in msg:
                self.error = str(msg["error"])
            elif self.on_event is not None:
                self.on_event(msg)
        return True

    def wait(self, timeout: float | None = None) -> Message | None:
        """Until the child ends (or the timeout passes: then it is stopped)."""
        if self.path == HERE:
            return self.run_here()
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            if left == 0.0:
                self.stop()
                break
            if not self._read(min(left, 1.0) if left is not None else 1.0):
                break
        self._reap()
        return self.result

    def stop(self, grace: float = 5.0) -> Message | None:
        """Ask the child to finish (it sees its stop pipe close), then make sure it has."""
        if self.path == HERE or self.pid == 0:
            return self.result
        if self._stop_w >= 0:
            os.close(self._stop_w)
            self._stop_w = -1
        end = time.monotonic() + grace
        while time.monotonic() < end and self._read(0.2):
            pass
        if self._alive():
            os.kill(self.pid, signal.SIGTERM)
            time.sleep(0.5)
            if self._alive():
                os.kill(self.pid, signal.SIGKILL)
        self._reap()
        return self.result

    def _alive(self) -> bool:
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == self.pid:
            self.pid = -self.pid  # reaped
            return False
        return True

    def _reap(self) -> None:
        if self.pid > 0:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0
        if self._events_r >= 0:
            os.close(self._events_r)
            self._events_r = -1
        if self._stop_w >= 0:
            os.close(self._stop_w)
            self._stop_w = -1

    def run_here(self) -> Message | None:
        self.result = self.work(Channel(None, None, self.on_event))
        return self.result


def _child(path: str, work: Work, events_w: int, stop_r: int) -> int:
    os.setsid()
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.ioctl(fd, termios.TIOCSCTTY, 1)
    except OSError:
        pass
    for n in (0, 1, 2):
        os.dup2(fd, n)
    if fd > 2:
        os.close(fd)
    vt = is_vt(0)
    os.environ["TERM"] = "linux" if vt else (os.environ.get("TERM") or "vt220")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C on the console must not kill setup
    chord = Chord(0) if vt else None
    channel = Channel(events_w, stop_r)
    if vt:
        try:
            number = int(path.rsplit("tty", 1)[1])
            fcntl.ioctl(0, VT_ACTIVATE, number)
        except (ValueError, IndexError, OSError):
            pass
    try:
        if chord is not None:
            try:
                channel.send({"event": "chord", "before": chord.patch()})
            except OSError as e:
                channel.send(
                    {"event": "chord", "before": f"unknown (the keymap could not be read: {e})"}
                )
        result = work(channel)
        channel.send({"result": result})
    finally:
        if chord is not None:
            chord.restore()
    return 0
