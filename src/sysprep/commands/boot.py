"""sysprep boot: what the boot-time units run (the pending passes of the image state).

Run by sysprep-specialize.service (--stage specialize) and sysprep-passes.service
(--stage passes) at the clone's boots. With --root it runs the same engine against an
offline root (a reboot then only ends the run: run it again to continue), which is how the
RunSynchronous and crash-injection tests drive it.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from sysprep import cli, schemas
from sysprep.errors import ExitCode
from sysprep.log import RunLog
from sysprep.passes import boot, preflight, state
from sysprep.passes.state import ImageState
from sysprep.request import TargetSpec
from sysprep.ui.boot import ConsoleUI


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument(
        "--stage",
        choices=(*boot.STAGES, "dialog"),
        required=True,
        help="specialize (early in the boot), passes (oobeSystem / audit, later), or "
        "dialog (audit mode: the Sysprep dialog on the console)",
    )
    p.add_argument(
        "--retry",
        action="store_true",
        help="run a pass again after it failed (once its cause is fixed)",
    )
    p.add_argument(
        "--record-failure",
        action="store_true",
        help="(the units' ExecStopPost) when the stage's unit did not succeed "
        "($SERVICE_RESULT: a timeout, a signal), record it in the image state",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    cli.add_target_options(p, images=False)


def run(ns: argparse.Namespace, name: str) -> int:
    preflight.require_root()
    spec = cli.target_from(ns)
    log = RunLog()
    if ns.record_failure:
        try:
            boot.record_failure(
                spec,
                ns.stage,
                os.environ.get("SERVICE_RESULT", ""),
                os.environ.get("EXIT_STATUS", ""),
                log,
            )
        finally:
            log.close()
        return int(ExitCode.OK)
    try:
        if ns.stage == "dialog":
            result = run_dialog(spec, log)
        else:
            result = boot.run_stage(spec, ns.stage, log, ui=ConsoleUI(), retry=ns.retry)
    finally:
        log.close()
    if ns.json:
        print(
            json.dumps(
                {"schema_version": schemas.VERSION, "stage": ns.stage, "result": result.value}
            )
        )
    boot.power(result, not spec.offline, log)
    return int(ExitCode.FAILURE if result is boot.Result.FAILED else ExitCode.OK)


def run_dialog(spec: TargetSpec, log: RunLog) -> boot.Result:
    """Audit mode, after the audit passes: the Sysprep dialog on the console (the seed shows
    it on the audit-mode desktop). Its choice runs as the same command line would."""
    from sysprep.passes.prepare import finish, prepare
    from sysprep.target import open_target_readonly
    from sysprep.ui import console, dialog
    from sysprep.ui.terminal import detect

    with open_target_readonly(spec) as target:
        st = state.read(target.fs)
        live = target.live
    if st is None or st.image_state is not ImageState.SPECIALIZE_RESEAL_TO_AUDIT or st.pending:
        return boot.Result.IDLE
    where = console.console_path(interactive=cli.stdin_is_terminal(), live=live)
    if where is None:
        return boot.Result.IDLE
    base = [] if live else ["--root", spec.root]

    def work(channel: console.Channel) -> dict[str, Any]:
        choice = dialog.ask(spec.describe(), not live, base, terminal=detect(0, 1))
        return {"argv": choice.argv() if choice else None}

    child = console.ConsoleChild(where, work)
    child.start()
    answer = child.wait() or {}
    argv = answer.get("argv")
    if not argv:
        log.step("the Sysprep dialog was closed: audit mode goes on")
        return boot.Result.IDLE
    args = [*argv, *base]
    req, _ = cli.parse(args)
    log.step(f"the Sysprep dialog runs: sysprep {' '.join(args)}")
    report = prepare(req, log)
    if report.failed:
        return boot.Result.FAILED
    finish(req, log)
    return boot.Result.DONE
