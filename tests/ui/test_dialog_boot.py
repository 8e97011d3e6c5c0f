"""Audit mode: the Sysprep dialog opens on the console after the audit passes (its own unit,
before the console's root login), and its choice reseals the image as the command line would."""

from __future__ import annotations

import io
import os
import sys

from sysprep.commands import boot as dialog_command
from sysprep.firstboot import units
from sysprep.log import RunLog
from sysprep.passes import boot
from sysprep.request import TargetKind, TargetSpec
from sysprep.ui.boot import ConsoleUI
from tests.conftest import sysprep
from tests.ui.conftest import state_of


def audited(root: str) -> TargetSpec:
    assert sysprep("--generalize", "--audit", "--root", root, "--quiet").code == 0
    spec = TargetSpec(TargetKind.ROOT, root=root)
    assert (
        boot.run_stage(spec, "specialize", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.DONE
    )
    assert boot.run_stage(spec, "passes", RunLog(quiet=True), ui=ConsoleUI()) is boot.Result.DONE
    return spec


def test_audit_mode_installs_the_dialog_unit_and_oobe_removes_it(dirty):
    spec = audited(dirty.path)
    unit = os.path.join(dirty.path, units.UNIT_DIR, units.DIALOG_UNIT)
    wants = os.path.join(dirty.path, units.UNIT_DIR, "multi-user.target.wants", units.DIALOG_UNIT)
    assert os.path.isfile(unit) and os.readlink(wants) == f"/{units.UNIT_DIR}/{units.DIALOG_UNIT}"
    assert "ExecStart=/usr/sbin/sysprep boot --stage dialog" in open(unit).read()
    assert "Before=getty@tty1.service" in open(unit).read()
    assert sysprep("--oobe", "--root", spec.root, "--quiet").code == 0
    assert not os.path.lexists(unit) and not os.path.lexists(wants)


def test_dialog_after_the_audit_passes_reseals_to_oobe(dirty, monkeypatch):
    spec = audited(dirty.path)
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in state_of(dirty.path)
    monkeypatch.setenv("SYSPREP_CONSOLE", "-")
    monkeypatch.setenv("SYSPREP_UI", "plain")
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\ny\n\ny\n"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert dialog_command.run_dialog(spec, RunLog(quiet=True)) is boot.Result.DONE
    assert "System Cleanup Action" in out.getvalue()
    assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in state_of(dirty.path)


def test_closing_the_dialog_leaves_audit_mode_alone(dirty, monkeypatch):
    spec = audited(dirty.path)
    monkeypatch.setenv("SYSPREP_CONSOLE", "-")
    monkeypatch.setenv("SYSPREP_UI", "plain")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert dialog_command.run_dialog(spec, RunLog(quiet=True)) is boot.Result.IDLE
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in state_of(dirty.path)


def test_no_dialog_outside_audit_mode(dirty, monkeypatch):
    monkeypatch.setenv("SYSPREP_CONSOLE", "/nonexistent")
    assert sysprep("--generalize", "--oobe", "--root", dirty.path, "--quiet").code == 0
    spec = TargetSpec(TargetKind.ROOT, root=dirty.path)
    assert dialog_command.run_dialog(spec, RunLog(quiet=True)) is boot.Result.IDLE
