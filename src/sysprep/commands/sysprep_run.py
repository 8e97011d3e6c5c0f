"""The main command: sysprep [/generalize] [/oobe | /audit] ... on one target."""

from __future__ import annotations

import sys
from typing import Sequence

from sysprep import cli
from sysprep.errors import ExitCode, UsageError
from sysprep.log import RunLog
from sysprep.passes.prepare import finish, prepare


def main(argv: Sequence[str]) -> int:
    log = RunLog()  # the seed's step 2 comes first: everything after this is logged
    req, ns = cli.parse(argv)
    log.quiet = req.quiet
    if ns.list_operations:
        from sysprep.commands.providers import list_operations

        return list_operations(req.target, as_json=req.json)
    if not req.has_action:
        raise UsageError("nothing to do: give /generalize, /oobe or /audit (see sysprep --help)")
    report = prepare(req, log)
    if req.json:
        print(report.to_json())
    elif not req.quiet:
        report.print_text(sys.stdout)
    if report.failed:
        log.close()
        return int(ExitCode.FAILURE)
    finish(req, log)
    log.close()
    return int(ExitCode.OK)
