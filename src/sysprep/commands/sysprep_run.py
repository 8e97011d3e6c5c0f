"""The main command: sysprep [/generalize] [/oobe | /audit] ... on one target."""

from __future__ import annotations

import sys
from typing import Sequence

from sysprep import cli
from sysprep.errors import ExitCode, RunError, UsageError
from sysprep.log import RunLog, printable
from sysprep.passes.prepare import finish, prepare
from sysprep.request import Request
from sysprep.run import trace_to
from sysprep.target.image.cleanup import stop_on_signals


def _dialog(req: Request, argv: Sequence[str]) -> list[str] | None:
    """The Sysprep dialog (the seed's step 3 without arguments): the full command line it
    chose, the given options (target, answer file...) kept; None when cancelled."""
    from sysprep.ui import dialog

    finish_options = ("--quit", "--reboot", "--shutdown")
    args = cli.translate_windows(argv)
    base = [t for t in args if t not in finish_options]
    given = any(t in finish_options for t in args)
    choice = dialog.ask(
        req.target.describe(), req.target.offline, base, power=req.power if given else None
    )
    return None if choice is None else [*choice.argv(), *base]


def _output(req: Request, log: RunLog) -> None:
    """What reaches the screen: -q errors only, -v every action, -x every command run."""
    log.quiet, log.verbose = req.quiet, req.verbose
    # a command line can hold an answer file's password (a RunSynchronous Path), and its
    # arguments name the image's files
    trace_to(sys.stderr if req.trace else None, lambda line: printable(log.redact(line)))


def main(argv: Sequence[str]) -> int:
    log = RunLog()  # the seed's step 2 comes first: everything after this is logged
    req, ns = cli.parse(argv)
    _output(req, log)
    if ns.list_operations:
        from sysprep.commands.providers import list_operations

        return list_operations(req.target, as_json=req.json)
    if not req.has_action:
        if req.json:  # a machine asked: the dialog is for a person, and prints no document
            raise UsageError(
                "nothing to do: give /generalize, /oobe or /audit (--json runs no dialog)"
            )
        if not cli.stdin_is_terminal():
            sys.stderr.write(cli.build_parser().format_usage())
            raise UsageError(
                "nothing to do: give /generalize, /oobe or /audit, or run sysprep "
                "on a terminal for the dialog (see sysprep --help)"
            )
        chosen = _dialog(req, argv)
        if chosen is None:
            print("sysprep: cancelled; nothing was changed")
            return int(ExitCode.OK)
        req, ns = cli.parse(chosen)  # exactly what the same choices on the command line run
        _output(req, log)
    with stop_on_signals():
        report = prepare(req, log)
    if req.json:
        print(report.to_json())
    elif not req.quiet:
        report.print_text(sys.stdout, verbose=req.verbose)
    if report.failed:
        log.close()
        return int(ExitCode.FAILURE)
    try:
        finish(req, log)
    except RunError as e:
        if not req.json:
            raise
        # the report is printed already: one document on stdout, the failure on stderr
        log.error(str(e))
        return int(ExitCode.FAILURE)
    finally:
        log.close()
    return int(ExitCode.OK)
