"""The follow-ups (the CA store rebuild) a run's providers called for, until they ran.

One becomes due when a provider that declares it changed something, and runs after the last
provider that declares it. If a provider in between fails, the due ones run before the run
stops; and each due one is recorded in the steps record until it ran, so that a run killed
in between leaves it to the rerun (which finds nothing left to remove, so would not call
for it again).
"""

from __future__ import annotations

from typing import Callable

from sysprep.errors import SysprepError, reason
from sysprep.passes.steps import Steps
from sysprep.providers.actions import FOLLOWUPS, Followup
from sysprep.providers.base import Context
from sysprep.target.confined import Confined


class Due:
    def __init__(self, fs: Confined) -> None:
        self.steps = Steps(fs)
        # recorded by an earlier run that did not get to run them
        self.pending = {FOLLOWUPS[n] for n in self.steps.due() if n in FOLLOWUPS}
        self.ran: set[Followup] = set()  # once per run

    def add(self, followups: set[Followup]) -> None:
        new = followups - self.pending - self.ran
        for f in sorted(new, key=lambda f: f.name):
            self.steps.mark_due(f.name)
        self.pending |= new

    def run(self, f: Followup, ctx: Context) -> None:
        f.run(ctx)
        self.ran.add(f)
        self.pending.discard(f)
        self.steps.clear_due(f.name)

    def run_left(self, context: Callable[[], Context]) -> str | None:
        """Run every follow-up still due (each in a context of its own); the first error."""
        failed = None
        for f in sorted(self.pending, key=lambda f: f.name):
            ctx = context()
            try:
                self.run(f, ctx)
            except SysprepError as e:
                ctx.fail(str(e))
            except OSError as e:
                ctx.fail(reason(e))
            if ctx.errors and failed is None:
                failed = f"{f.name}: {ctx.errors[0]}"
        return failed
