"""The welcome as the boot engine runs it (oobeSystem pass on a fixture root): the choices are
applied, the state becomes COMPLETE and the welcome never shows again; audit mode by key or
by `sysprep.audit`; no console leaves oobeSystem pending; the timeout finishes unattended."""

from __future__ import annotations

import io
import os
import sys
import types

import pytest

from sysprep.log import RunLog
from sysprep.passes import boot
from sysprep.request import TargetKind, TargetSpec
from sysprep.ui import welcome
from sysprep.ui.boot import ConsoleUI
from tests.conftest import sysprep
from tests.ui.conftest import crypt_hash, shadow_hash, state_of, verifies

PASSWORD = "Corr3ct-horse!"


def specialized(root) -> TargetSpec:
    assert sysprep("--generalize", "--oobe", "--root", root.path, "--quiet").code == 0
    spec = TargetSpec(TargetKind.ROOT, root=root.path)
    assert (
        boot.run_stage(spec, "specialize", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.DONE
    )
    assert "SPECIALIZE_RESEAL_TO_OOBE" in state_of(root.path)
    return spec


@pytest.fixture
def plain_here(monkeypatch):
    """The welcome on this process's standard input/output, line by line."""
    monkeypatch.setenv("SYSPREP_CONSOLE", "-")
    monkeypatch.setenv("SYSPREP_UI", "plain")
    monkeypatch.setattr(welcome, "default_hasher", lambda fs: crypt_hash)

    def feed(text: str) -> io.StringIO:
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        monkeypatch.setattr(sys, "stdout", out)
        return out

    return feed


def test_welcome_at_boot_applies_and_completes_and_never_shows_again(wroot, plain_here):
    spec = specialized(wroot)
    out = plain_here(f"fr_FR\nfr\nParis\nyes\nclone-1\nanna\n\n{PASSWORD}\n{PASSWORD}\n\n")
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.DONE
    root = wroot.path
    assert "IMAGE_STATE_COMPLETE" in state_of(root)
    assert open(f"{root}/etc/hostname").read() == "clone-1\n"
    assert os.readlink(f"{root}/etc/localtime") == "/usr/share/zoneinfo/Europe/Paris"
    assert verifies(PASSWORD, shadow_hash(root, "anna"))
    assert not os.path.exists(f"{root}/var/lib/sysprep/boot-pending")
    assert "Welcome" in out.getvalue()
    logs = open(f"{root}/var/log/sysprep/setupact.log").read()
    assert PASSWORD not in logs and "the welcome's choices are applied" in logs
    # the next boot: nothing pending, nothing asked
    again = plain_here("")
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.IDLE
    assert again.getvalue() == ""


def test_audit_from_the_first_question_reseals_to_audit(wroot, plain_here):
    spec = specialized(wroot)
    plain_here("!audit\n")
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.REBOOT
    st = state_of(wroot.path)
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in st and "auditSystem,auditUser" in st
    assert os.path.exists(f"{wroot.path}/var/lib/sysprep/boot-pending")


def test_kernel_switch_sysprep_audit_boots_straight_to_audit(
    wroot, plain_here, tmp_path, monkeypatch
):
    spec = specialized(wroot)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("root=/dev/vda ro quiet sysprep.audit\n")
    monkeypatch.setenv("SYSPREP_KERNEL_CMDLINE", str(cmdline))
    out = plain_here("")
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.REBOOT
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in state_of(wroot.path)
    assert out.getvalue() == ""  # nothing was asked


def test_no_console_on_a_live_system_leaves_oobe_pending(wroot, monkeypatch):
    """Simulated: the target claims to be live, SYSPREP_CONSOLE=none."""
    from sysprep.target import open_target

    monkeypatch.setenv("SYSPREP_CONSOLE", "none")
    spec = TargetSpec(TargetKind.ROOT, root=wroot.path)
    with open_target(spec, dry_run=False) as t:
        live = types.SimpleNamespace(fs=t.fs, live=True)
        log = RunLog(quiet=True)
        assert welcome.run_welcome(live, None, log) is welcome.Outcome.NO_CONSOLE
        assert log.warnings == 1


def test_everything_answered_shows_nothing(wroot, monkeypatch):
    from sysprep.answer.types import LocalAccount, Oobe
    from sysprep.target import open_target
    from tests.ui.test_welcome import Answer

    monkeypatch.setenv("SYSPREP_CONSOLE", "/nonexistent/tty")  # would fail if it were opened
    answer = Answer(
        locale="C.UTF-8",
        keymap="us",
        time_zone="UTC",
        computer_name="pc",
        accounts=(LocalAccount("op"),),
        oobe=Oobe(hide_eula_page=True),
    )
    with open_target(TargetSpec(TargetKind.ROOT, root=wroot.path), dry_run=False) as t:
        assert welcome.run_welcome(t, answer, RunLog(quiet=True)) is welcome.Outcome.DONE


def test_timeout_finishes_with_the_answer_files_values(wroot, monkeypatch, tmp_path):
    spec = specialized(wroot)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("sysprep.welcome_timeout=0.5\n")
    monkeypatch.setenv("SYSPREP_KERNEL_CMDLINE", str(cmdline))
    monkeypatch.setenv("SYSPREP_CONSOLE", "-")
    monkeypatch.setattr(welcome, "default_hasher", lambda fs: crypt_hash)

    def untouched(plan, hasher, fs, terminal, *, idle_timeout=None, on_ready=None):
        assert idle_timeout == 0.5
        return welcome.Result(timed_out=True)

    monkeypatch.setattr(welcome, "collect", untouched)
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.DONE
    assert "IMAGE_STATE_COMPLETE" in state_of(wroot.path)
    assert (
        "nobody answered the welcome" in open(f"{wroot.path}/var/log/sysprep/setuperr.log").read()
    )
