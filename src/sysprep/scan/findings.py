"""A finding of the scan, and how severe it is."""

from __future__ import annotations

import enum
from dataclasses import dataclass

IDENTITY = "identity"
SECRET = "secret"
NOT_REMOVED = "review: not removed by any provider"


class Severity(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"low": 1, "medium": 2, "high": 3}[self.value]


@dataclass(frozen=True)
class Finding:
    category: str  # IDENTITY or SECRET
    rule: str  # e.g. "secret.private-key", "identity.machine-id"
    severity: Severity
    path: str  # inside the target, absolute ("/etc/machine-id")
    reason: str  # never holds the secret or the token in clear
    fix: str  # the provider that removes it, or NOT_REMOVED
    line: int | None = None
    redacted: str = ""  # a redacted form of what was found

    def record(self) -> dict[str, object]:
        rec: dict[str, object] = {
            "category": self.category,
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "reason": self.reason,
            "fix": self.fix,
        }
        if self.line is not None:
            rec["line"] = self.line
        if self.redacted:
            rec["redacted"] = self.redacted
        return rec


def redact(value: str) -> str:
    """Enough to recognise a secret by, never enough to use it: a few characters at each
    end for long values, nothing of a short one."""
    value = value.strip()
    if len(value) < 12:
        return "*" * 8
    return f"{value[:3]}…{value[-2:]} ({len(value)} chars)"
