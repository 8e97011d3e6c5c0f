"""The console UI of the boot-time passes (passes.bootui.BootUI): the AuditUI while a pass's
commands run, and the welcome. Built by `sysprep boot` and handed to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sysprep.passes.bootui import Outcome, Viewer

if TYPE_CHECKING:
    from sysprep.answer.model import Answer
    from sysprep.log import RunLog
    from sysprep.target import Target


class ConsoleUI:
    def show_commands(self, target: Target, log: RunLog, pass_name: str) -> Viewer | None:
        try:  # a runtime without the UI still runs the commands
            from sysprep.ui import audit
        except ImportError:
            return None
        viewer: Viewer | None = audit.show_on_console(target, log, pass_name)
        return viewer

    def welcome(self, target: Target, answer: Answer | None, log: RunLog) -> Outcome | None:
        try:
            from sysprep.ui import welcome
        except ImportError:
            return None
        return welcome.run_welcome(target, answer, log)
