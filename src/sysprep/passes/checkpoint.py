"""Named points of the pass engine where a crash is survivable: the crash-injection tests kill
the process at each of them (SYSPREP_TEST_CRASH_AT=name or name@N for the N-th time) and check
that a rerun finishes with the same result."""

from __future__ import annotations

import os
import signal

ENV = "SYSPREP_TEST_CRASH_AT"
_seen: dict[str, int] = {}

# Every checkpoint the engine has, in the order a pass meets them.
POINTS = (
    "boot-start",  # lock taken, nothing done yet
    "before-state",  # before a state write
    "after-state",  # after a state write
    "before-provider",  # between providers
    "before-command",  # a command's start is recorded, it has not run
    "after-command",  # the command exited, its completion is not recorded
    "after-record",  # the completion is recorded
    "before-reboot",  # everything recorded, the reboot not yet asked
    "pass-done",  # a pass finished, the next not started
)


def checkpoint(name: str) -> None:
    want = os.environ.get(ENV)
    if not want:
        return
    point, _, nth = want.partition("@")
    if point != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
