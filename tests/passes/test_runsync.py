"""The seed's RunSynchronous rules, row by row, with real commands run in the target."""

from __future__ import annotations

import json
import os

import pytest

from sysprep.answer.types import SyncCommand, WillReboot
from sysprep.log import RunLog
from sysprep.passes import progress as prog
from sysprep.passes import runsync
from sysprep.passes.runsync import Outcome
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target
from sysprep.testing.dirty_root import build

ALWAYS, NEVER, ON_REQUEST = WillReboot.ALWAYS, WillReboot.NEVER, WillReboot.ON_REQUEST


def cmd(order: int, code: int | str, will: WillReboot, desc: str = "") -> SyncCommand:
    """A command that counts its runs in /runs/<order> and exits with `code` (or a script)."""
    body = code if isinstance(code, str) else f"exit {code}"
    return SyncCommand(
        order, f"echo x >> /runs/{order}; echo output of {order}; {body}", desc, will
    )


def runs(root: str, order: int) -> int:
    try:
        with open(os.path.join(root, "runs", str(order))) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


@pytest.fixture
def root(tmp_path):
    r = build(str(tmp_path / "root")).path
    os.makedirs(os.path.join(r, "runs"))
    return r


def run_pass(root: str, commands, boot: str = "boot-1", pass_name: str = "auditUser"):
    log = RunLog(quiet=True)
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=False) as target:
        runner = runsync.target_runner(target, log, pass_name)
        result = runsync.run_pass(
            target.fs,
            log,
            pass_name,
            commands,
            runner,
            log_dir="var/log/sysprep/commands",
            this_boot=boot,
        )
        record = prog.read(target.fs)
    return result, record


# (WillReboot, exit status) -> (item status, outcome of the pass)
TABLE = [
    (ALWAYS, 0, prog.SUCCEEDED, Outcome.REBOOT),
    (ALWAYS, 4, prog.FAILED, Outcome.REBOOT),
    (NEVER, 0, prog.SUCCEEDED, Outcome.DONE),
    (NEVER, 9, prog.FAILED, Outcome.DONE),
    (ON_REQUEST, 0, prog.SUCCEEDED, Outcome.DONE),
    (ON_REQUEST, 1, prog.SUCCEEDED, Outcome.REBOOT),
    (ON_REQUEST, 2, prog.RERUN, Outcome.REBOOT),
    (ON_REQUEST, 3, prog.FATAL, Outcome.FATAL),
    (ON_REQUEST, 255, prog.FATAL, Outcome.FATAL),
]


@pytest.mark.parametrize(("will", "code", "status", "outcome"), TABLE)
def test_decision_table(will, code, status, outcome):
    d = runsync.decide(will, code)
    assert d.status == status
    assert d.reboot == (outcome is Outcome.REBOOT)


@pytest.mark.parametrize(("will", "code", "status", "outcome"), TABLE)
def test_each_row_with_a_real_command(root, will, code, status, outcome):
    result, record = run_pass(root, [cmd(1, code, will), cmd(2, 0, NEVER)])
    assert result.outcome is outcome
    assert record.item(1).status == status and record.item(1).exit_code == code
    # a later item runs only when the pass goes on without a reboot
    assert runs(root, 2) == (1 if outcome is Outcome.DONE else 0)
    assert record.item(1).log == "/var/log/sysprep/commands/auditUser-1.log"
    with open(os.path.join(root, "var/log/sysprep/commands/auditUser-1.log")) as f:
        assert "output of 1" in f.read()


def test_commands_run_in_order_and_description_else_path_labels(root):
    cmds = [cmd(3, 0, NEVER, "third"), cmd(1, 0, NEVER), cmd(2, 0, NEVER, "second")]
    result, record = run_pass(root, cmds)
    assert result.outcome is Outcome.DONE and record.finished
    assert [i.order for i in record.items] == [1, 2, 3]
    assert record.item(1).label == cmds[1].path
    assert record.item(2).label == "second"


def test_reboot_then_resume_runs_only_unprocessed_items(root):
    cmds = [cmd(1, 0, NEVER), cmd(2, 1, ON_REQUEST), cmd(3, 0, NEVER)]
    first, record = run_pass(root, cmds, boot="boot-1")
    assert first.outcome is Outcome.REBOOT and first.item.order == 2
    assert [i.order for i in record.unprocessed()] == [3]
    second, record = run_pass(root, cmds, boot="boot-2")
    assert second.outcome is Outcome.DONE
    assert [runs(root, n) for n in (1, 2, 3)] == [1, 1, 1]


def test_exit_2_runs_again_after_the_reboot(root):
    # returns 2 the first time, 0 the second
    script = "[ -e /runs/again ] && exit 0; : > /runs/again; exit 2"
    cmds = [cmd(1, script, ON_REQUEST), cmd(2, 0, NEVER)]
    first, record = run_pass(root, cmds, boot="boot-1")
    assert first.outcome is Outcome.REBOOT and record.item(1).status == prog.RERUN
    assert [i.order for i in record.unprocessed()] == [1, 2]  # shown again, unannotated
    second, record = run_pass(root, cmds, boot="boot-2")
    assert second.outcome is Outcome.DONE
    assert record.item(1).status == prog.SUCCEEDED and runs(root, 1) == 2 and runs(root, 2) == 1


def test_a_reboot_that_did_not_happen_is_asked_again_without_rerunning(root):
    cmds = [cmd(1, 1, ON_REQUEST), cmd(2, 0, NEVER)]
    run_pass(root, cmds, boot="boot-1")
    again, _ = run_pass(root, cmds, boot="boot-1")  # same boot: we crashed before rebooting
    assert again.outcome is Outcome.REBOOT
    assert runs(root, 1) == 1 and runs(root, 2) == 0
    done, _ = run_pass(root, cmds, boot="boot-2")
    assert done.outcome is Outcome.DONE and runs(root, 2) == 1


def test_fatal_stops_the_pass_and_the_errorhandler_gets_the_details(root):
    os.makedirs(os.path.join(root, "etc/sysprep/scripts"))
    eh = os.path.join(root, "etc/sysprep/scripts/errorhandler")
    with open(eh, "w") as f:
        f.write("#!/bin/sh\nenv | grep ^SYSPREP_ | sort > /runs/errorhandler.env\n")
    os.chmod(eh, 0o755)
    result, record = run_pass(root, [cmd(1, 7, ON_REQUEST, "Enroll"), cmd(2, 0, NEVER)])
    assert result.outcome is Outcome.FATAL and result.item.order == 1
    assert runs(root, 2) == 0
    log = RunLog(quiet=True)
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=False) as target:
        assert runsync.run_errorhandler(target, log, "auditUser", result.item)
    env = open(os.path.join(root, "runs/errorhandler.env")).read()
    assert "SYSPREP_EXIT_CODE=7" in env and "SYSPREP_FAILED_ORDER=1" in env
    assert "SYSPREP_FAILED_DESCRIPTION=Enroll" in env and "SYSPREP_PASS=auditUser" in env


def test_progress_record_has_the_documented_format(root):
    run_pass(root, [cmd(1, 0, NEVER, "one")])
    with open(os.path.join(root, prog.PROGRESS_FILE)) as f:
        data = json.load(f)
    assert set(data) == {
        "version",
        "pass",
        "boot_id",
        "reboot_pending",
        "reboot_order",
        "finished",
        "items",
        "updated",
    }
    assert set(data["items"][0]) == {
        "order",
        "label",
        "path",
        "will_reboot",
        "status",
        "exit_code",
        "started",
        "finished",
        "log",
        "boot",
    }
    assert data["items"][0]["status"] == "succeeded" and data["finished"] is True
