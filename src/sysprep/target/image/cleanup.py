"""One exit stack for everything an image run sets up, unwound however the run ends.

SIGTERM and SIGHUP become an exception (a kind of KeyboardInterrupt, like Ctrl+C), so a
killed run unwinds through the same `with` blocks as a finished one. While unwinding, those
signals are ignored (and so are they in the tools started meanwhile, which inherit it):
a second Ctrl+C cannot cut a clean-up in half.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Any, Iterator

from sysprep.errors import Terminated

CAUGHT = (signal.SIGTERM, signal.SIGHUP)
QUIET = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop(signum: int, frame: FrameType | None) -> None:
    """The handler of CAUGHT signals: stop the run as Ctrl+C does."""
    raise Terminated(signum)


def _stop_once(signum: int, frame: FrameType | None) -> None:
    for sig in QUIET:  # the orderly stop that follows is not cut in half by a second signal
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the run as Ctrl+C does (an SSH disconnect is SIGHUP): the run
    unwinds and records why, instead of dying half-way without a word."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in QUIET}
    for sig in CAUGHT:
        signal.signal(sig, _stop_once)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def shielded(then: dict[int, Any] | None = None) -> Iterator[None]:
    """Ignore the termination signals meanwhile (so do the tools started meanwhile): for work
    that must not be cut in half, such as a clean-up or changing a file system's UUID.
    Afterwards each signal gets its handler back, or the one `then` names for it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in QUIET}
    try:
        yield
    finally:
        restore: dict[int, Any] = {int(sig): h for sig, h in saved.items()}
        restore.update(then or {})
        for signum, handler in restore.items():
            signal.signal(signum, handler)


class Cleanup(contextlib.ExitStack):
    """An ExitStack that turns termination signals into an orderly unwind."""

    def __init__(self) -> None:
        super().__init__()
        self._saved: dict[int, Any] = {}
        self._main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> Cleanup:
        if self._main:
            for sig in CAUGHT:
                self._saved[sig] = signal.signal(sig, stop)
        return self

    def __exit__(self, *exc: Any) -> bool:
        # the handlers from before __enter__ come back straight from "ignored": a signal in
        # between would raise Terminated after a complete unwind
        then, self._saved = self._saved, {}
        with shielded(then):
            return bool(super().__exit__(*exc))
