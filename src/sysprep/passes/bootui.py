"""What the boot engine needs from a console UI, as a small interface the engine owns: the
engine sits below the UI, so the command layer (commands/boot.py) builds the UI
(sysprep.ui.boot.ConsoleUI) and hands it in."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sysprep.answer.model import Answer
    from sysprep.log import RunLog
    from sysprep.target import Target


class Outcome(str, enum.Enum):
    """How the welcome ended."""

    DONE = "done"  # finished (or nothing to ask): the oobeSystem pass completes
    AUDIT = "audit"  # Ctrl+Shift+F3 / F12 / sysprep.audit: reseal to audit mode and reboot
    NO_CONSOLE = "no-console"  # nobody can be asked: the pass stays pending, the boot goes on
    TIMED_OUT = "timed-out"  # sysprep.welcome_timeout passed untouched: answer-file values only


class Viewer(Protocol):
    def stop(self) -> None:
        """Take the view off the console."""


class BootUI(Protocol):
    def show_commands(self, target: Target, log: RunLog, pass_name: str) -> Viewer | None:
        """Show a pass's RunSynchronous commands on the console while they run (the AuditUI);
        None without a console. May raise OSError."""

    def welcome(self, target: Target, answer: Answer | None, log: RunLog) -> Outcome | None:
        """Run the welcome (the OOBE) on the console; None when this runtime has none."""
