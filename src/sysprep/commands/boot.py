"""sysprep boot: what the boot-time units run (the pending passes of the image state).

Run by sysprep-specialize.service (--stage specialize) and sysprep-passes.service
(--stage passes) at the clone's boots. With --root it runs the same engine against an
offline root (a reboot then only ends the run: run it again to continue), which is how the
RunSynchronous and crash-injection tests drive it.
"""

from __future__ import annotations

import argparse
import json

from sysprep import cli
from sysprep.errors import ExitCode
from sysprep.log import RunLog
from sysprep.passes import boot, preflight


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--stage", choices=(*boot.STAGES, "dialog"), required=True,
                   help="specialize (early in the boot), passes (oobeSystem / audit, later), or "
                   "dialog (audit mode: the Sysprep dialog on the console)")
    p.add_argument("--retry", action="store_true",
                   help="run a pass again after it failed (once its cause is fixed)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    cli.add_target_options(p, images=False)


def run(ns: argparse.Namespace, name: str) -> int:
    preflight.require_root()
    spec = cli.target_from(ns)
    log = RunLog()
    try:
        if ns.stage == "dialog":
            result = boot.run_dialog(spec, log)
        else:
            result = boot.run_stage(spec, ns.stage, log, retry=ns.retry)
    finally:
        log.close()
    if ns.json:
        print(json.dumps({"stage": ns.stage, "result": result.value}))
    boot.power(result, not spec.offline, log)
    return int(ExitCode.FAILURE if result is boot.Result.FAILED else ExitCode.OK)
