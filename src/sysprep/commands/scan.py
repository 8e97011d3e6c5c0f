"""sysprep scan: prove a target is safe to clone (no identity of the template, no secret)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

from sysprep import cli
from sysprep.errors import UsageError
from sysprep.passes import planned as plan
from sysprep.request import Selection
from sysprep.scan import tokens
from sysprep.scan.report import ScanResult, dumps
from sysprep.scan.scanner import MAX_SIZE, Scanner
from sysprep.scan.secrets import Library
from sysprep.target import Target, open_target_readonly

FAIL_ON = ("none", "low", "medium", "high")
FINDINGS = 3  # exit status: findings at or above --fail-on (0, 1 and 2 as for every command)


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print the findings as one JSON document (schemas/scan.schema.json)",
    )
    p.add_argument(
        "--sarif",
        metavar="FILE",
        help="also write the findings as SARIF 2.1.0 (GitHub code scanning)",
    )
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="high",
        help="exit 3 when a finding is at or above this severity (default: high; none: never)",
    )
    p.add_argument(
        "--max-size",
        metavar="BYTES",
        type=int,
        default=MAX_SIZE,
        help=f"read the content of files up to this size (default: {MAX_SIZE})",
    )


def run(ns: argparse.Namespace, name: str) -> int:
    result = _scan(ns)  # an error's JSON document is printed by __main__, as for every command
    if ns.sarif:
        _write_sarif(ns.sarif, dumps(result.sarif()))
    if ns.json:
        print(dumps(result.document()))
    else:
        result.print_text(sys.stdout)
    return FINDINGS if result.failing() else 0


def _scan(ns: argparse.Namespace) -> ScanResult:
    if ns.max_size <= 0:
        raise UsageError("--max-size must be a positive number of bytes")
    if ns.sarif:
        folder = os.path.dirname(os.path.abspath(ns.sarif))
        if not os.path.isdir(folder):
            raise UsageError(f"--sarif {ns.sarif}: {folder} is not a directory")
    library = Library()  # exit 2 when detect-secrets is missing, before opening anything
    spec = cli.target_from(ns)
    start = time.monotonic()
    with open_target_readonly(spec) as target:
        result = ScanResult(spec.describe(), ns.fail_on)
        scanner = _scanner(target, library, ns.max_size)
        result.recorded_tokens = scanner.recorded is not None
        # the tree first: the plan's dry run hides from later reads what it would remove
        walked = list(scanner.run())
        items = plan.planned(target, Selection())
        scanner.owners = plan.owners(items)
        found = {(f.rule, f.path, f.line): f for f in plan.findings(items)}
        for f in walked:
            found.setdefault((f.rule, f.path, f.line), replace(f, fix=scanner.fix_for(f.path)))
        result.stats = scanner.stats
    result.findings = sorted(
        found.values(), key=lambda f: (-f.severity.rank, f.category, f.path, f.line or 0, f.rule)
    )
    result.seconds = round(time.monotonic() - start, 3)
    return result


def _scanner(target: Target, library: Library, max_size: int) -> Scanner:
    os_id = target.os_release.id if target.os_release is not None else ""
    return Scanner(
        target.fs,
        tokens.collect(target.fs, os_id),
        tokens.read_record(target.fs),
        library,
        max_size=max_size,
    )


def _write_sarif(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)
