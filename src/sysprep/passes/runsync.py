"""RunSynchronous: run a pass's commands in Order with exactly the seed's return-code rules.

WillReboot=Always:    0 -> check, other -> cross; a reboot follows either way.
WillReboot=Never:     0 -> check, other -> cross; never fatal.
WillReboot=OnRequest: 0 -> check; 1 -> check and reboot; 2 -> check for now, reboot, and the
                      command runs again after the reboot; other -> fatal (the error handler
                      script replaces the blocking error when it exists).

Progress is recorded (fsynced) before and after every command, so after a reboot or a crash
only unprocessed items run, and a command whose completion was recorded never runs again.
The caller performs reboots and records fatal errors in the image state.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from sysprep.answer.types import SyncCommand, WillReboot
from sysprep.log import RunLog
from sysprep.passes import progress as prog
from sysprep.passes.checkpoint import checkpoint
from sysprep.target import Target
from sysprep.target.confined import Confined
from sysprep.target.sandbox import run_in_target

ERRORHANDLER = "etc/sysprep/scripts/errorhandler"
SETUPCOMPLETE = "etc/sysprep/scripts/setupcomplete"


class Outcome(str, enum.Enum):
    DONE = "done"  # every item processed
    REBOOT = "reboot"  # reboot now; the pass continues at the next boot
    FATAL = "fatal"  # a fatal return code: the pass stops


@dataclass(frozen=True)
class Decision:
    status: str
    reboot: bool


def decide(will_reboot: WillReboot, code: int) -> Decision:
    """The seed's table, one row per (WillReboot, return code)."""
    ok = prog.SUCCEEDED if code == 0 else prog.FAILED
    if will_reboot is WillReboot.ALWAYS:
        return Decision(ok, True)
    if will_reboot is WillReboot.NEVER:
        return Decision(ok, False)
    if code == 0:
        return Decision(prog.SUCCEEDED, False)
    if code == 1:
        return Decision(prog.SUCCEEDED, True)
    if code == 2:
        return Decision(prog.RERUN, True)
    return Decision(prog.FATAL, False)


@dataclass(frozen=True)
class PassResult:
    outcome: Outcome
    item: prog.Item | None = None

    @property
    def message(self) -> str:
        if self.item is None:
            return ""
        return (
            f"{self.item.label} (Order {self.item.order}) exited with status {self.item.exit_code}"
        )


# Runs one command, its output streamed to the log file; returns its exit status.
Runner = Callable[[SyncCommand, str], int]


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def run_pass(
    fs: Confined,
    log: RunLog,
    pass_name: str,
    commands: Sequence[SyncCommand],
    runner: Runner,
    *,
    log_dir: str,
    this_boot: str | None = None,
) -> PassResult:
    """Run (or resume) the RunSynchronous commands of one pass."""
    this_boot = boot_id() if this_boot is None else this_boot
    record = prog.read(fs)
    if record is None or record.pass_name != pass_name:
        record = prog.Progress(
            pass_name,
            [prog.Item.of(c) for c in sorted(commands, key=lambda c: c.order)],
            boot_id=this_boot,
        )
        for item in record.items:
            item.log = f"/{log_dir}/{pass_name}-{item.order}.log"
        prog.write(fs, record)
    elif record.finished:
        return PassResult(Outcome.DONE)
    by_order = {c.order: c for c in commands}
    if record.reboot_pending:
        if record.boot_id == this_boot:  # asked for, recorded, but we crashed before it
            asked = next((i for i in record.items if i.order == record.reboot_order), None)
            log.step("a command asked for a reboot that has not happened yet: rebooting now")
            return PassResult(Outcome.REBOOT, asked)
        record.reboot_pending = False
        record.reboot_order = None
        record.boot_id = this_boot
        prog.write(fs, record)
    for item in record.items:
        if item.processed:
            continue
        cmd = by_order.get(item.order)
        if cmd is None:  # the answer file changed under a pass in progress
            item.status, item.finished = prog.FAILED, prog.now()
            log.warning(
                f"Order {item.order} ({item.label}) is no longer in the answer file; skipped"
            )
            prog.write(fs, record)
            continue
        item.status, item.started, item.finished, item.exit_code = (
            prog.RUNNING,
            prog.now(),
            "",
            None,
        )
        item.boot = this_boot
        prog.write(fs, record)
        checkpoint("before-command")
        log.step(f"running Order {item.order}: {item.label}", "RunSynchronous")
        code = runner(cmd, item.log.lstrip("/"))
        checkpoint("after-command")
        d = decide(cmd.will_reboot, code)
        item.status, item.exit_code, item.finished = d.status, code, prog.now()
        record.reboot_pending = d.reboot
        record.reboot_order = item.order if d.reboot else None
        record.boot_id = this_boot
        prog.write(fs, record)
        checkpoint("after-record")
        mark = {
            prog.SUCCEEDED: "succeeded",
            prog.FAILED: "failed (not fatal)",
            prog.RERUN: "asked to run again after a reboot",
            prog.FATAL: "failed: fatal",
        }[d.status]
        line = f"Order {item.order} ({item.label}) exited with status {code}: {mark}"
        if d.status in (prog.FAILED, prog.FATAL):
            log.error(line, "RunSynchronous") if d.status == prog.FATAL else log.warning(
                line, "RunSynchronous"
            )
        else:
            log.step(line, "RunSynchronous")
        if d.status == prog.FATAL:
            return PassResult(Outcome.FATAL, item)
        if d.reboot:
            return PassResult(Outcome.REBOOT, item)
    record.finished = True
    prog.write(fs, record)
    return PassResult(Outcome.DONE)


def target_runner(
    target: Target, log: RunLog, pass_name: str, env: Mapping[str, str] | None = None
) -> Runner:
    """Run commands in the target: directly on the live system, sandboxed offline."""

    def runner(cmd: SyncCommand, log_path: str) -> int:
        argv = ["/bin/sh", "-c", cmd.path]
        if cmd.user:
            argv = ["runuser", "-u", cmd.user, "--", *argv]
        fd = target.fs.open_append(log_path, 0o600)
        try:
            done = run_in_target(
                target, argv, env={**(env or {}), "SYSPREP_PASS": pass_name}, output_fd=fd
            )
        finally:
            os.close(fd)
        return done.returncode

    return runner


def run_errorhandler(target: Target, log: RunLog, pass_name: str, failed: prog.Item | None) -> bool:
    """Run etc/sysprep/scripts/errorhandler when it exists (it replaces the blocking error)."""
    if not target.fs.is_file(ERRORHANDLER):
        return False
    env = {"SYSPREP_PASS": pass_name}
    if failed is not None:
        env.update(
            {
                "SYSPREP_FAILED_COMMAND": failed.path,
                "SYSPREP_FAILED_ORDER": str(failed.order),
                "SYSPREP_FAILED_DESCRIPTION": failed.label,
                "SYSPREP_EXIT_CODE": str(failed.exit_code),
            }
        )
    done = run_in_target(target, ["/" + ERRORHANDLER], env=env)
    for line in (done.stdout + done.stderr).splitlines():
        log.info(f"| {line}", "errorhandler")
    log.warning(
        f"error handler /{ERRORHANDLER} ran and exited with status {done.returncode}",
        "errorhandler",
    )
    return True
