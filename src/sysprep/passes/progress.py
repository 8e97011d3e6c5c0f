"""The progress record of a pass: which RunSynchronous items are done and which is running.

One documented format (docs/progress-record.md), written by the pass engine atomically and
fsynced before and after every command, read by `sysprep state --follow` and the AuditUI.

    {
      "version": 1,
      "pass": "auditUser",              # the pass under way (or last run)
      "boot_id": "...",                 # the boot that wrote it
      "reboot_pending": false,          # a command asked for a reboot that has not happened
      "reboot_order": null,             # the Order of that command
      "finished": false,                # every item of the pass was processed
      "items": [
        {"order": 1, "label": "Install agent", "path": "/opt/x/install",
         "will_reboot": "OnRequest", "status": "succeeded", "exit_code": 0,
         "started": "2026-11-25T10:00:00+0000", "finished": "2026-11-25T10:00:04+0000",
         "log": "/var/log/sysprep/commands/auditUser-1.log", "boot": "..."}
      ],
      "updated": "2026-11-25T10:00:04+0000"
    }

Item status: pending, running, succeeded, failed (non-fatal), rerun (exit 2 under OnRequest:
runs again after the reboot), fatal.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sysprep.answer.types import SyncCommand
from sysprep.target.confined import Confined

PROGRESS_FILE = "var/lib/sysprep/progress.json"
VERSION = 1

PENDING, RUNNING, SUCCEEDED, FAILED, RERUN, FATAL = (
    "pending",
    "running",
    "succeeded",
    "failed",
    "rerun",
    "fatal",
)
UNPROCESSED = frozenset({PENDING, RUNNING, RERUN})


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Item:
    order: int
    label: str
    path: str
    will_reboot: str
    status: str = PENDING
    exit_code: int | None = None
    started: str = ""
    finished: str = ""
    log: str = ""
    boot: str = ""  # the boot it last ran in (the AuditUI hides what ran before a reboot)

    @classmethod
    def of(cls, cmd: SyncCommand) -> Item:
        return cls(cmd.order, cmd.label, cmd.path, cmd.will_reboot.value)

    @property
    def processed(self) -> bool:
        return self.status not in UNPROCESSED


@dataclass
class Progress:
    pass_name: str
    items: list[Item] = field(default_factory=list)
    boot_id: str = ""
    reboot_pending: bool = False
    finished: bool = False
    updated: str = ""
    reboot_order: int | None = None  # the item that asked for the pending reboot

    def item(self, order: int) -> Item:
        return next(i for i in self.items if i.order == order)

    def unprocessed(self) -> list[Item]:
        return [i for i in self.items if not i.processed]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "pass": self.pass_name,
            "boot_id": self.boot_id,
            "reboot_pending": self.reboot_pending,
            "reboot_order": self.reboot_order,
            "finished": self.finished,
            "items": [asdict(i) for i in self.items],
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        items = [
            Item(**{k: v for k, v in raw.items() if k in Item.__dataclass_fields__})
            for raw in data.get("items", [])
        ]
        return cls(
            str(data.get("pass", "")),
            items,
            str(data.get("boot_id", "")),
            bool(data.get("reboot_pending", False)),
            bool(data.get("finished", False)),
            str(data.get("updated", "")),
            int(data["reboot_order"]) if isinstance(data.get("reboot_order"), int) else None,
        )


def read(fs: Confined) -> Progress | None:
    raw = fs.read_bytes(PROGRESS_FILE, limit=16 * 1024 * 1024)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    return Progress.from_json(data)


def write(fs: Confined, progress: Progress) -> None:
    """Atomically replace the record (fsynced by the confined layer); never in a dry run."""
    if fs.dry_run:
        return
    progress.updated = now()
    fs.mkdir(PROGRESS_FILE.rsplit("/", 1)[0], 0o755)
    # 0600: command lines may carry tokens, like the answer file they come from
    fs.write(
        PROGRESS_FILE,
        (json.dumps(progress.to_json(), indent=1) + "\n").encode(),
        mode=0o600,
        fresh=True,
    )
