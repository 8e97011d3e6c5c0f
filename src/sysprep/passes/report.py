"""The report of a run (or the plan of a dry run): per provider, what it did."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import IO, Iterator

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

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(p.status == "failed" for p in self.providers)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def print_text(self, out: IO[str]) -> None:
        for line in self.text_lines():
            print(printable(line), file=out)  # paths and notes come from the target

    def text_lines(self) -> Iterator[str]:
        verb = "Plan for" if self.dry_run else "Prepared"
        yield f"{verb} {self.target}: {self.action}"
        if self.dry_run:
            for rec in self.plan:
                yield "  " + describe_record(rec)
            yield ""
        width = max((len(p.name) for p in self.providers), default=10)
        for p in self.providers:
            mark = {"ok": "ok", "planned": "plan", "failed": "FAIL", "skipped": "skip"}.get(p.status, p.status)
            size = _size(p.bytes)
            extra = f"  {p.note}" if p.note else ""
            yield (f"  {mark:<4}  {p.name:<{width}}  {p.actions:>5} changes  {p.files:>7} files  "
                   f"{size:>9}{extra}")
        total_files = sum(p.files for p in self.providers)
        total_bytes = sum(p.bytes for p in self.providers)
        yield (f"  total: {sum(p.actions for p in self.providers)} changes, {total_files} files, "
               f"{_size(total_bytes)}; {self.warnings} warnings, {self.errors} errors")
        if self.error:
            yield f"Failed: {self.error}"
        if self.image_state:
            yield f"Image state: {self.image_state}"
        if self.log_folder:
            yield f"Logs: {self.log_folder}"


def describe_record(rec: dict[str, object]) -> str:
    op = str(rec.get("op", ""))
    line = f"{rec.get('provider', ''):<22} {op:<8} {rec.get('path', '')}"
    if rec.get("kind") == "dir" and op in ("remove", "clean"):
        line += f"  ({rec.get('files', 0)} files, {rec.get('dirs', 0)} folders, {_size(int(str(rec.get('bytes', 0))))})"
    elif op in ("remove", "truncate", "write"):
        line += f"  ({_size(int(str(rec.get('bytes', 0))))})"
    if rec.get("detail"):
        line += f"  {rec['detail']}"
    return line


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
