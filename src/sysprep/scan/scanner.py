"""The walk of a scan: names first, then the content of the regular files worth reading.

One pass over the tree, one directory descriptor at a time, one file in memory at a time
(at most `max_size` bytes): memory stays flat whatever the size of the image. A file is read
only when it is regular, below the size limit, and text (no NUL byte in its first block);
binary files are read only when their name says they hold a credential (PKCS#12).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Iterator

from sysprep.scan import secrets as sec
from sysprep.scan import tokens as tok
from sysprep.scan.findings import IDENTITY, NOT_REMOVED, SECRET, Finding, Severity
from sysprep.target.confined import Confined, Refused

MAX_SIZE = 1 << 20
_HEAD = 8192
# where a host name of the template is looked for by its hash (any word can be one: costly)
_NAMED_TREES = ("etc/", "var/", "root/", "home/", "srv/", "opt/")
# content never read: databases and indexes the package manager and the kernel build write
# from the distribution's own metadata (the same on every installation; a third of the text
# of a Debian root). Names are still checked.
_NOT_READ = (
    "var/lib/dpkg/",
    "var/lib/apt/lists/",
    "var/cache/apt/",
    "var/lib/rpm/",
    "var/cache/dnf/",
    "usr/lib/modules/",
    "lib/modules/",
    "etc/ssh/moduli",
    "usr/share/man/",
    "usr/share/locale/",
    "usr/share/i18n/",
    "usr/share/zoneinfo/",
)
_TOKEN_REASONS = {
    tok.MACHINE_ID: "the template's machine-id",
    tok.HOSTNAME: "the template's host name",
    tok.SSH_HOST_KEY: "the template's SSH host key (or its fingerprint)",
    tok.MAC: "a MAC address of the template's network cards",
    tok.UUID: "a NetworkManager connection UUID of the template",
    tok.DUID: "the template's DHCP DUID",
}


@dataclass
class Stats:
    entries: int = 0
    files_read: int = 0
    bytes_read: int = 0
    skipped_binary: int = 0
    skipped_large: int = 0


@dataclass
class Scanner:
    fs: Confined
    tokens: list[tok.Token]
    recorded: tok.Recorded | None
    library: sec.Library | None  # None: identity only (no secret detection)
    owners: dict[str, str] = field(default_factory=dict)  # path -> provider that removes it
    max_size: int = MAX_SIZE
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._tokens = tok.pattern(self.tokens)
        self._kinds = {v: t.kind for t in self.tokens for v in tok.variants(t)}

    def fix_for(self, path: str) -> str:
        """The provider that removes `path` (or a folder holding it), else a review."""
        rel = path.lstrip("/")
        while rel:
            if rel in self.owners:
                return f"removed by the {self.owners[rel]} provider"
            rel = rel.rpartition("/")[0]
        return NOT_REMOVED

    def run(self) -> Iterator[Finding]:
        for dirpath, entries in self.fs.tree(""):
            dfd: int | None = None
            try:
                for name, st in entries:
                    self.stats.entries += 1
                    path = f"/{dirpath}/{name}" if dirpath else f"/{name}"
                    yield from self._name(path)
                    if (
                        not stat.S_ISREG(st.st_mode)
                        or st.st_size == 0
                        or path[1:].startswith(_NOT_READ)
                    ):
                        continue
                    if st.st_size > self.max_size:
                        self.stats.skipped_large += 1
                        continue
                    if dfd is None:
                        try:
                            dfd = self.fs.open_dir(dirpath)
                        except (Refused, OSError):
                            break
                    data = self._read(dfd, name, binary=name.lower().endswith(sec.BINARY_BY_NAME))
                    if data is not None:
                        yield from self._content(path, data)
            finally:
                if dfd is not None:
                    os.close(dfd)

    def _name(self, path: str) -> Iterator[Finding]:
        """A token in a file or folder name (journal folders, boot loader entries)."""
        if self._tokens is None:
            return
        name = path.rpartition("/")[2]
        for m in self._tokens.finditer(name):
            kind = self._kinds.get(m.group(), tok.MACHINE_ID)
            yield Finding(
                IDENTITY,
                f"identity.{kind}-in-name",
                Severity.HIGH,
                path,
                f"{_TOKEN_REASONS[kind]} in a file name",
                self.fix_for(path),
            )
            return

    def _read(self, dfd: int, name: str, *, binary: bool) -> bytes | None:
        fd = self.fs.open_file_at(dfd, name)  # never a host file mounted into the target
        if fd is None:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > self.max_size:
                return None
            head = os.read(fd, _HEAD)
            if b"\0" in head and not binary:
                self.stats.skipped_binary += 1
                return None
            chunks = [head]
            size = len(head)
            while size <= self.max_size:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            self.stats.files_read += 1
            self.stats.bytes_read += size
            return b"".join(chunks)[: self.max_size]
        except OSError:
            return None
        finally:
            os.close(fd)

    def _content(self, path: str, data: bytes) -> Iterator[Finding]:
        fix = self.fix_for(path)
        if path.lower().endswith(sec.PKCS12):
            yield _secret(path, sec.pkcs12(data), fix)
            return
        if b"\0" in data[:_HEAD]:
            return
        text = data.decode("latin-1")  # every byte a character: offsets stay exact, never fails
        yield from self._identity(path, text, fix)
        if self.library is None:
            return
        found: set[tuple[str, int | None]] = set()
        for rule in sec.RULES:
            for hit in rule(path, text):
                found.add((hit.rule, hit.line))
                yield _secret(path, hit, fix)
        for hit in self.library.hits(text):
            # a private key is reported once, by the rule that knows about passphrases
            if (hit.rule, hit.line) in found or (
                hit.rule == "secret.private-key" and any(r == hit.rule for r, _ in found)
            ):
                continue
            yield _secret(path, hit, fix)

    def _identity(self, path: str, text: str, fix: str) -> Iterator[Finding]:
        seen: set[str] = set()
        if self._tokens is not None:
            for m in self._tokens.finditer(text):
                kind = self._kinds.get(m.group(), "")
                if kind and kind not in seen:
                    seen.add(kind)
                    yield _copy(path, kind, text.count("\n", 0, m.start()) + 1, fix)
        if self.recorded is not None:
            named = path.lstrip("/").startswith(_NAMED_TREES)
            for kind, offset in self.recorded.find(text, hostnames=named):
                if kind not in seen:
                    seen.add(kind)
                    yield _copy(path, kind, text.count("\n", 0, offset) + 1, fix, recorded=True)


def _copy(path: str, kind: str, line: int, fix: str, *, recorded: bool = False) -> Finding:
    what = _TOKEN_REASONS.get(kind, kind)
    how = " (recorded, hashed, when the image was generalized)" if recorded else ""
    return Finding(
        IDENTITY, f"identity.{kind}", Severity.HIGH, path, f"a copy of {what}{how}", fix, line=line
    )


def _secret(path: str, hit: sec.Hit, fix: str) -> Finding:
    return Finding(
        SECRET, hit.rule, hit.severity, path, hit.reason, fix, line=hit.line, redacted=hit.redacted
    )
