"""The result of a scan: as text, as the published JSON document, and as SARIF 2.1.0."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO

from sysprep import schemas
from sysprep.log import printable
from sysprep.scan.findings import IDENTITY, SECRET, Finding, Severity
from sysprep.scan.scanner import Stats

SCHEMA_VERSION = schemas.VERSION
TOOL = "sysprep-scan"
INFO_URI = "https://github.com/sysprep/sysprep/blob/main/docs/scan.md"
_LEVELS = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}


@dataclass
class ScanResult:
    target: str
    fail_on: str
    findings: list[Finding] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    seconds: float = 0.0
    recorded_tokens: bool = False  # the hashes recorded by generalize were searched for too

    def failing(self) -> list[Finding]:
        if self.fail_on == "none":
            return []
        rank = Severity(self.fail_on).rank
        return [f for f in self.findings if f.severity.rank >= rank]

    def document(self) -> dict[str, object]:
        count = {c: sum(f.category == c for f in self.findings) for c in (IDENTITY, SECRET)}
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "fail_on": self.fail_on,
            "clean": not self.failing(),
            "summary": {
                **count,
                **{s.value: sum(f.severity is s for f in self.findings) for s in Severity},
            },
            "recorded_tokens": self.recorded_tokens,
            "stats": {
                "entries": self.stats.entries,
                "files_read": self.stats.files_read,
                "bytes_read": self.stats.bytes_read,
                "skipped_binary": self.stats.skipped_binary,
                "skipped_large": self.stats.skipped_large,
                "seconds": self.seconds,
            },
            "findings": [f.record() for f in self.findings],
        }

    def print_text(self, out: IO[str]) -> None:
        for f in self.findings:
            where = f.path + (f":{f.line}" if f.line else "")
            extra = f" [{f.redacted}]" if f.redacted else ""
            print(
                printable(
                    f"{f.severity.value:<6} {f.category:<8} {where}: {f.reason}{extra} "
                    f"({f.rule}; {f.fix})"
                ),
                file=out,
            )
        n = len(self.failing())
        verdict = (
            "safe to clone"
            if not self.findings
            else f"{n} finding(s) at or above {self.fail_on}"
            if n
            else f"no finding at or above {self.fail_on}"
        )
        print(
            printable(
                f"Scanned {self.target}: {len(self.findings)} finding(s), {verdict} "
                f"({self.stats.files_read} files read in {self.seconds:.1f} s)"
            ),
            file=out,
        )

    def sarif(self) -> dict[str, object]:
        rules: dict[str, dict[str, object]] = {}
        results = []
        for f in self.findings:
            rules.setdefault(
                f.rule,
                {
                    "id": f.rule,
                    "name": f.rule.replace(".", "-"),
                    "shortDescription": {"text": f.reason},
                    "help": {"text": f"Fix: {f.fix}"},
                    "defaultConfiguration": {"level": _LEVELS[f.severity]},
                    "properties": {"category": f.category, "tags": [f.category]},
                },
            )
            region = {"startLine": f.line} if f.line else None
            location: dict[str, object] = {
                "artifactLocation": {"uri": f.path.lstrip("/"), "uriBaseId": "ROOT"}
            }
            if region:
                location["region"] = region
            text = f.reason + (f" [{f.redacted}]" if f.redacted else "") + f". Fix: {f.fix}"
            results.append(
                {
                    "ruleId": f.rule,
                    "level": _LEVELS[f.severity],
                    "message": {"text": text},
                    "locations": [{"physicalLocation": location}],
                    "properties": {"category": f.category, "severity": f.severity.value},
                }
            )
        return {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": TOOL,
                            "informationUri": INFO_URI,
                            "rules": list(rules.values()),
                        }
                    },
                    "originalUriBaseIds": {"ROOT": {"description": {"text": self.target}}},
                    "results": results,
                }
            ],
        }


def dumps(doc: dict[str, object]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)
