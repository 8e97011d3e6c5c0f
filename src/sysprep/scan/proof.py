"""Generalize proves itself: the template's identity tokens are recorded (hashed) before the
first change, kept out of sysprep's own logs, and searched for in the whole target at the
end; each copy left is named by path, never by value."""

from __future__ import annotations

from sysprep.log import RunLog
from sysprep.scan import tokens as tok
from sysprep.scan.findings import IDENTITY, Finding
from sysprep.scan.scanner import Scanner
from sysprep.target.confined import Confined

_LABELS = {
    tok.MACHINE_ID: "machine-id",
    tok.HOSTNAME: "hostname",
    tok.SSH_HOST_KEY: "ssh-host-key",
    tok.MAC: "mac-address",
    tok.UUID: "connection-uuid",
    tok.DUID: "dhcp-duid",
}


def start(fs: Confined, os_id: str, log: RunLog, *, record: bool) -> list[tok.Token]:
    """Read the tokens; with `record` (a real run, whose log goes into the target), keep them
    out of the log and write their hashes in the target, merged with those of an interrupted
    run (whose tokens may be gone now). A dry run's plan, which stays on the host, keeps the
    exact paths."""
    found = tok.collect(fs, os_id)
    if record:
        for t in found:
            for v in tok.variants(t):
                log.add_identity(v, _LABELS.get(t.kind, "identity"))
        fs.mkdir("var/lib/sysprep", 0o755)
        fs.write(tok.RECORD, tok.record_json(found, tok.read_record(fs)), mode=0o600)
    return found


def leftovers(fs: Confined, found: list[tok.Token]) -> list[Finding]:
    """Every copy of a token still in the target, in names or contents."""
    scanner = Scanner(fs, found, tok.read_record(fs), None)
    return [f for f in scanner.run() if f.category == IDENTITY]


def report(log: RunLog, hits: list[Finding]) -> list[dict[str, object]]:
    """Log each leftover by path; the records for the run's report."""
    for f in hits:
        where = f.path + (f":{f.line}" if f.line else "")
        log.warning(f"identity of the template left in {where}: {f.reason}", "scan")
    return [{"path": f.path, "line": f.line, "rule": f.rule} for f in hits]
