"""The report of a run (or the plan of a dry run): per provider, what it did."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import IO


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
    warnings: int = 0
    errors: int = 0
    error: str = ""  # what failed after the providers (an image's deferred work)
    rearms: int | None = None  # a generalize run: the rearms counted on the image after it
    release: str = ""  # how the release record changed (a point release), else ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(p.status == "failed" for p in self.providers)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def print_text(self, out: IO[str]) -> None:
        verb = "Plan for" if self.dry_run else "Prepared"
        print(f"{verb} {self.target}: {self.action}", file=out)
        if self.dry_run:
            for rec in self.plan:
                print("  " + describe_record(rec), file=out)
            print("", file=out)
        width = max((len(p.name) for p in self.providers), default=10)
        for p in self.providers:
            mark = {"ok": "ok", "planned": "plan", "failed": "FAIL", "skipped": "skip"}.get(p.status, p.status)
            size = _size(p.bytes)
            extra = f"  {p.note}" if p.note else ""
            print(f"  {mark:<4}  {p.name:<{width}}  {p.actions:>5} changes  {p.files:>7} files  "
                  f"{size:>9}{extra}", file=out)
        total_files = sum(p.files for p in self.providers)
        total_bytes = sum(p.bytes for p in self.providers)
        print(f"  total: {sum(p.actions for p in self.providers)} changes, {total_files} files, "
              f"{_size(total_bytes)}; {self.warnings} warnings, {self.errors} errors", file=out)
        if self.error:
            print(f"Failed: {self.error}", file=out)
        if self.image_state:
            print(f"Image state: {self.image_state}", file=out)
        if self.release:
            print(f"Release: {self.release}", file=out)
        if self.rearms is not None:
            print(f"Rearms counted: {self.rearms} (sysprep license)", file=out)
        if self.log_folder:
            print(f"Logs: {self.log_folder}", file=out)


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
