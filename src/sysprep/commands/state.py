"""sysprep state: the image state of a target (the seed's "Detecting the State"), and an exit
status a pipeline can wait on (docs/contract.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from sysprep import cli, schemas
from sysprep.errors import ExitCode, UsageError
from sysprep.log import BOOT_LOGS, printable
from sysprep.passes import progress, state
from sysprep.passes.state import ImageState
from sysprep.request import TargetKind
from sysprep.target import Target, lock_for, open_target_readonly
from sysprep.target.lock import Busy

POLL = 0.5  # seconds between two looks at the state while waiting


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument(
        "--json",
        action="store_true",
        help="print it as JSON (with --follow: one JSON "
        "object a line, each time the progress changes)",
    )
    p.add_argument(
        "--follow",
        "-f",
        action="store_true",
        help="show the RunSynchronous progress of the pass under way as it goes (the "
        "AuditUI on a terminal; one line per change otherwise) until nothing runs",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="block until no pass is pending or "
        "running (in this boot), then exit with the status of the state",
    )
    p.add_argument(
        "--timeout", metavar="S", type=float, help="with --wait: give up after S seconds (exit 3)"
    )
    p.epilog = (
        "exit status: 0 a final good state (or sysprep never ran there), 1 "
        "UNDEPLOYABLE (a pass or run failed or was interrupted), 2 usage error, 3 a pass "
        "is running or will run in this boot (see docs/contract.md)"
    )


@dataclass(frozen=True)
class Status:
    """What the state means for a pipeline: a name, the exit status and why, in words."""

    name: str  # none, final, failed, interrupted, running, pending
    exit_code: ExitCode
    why: str

    @property
    def settled(self) -> bool:
        return self.exit_code is not ExitCode.PENDING


def _held(target: Target) -> Callable[[], bool]:
    """Whether a sysprep run or boot stage holds the target now (a disk image cannot be read
    while one does: opening it takes the same lock)."""
    if target.spec.kind is TargetKind.IMAGE:
        return lambda: False
    return lock_for(target.spec, target.fs.host_path).held


def _boot_time() -> float:
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _due_this_boot(target: Target) -> bool:
    """Live system: the pending passes belong to this boot when the boot-time units will run
    them (their marker is there) and the state was written before this boot, or by the boot
    engine in this boot (its log is newer); a run in this boot reseals for the next boot."""
    from sysprep.firstboot.units import MARKER

    fs = target.fs
    st, log = fs.stat(state.STATE_FILE), fs.stat(f"{BOOT_LOGS}/setupact.log")
    if not fs.exists(MARKER) or st is None:
        return False
    booted = _boot_time()
    return st.st_mtime < booted or (log is not None and log.st_mtime >= max(st.st_mtime, booted))


def classify(
    target: Target, st: state.State | None, record: progress.Progress | None, held: bool
) -> Status:
    if st is None:
        return Status("none", ExitCode.OK, "sysprep has not run on this system")
    if st.image_state is ImageState.UNDEPLOYABLE:
        if st.last_error:
            return Status(
                "failed", ExitCode.FAILURE, f"{st.running or 'the run'} failed: {st.last_error}"
            )
        if held:
            return Status("running", ExitCode.PENDING, f"{st.running or 'a run'} is under way")
        if record is not None and record.reboot_pending and record.pass_name == st.running:
            return Status(
                "pending",
                ExitCode.PENDING,
                f"the {st.running} pass goes on after the reboot a command asked for",
            )
        if st.pending and not target.spec.offline and _due_this_boot(target):
            # between the two boot units (the specialize commands wait for the network): a
            # stage that dies records a LastError through its ExecStopPost
            return Status(
                "pending",
                ExitCode.PENDING,
                f"the boot-time units go on with {', '.join(st.pending)} in this boot",
            )
        return Status(
            "interrupted",
            ExitCode.FAILURE,
            f"{st.running or 'a run'} stopped before "
            "it finished (crash or power loss): run it again to finish it",
        )
    if st.pending and not target.spec.offline and _due_this_boot(target):
        return Status(
            "pending",
            ExitCode.PENDING,
            f"the boot-time units run {', '.join(st.pending)} in this boot",
        )
    after = f"; the next boot runs {', '.join(st.pending)}" if st.pending else ""
    return Status("final", ExitCode.OK, f"{st.image_state.value}{after}")


def look(target: Target) -> tuple[state.State | None, progress.Progress | None, Status]:
    """Read the state and classify it; the lock is asked before and after reading, so that a
    run that starts or ends meanwhile is not taken for a crashed one."""
    held = _held(target)
    before = held()
    st, record = state.read(target.fs), progress.read(target.fs)
    return st, record, classify(target, st, record, before or held())


def document(
    st: state.State | None, record: progress.Progress | None, status: Status
) -> dict[str, Any]:
    """The `state --json` document (schema: state)."""
    info: dict[str, Any] = {
        "schema_version": schemas.VERSION,
        "status": status.name,
        "exit_code": int(status.exit_code),
        "why": status.why,
    }
    if st is None:
        info.update({"image_state": None, "pending": [], "running": "", "last_error": ""})
        if status.name == "none":
            info["note"] = "sysprep has not run on this system"
    else:
        info.update(
            {
                "image_state": st.image_state.value,
                "pending": list(st.pending),
                "running": st.running,
                "last_error": st.last_error,
                "updated": st.updated,
            }
        )
    if record is not None:
        info["progress"] = record.to_json()
    return info


def run(ns: argparse.Namespace, name: str) -> int:
    if ns.timeout is not None and (not ns.wait or ns.timeout < 0):
        raise UsageError("--timeout S goes with --wait, and S is 0 or more seconds")
    if ns.wait and ns.follow:
        raise UsageError(
            "--wait and --follow exclude each other: --follow also ends when nothing runs"
        )
    spec = cli.target_from(ns)
    end = None if ns.timeout is None else time.monotonic() + ns.timeout
    while True:
        try:
            with open_target_readonly(spec) as target:
                if ns.follow:
                    from sysprep.ui import audit
                    from sysprep.ui.terminal import detect

                    audit.follow(target.fs, detect(), sys.stdout, as_json=ns.json)
                    return int(look(target)[2].exit_code)
                st, record, status = _wait(target, end) if ns.wait else look(target)
            break
        except Busy as e:  # a run holds the disk image (it is attached only once at a time)
            st, record, status = None, None, Status("running", ExitCode.PENDING, str(e))
            if not ns.wait or (end is not None and time.monotonic() >= end):
                break
            time.sleep(POLL)
    if ns.json:
        print(json.dumps(document(st, record, status), indent=2))
        return int(status.exit_code)
    _print(st, record, status)
    return int(status.exit_code)


def _wait(
    target: Target, end: float | None
) -> tuple[state.State | None, progress.Progress | None, Status]:
    while True:
        st, record, status = look(target)
        if status.settled or (end is not None and time.monotonic() >= end):
            return st, record, status
        time.sleep(POLL)


def _print(st: state.State | None, record: progress.Progress | None, status: Status) -> None:
    if st is None:
        print(
            printable(status.why)
            if status.name == "running"
            else "no image state: sysprep has not run on this system"
        )
        return
    print(st.image_state.value)
    if st.pending:
        print(f"pending passes: {printable(', '.join(st.pending))}")
    if st.running:
        print(f"running: {printable(st.running)}")
    if st.last_error:  # the state file is the image's: its text may hold anything
        print(f"last error: {printable(st.last_error)}")
    if not status.settled or status.name == "interrupted":
        print(f"status: {status.why}")
    if (
        record is not None
        and record.items
        and (not record.finished or record.pass_name in st.pending)
    ):
        print(f"RunSynchronous of {record.pass_name}:")
        for item in record.items:
            mark = MARKS.get(item.status, item.status)
            code = "" if item.exit_code is None else f" (exit {item.exit_code})"
            print(f"  {mark} {item.order:>3}  {printable(item.label)}{code}")


MARKS = {
    progress.SUCCEEDED: "[ok]  ",
    progress.FAILED: "[fail]",
    progress.FATAL: "[FATAL]",
    progress.RUNNING: "[..]  ",
    progress.PENDING: "[ ]   ",
    progress.RERUN: "[ ]   ",
}
