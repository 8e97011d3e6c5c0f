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
from typing import Any

CAUGHT = (signal.SIGTERM, signal.SIGHUP)
QUIET = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The run was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


class Cleanup(contextlib.ExitStack):
    """An ExitStack that turns termination signals into an orderly unwind."""

    def __init__(self) -> None:
        super().__init__()
        self._saved: dict[int, Any] = {}
        self._main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> Cleanup:
        if self._main:
            for sig in CAUGHT:
                self._saved[sig] = signal.signal(sig, _raise)
        return self

    def __exit__(self, *exc: Any) -> bool:
        quiet: dict[int, Any] = {}
        if self._main:
            for sig in QUIET:
                quiet[sig] = signal.signal(sig, signal.SIG_IGN)
        try:
            return bool(super().__exit__(*exc))
        finally:
            if self._main:
                restore: dict[int, Any] = {**quiet, **self._saved}
                for signum, handler in restore.items():
                    signal.signal(signum, handler)
