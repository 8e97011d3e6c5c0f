"""Run-once records of the boot-time steps (providers, settings) of the current cycle.

A pass resumed after a reboot or a crash skips what it finished, as cloud-init's run-once
markers do; and a value generated once (ComputerName "*") stays the same. The record is
reset whenever sysprep reseals the image (a new cycle of passes).

It also holds the follow-ups that became due (the CA store rebuild) and have not run yet, so
that a run killed between a certificate's removal and the rebuild rebuilds on the rerun
(which finds nothing left to remove). That list is read from the file each time it is used,
as two Steps objects of one run may be alive.
"""

from __future__ import annotations

import json
from typing import Callable

from sysprep.target.confined import Confined

STEPS_FILE = "var/lib/sysprep/steps.json"


def _load(fs: Confined) -> dict[str, object]:
    raw = fs.read_bytes(STEPS_FILE, limit=1024 * 1024)
    if not raw:
        return {}
    try:
        loaded = json.loads(raw)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _due(data: dict[str, object]) -> list[str]:
    due = data.get("due", [])
    return [str(d) for d in due] if isinstance(due, list) else []


class Steps:
    def __init__(self, fs: Confined) -> None:
        self.fs = fs
        data = _load(fs)
        done = data.get("done", [])
        self.done: list[str] = [str(d) for d in done] if isinstance(done, list) else []
        values = data.get("values", {})
        self.values: dict[str, str] = (
            {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}
        )

    def is_done(self, step: str) -> bool:
        return step in self.done

    def mark(self, step: str) -> None:
        """Record (fsynced) that a step finished."""
        if step not in self.done:
            self.done.append(step)
            self._save()

    def value(self, key: str, make: Callable[[], str]) -> str:
        """A value made once per cycle (e.g. a generated host name), remembered."""
        if key not in self.values:
            self.values[key] = make()
            self._save()
        return self.values[key]

    def due(self) -> list[str]:
        """The follow-ups recorded due and not run yet (by name)."""
        return _due(_load(self.fs))

    def mark_due(self, name: str) -> None:
        """Record (fsynced) that a follow-up became due."""
        due = self.due()
        if name not in due:
            self._save([*due, name])

    def clear_due(self, name: str) -> None:
        """Record that a due follow-up ran."""
        due = self.due()
        if name in due:
            self._save([d for d in due if d != name])

    def _save(self, due: list[str] | None = None) -> None:
        if self.fs.dry_run:
            return
        data = {"done": self.done, "values": self.values, "due": self.due() if due is None else due}
        self.fs.write(STEPS_FILE, (json.dumps(data, indent=1) + "\n").encode(), mode=0o600)
