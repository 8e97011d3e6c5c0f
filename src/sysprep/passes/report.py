"""The report of a run (or the plan of a dry run): per provider, what it did."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from typing import IO

from sysprep import schemas, text
from sysprep.log import printable


@dataclass
class ProviderResult:
    name: str
    heading: str
    phase: str
    status: str = "pending"  # ok, failed, planned, skipped
    actions: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    target: str
    dry_run: bool
    action: str
    image_state: str = ""
    log_folder: str = ""
    providers: list[ProviderResult] = field(default_factory=list)
    plan: list[dict[str, object]] = field(default_factory=list)  # dry run: every action
    # copies of the template's identity tokens still in the target at the end (path, line, rule)
    leftovers: list[dict[str, object]] = field(default_factory=list)
    warnings: int = 0
    errors: int = 0
    error: str = ""  # what failed after the providers (an image's deferred work)
    rearms: int | None = None  # a generalize run: the rearms counted on the image after it
    release: str = ""  # how the release record changed (a point release), else ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(p.status == "failed" for p in self.providers)

    def to_json(self) -> str:
        """The report as JSON (schema: report); every field kept, new ones only added."""
        doc = {
            "schema_version": schemas.VERSION,
            **asdict(self),
            "failed": self.failed,
            "exit_code": 1 if self.failed else 0,
        }
        return json.dumps(doc, indent=2, sort_keys=True)

    def print_text(self, out: IO[str], *, verbose: bool = False) -> None:
        """One screen: what changed (by operation, those that did something), what failed,
        the image state and where the logs are; `verbose` adds a line per operation. Paths
        and notes come from the target: their control characters are shown escaped."""
        width = text.columns()
        verb = "Plan for" if self.dry_run else "Prepared"
        action = self.action.split(" (IMAGE_STATE_")[0]  # the state has its own line below
        print(
            textwrap.fill(
                printable(f"{verb} {self.target}: {action}"),
                width,
                break_on_hyphens=False,
                subsequent_indent="  ",
            ),
            file=out,
        )
        if self.dry_run:
            for rec in self.plan:  # wrapped, never cut: the plan is exact
                print(
                    textwrap.fill(
                        printable("  " + describe_record(rec)),
                        width,
                        subsequent_indent=" " * 34,
                        break_long_words=False,
                        break_on_hyphens=False,
                    ),
                    file=out,
                )
            print("", file=out)
        lines = [*(self._table(width) if verbose else ()), *self._summary(width)]
        if self.error:
            lines.append(f"Failed: {self.error}")
        if self.image_state:
            lines.append(f"Image state: {self.image_state}")
        if self.release:
            lines.append(f"Release: {self.release}")
        if self.rearms is not None:
            lines.append(f"Rearms counted: {self.rearms} (sysprep license)")
        if self.log_folder:
            lines.append(f"Logs: {self.log_folder}")
        for line in lines:
            print(printable(line), file=out)

    def _table(self, width: int) -> list[str]:
        rows = []
        for p in self.providers:
            mark = {"ok": "ok", "planned": "plan", "failed": "FAIL", "skipped": "skip"}.get(
                p.status, p.status
            )
            rows.append(
                (
                    mark,
                    p.name,
                    text.plural(p.actions, "change"),
                    text.plural(p.files, "file"),
                    text.size(p.bytes),
                    p.note or (p.errors[0] if p.errors else ""),
                )
            )
        return text.table(rows, width, indent="  ", right=(2, 3, 4))

    def _summary(self, width: int) -> list[str]:
        did = [p for p in self.providers if p.actions]
        files = sum(p.files for p in self.providers)
        verb = "Would change" if self.dry_run else "Changed"
        lines = [
            f"{verb} {text.plural(files, 'file')} ({text.size(sum(p.bytes for p in self.providers))}) "
            f"with {len(did)} of {text.plural(len(self.providers), 'operation')}"
            + (", files (or changes) each:" if did else ".")
        ]
        lines += _by_operation(did, width)
        skipped: dict[str, list[str]] = {}
        for p in self.providers:
            if p.status == "skipped":
                skipped.setdefault(p.note, []).append(p.name)
        for why, names in skipped.items():
            lines += text.flow([f"Skipped {', '.join(names)}: {why}"], width, indent="")
        lines.append(
            f"{text.plural(self.warnings, 'warning')}, {text.plural(self.errors, 'error')}"
            + (" (see the logs)" if self.warnings or self.errors else "")
        )
        return lines


LIST_LINES = 8  # the most lines the list of operations takes on the screen


def _by_operation(did: list[ProviderResult], width: int) -> list[str]:
    """`name count, ...` for every operation that did something, in run order; when that
    does not fit in LIST_LINES, the biggest ones and how many more (-v shows each)."""
    items = [f"{p.name} {p.files or p.actions}" for p in did]
    lines = text.flow(items, width)
    if len(lines) <= LIST_LINES:
        return lines
    biggest = sorted(did, key=lambda p: (-(p.files or p.actions), did.index(p)))
    for n in range(len(biggest) - 1, 0, -1):
        more = f"and {len(did) - n} more (sysprep -v shows each)"
        lines = text.flow([*(f"{p.name} {p.files or p.actions}" for p in biggest[:n]), more], width)
        if len(lines) <= LIST_LINES:
            return lines
    return lines


def describe_record(rec: dict[str, object]) -> str:
    op = str(rec.get("op", ""))
    line = f"{rec.get('provider', ''):<22} {op:<8} {rec.get('path', '')}"
    if rec.get("kind") == "dir" and op in ("remove", "clean"):
        files, dirs = int(str(rec.get("files", 0))), int(str(rec.get("dirs", 0)))
        line += (
            f"  ({text.plural(files, 'file')}, {text.plural(dirs, 'folder')}, "
            f"{text.size(int(str(rec.get('bytes', 0))))})"
        )
    elif op in ("remove", "truncate", "write"):
        line += f"  ({text.size(int(str(rec.get('bytes', 0))))})"
    if rec.get("detail"):
        line += f"  {rec['detail']}"
    return line
