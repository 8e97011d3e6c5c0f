"""/etc/passwd and /etc/group: the one parser.

NIS compat lines (+name, -name) and malformed lines are not accounts and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One account of /etc/passwd."""

    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


def entries(text: str) -> list[Entry]:
    """The accounts of a passwd file, in file order."""
    found = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 7 or not f[0] or f[0].startswith(("+", "-")):
            continue
        try:
            found.append(Entry(f[0], int(f[2]), int(f[3]), f[4], f[5], f[6]))
        except ValueError:
            continue
    return found


def entry(text: str, name: str) -> Entry | None:
    """The account `name` of a passwd file, or None."""
    for e in entries(text):
        if e.name == name:
            return e
    return None


def names(text: str) -> set[str]:
    """Every name a passwd, group or shadow file takes (a new account must avoid them all,
    NIS lines' included)."""
    return {line.split(":", 1)[0] for line in text.splitlines() if ":" in line}
