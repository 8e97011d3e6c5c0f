"""Run-once records of the boot-time steps (providers, settings) of the current cycle.

A pass resumed after a reboot or a crash skips what it finished, as cloud-init's run-once
markers do; and a value generated once (ComputerName "*") stays the same. The record is
reset whenever sysprep reseals the image (a new cycle of passes).
"""

from __future__ import annotations

import json
from typing import Callable

from sysprep.target.confined import Confined

STEPS_FILE = "var/lib/sysprep/steps.json"


class Steps:
    def __init__(self, fs: Confined) -> None:
        self.fs = fs
        data: dict[str, object] = {}
        raw = fs.read_bytes(STEPS_FILE, limit=1024 * 1024)
        if raw:
            try:
                loaded = json.loads(raw)
                data = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                data = {}
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

    def _save(self) -> None:
        if self.fs.dry_run:
            return
        self.fs.write(
            STEPS_FILE,
            (json.dumps({"done": self.done, "values": self.values}, indent=1) + "\n").encode(),
            mode=0o600,
        )
