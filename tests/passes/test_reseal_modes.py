"""Reseal modes: --generalize alone is headless, --oobe asks for the welcome, and
--no-boot-passes leaves nothing of sysprep that runs at boot (no python3 needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sysprep.firstboot import keygen, units
from sysprep.testing.dirty_root import write_file
from tests.conftest import snapshot
from tests.passes.test_boot import boot, pending
from tests.passes.test_prepare import state_of


def state_ini(root: str) -> str:
    return open(os.path.join(root, "var/lib/sysprep/state.ini")).read()


def setupact(root: str) -> str:
    return open(os.path.join(root, "var/log/sysprep/setupact.log")).read()


def with_sshd(root: str) -> None:
    write_file(root, "usr/sbin/sshd", b"\x7fELF", mode=0o755)


def without_python(root: str) -> None:
    os.remove(os.path.join(root, "usr/bin/python3"))
    os.remove(os.path.join(root, "usr/bin/python3.11"))
    os.rmdir(os.path.join(root, "usr/lib/python3.11"))


def runs_at_boot(root: str) -> list[str]:
    """What of sysprep is left in the image that a boot would run or read as configuration."""
    found = []
    for top in ("etc", "usr"):
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            for name in dirs + files:
                if "sysprep" in name:
                    found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def test_generalize_alone_reseals_headless_and_completes_without_a_welcome(dirty, run):
    root = dirty.path
    r = run("--generalize", "--root", root, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["action"].startswith("generalize, reseal headless")
    assert state_of(root) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert pending(root) == "specialize,oobeSystem" and "Welcome = false" in state_ini(root)
    boot(run, root, "specialize")
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_COMPLETE" and pending(root) == ""
    assert "resealed headless (no --oobe): no welcome" in setupact(root)


@pytest.mark.parametrize("argv", [["--generalize", "--oobe"], ["/generalize", "/oobe"], ["--oobe"]])
def test_oobe_asks_for_the_welcome(dirty, run, argv):
    r = run(*argv, "--root", dirty.path, "--json")
    assert r.code == 0, r.err
    assert "reseal to OOBE" in json.loads(r.out)["action"]
    assert "Welcome" not in state_ini(dirty.path)


def test_an_answer_file_oobe_section_that_does_not_skip_asks_for_the_welcome(dirty, run, tmp_path):
    answer = tmp_path / "u.yaml"
    answer.write_text("oobeSystem:\n  Linux-Shell-Setup:\n    OOBE:\n      HideEULAPage: true\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", str(answer)).code == 0
    assert "Welcome" not in state_ini(dirty.path)


def test_no_boot_passes_leaves_only_the_ssh_key_unit(dirty, run):
    root = dirty.path
    with_sshd(root)
    r = run("--generalize", "--no-boot-passes", "--root", root, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["action"] == "generalize, no boot-time passes (IMAGE_STATE_COMPLETE)"
    assert state_of(root) == "IMAGE_STATE_COMPLETE" and pending(root) == ""
    assert "BootPasses = false" in state_ini(root)
    assert runs_at_boot(root) == sorted([keygen.UNIT_FILE, keygen.WANTS])
    assert not os.path.exists(os.path.join(root, units.MARKER))
    unit = open(os.path.join(root, keygen.UNIT_FILE)).read()
    assert "ssh-keygen -A" in unit and "python" not in unit
    # a new ID at boot, but no first boot: no presets, no systemd-firstboot questions
    assert open(os.path.join(root, "etc/machine-id")).read() == ""


def test_no_boot_passes_removes_the_units_an_earlier_generalize_installed(dirty, run):
    root = dirty.path
    assert run("--generalize", "--audit", "--root", root).code == 0
    assert run("--generalize", "--no-boot-passes", "--root", root).code == 0
    assert [p for p in runs_at_boot(root) if not p.startswith("usr/")] == []


def test_no_ssh_key_unit_when_the_image_makes_its_own_keys(dirty, run):
    root = dirty.path
    with_sshd(root)
    write_file(root, "usr/lib/systemd/system/sshd-keygen@.service", "[Service]\n")
    assert run("--generalize", "--no-boot-passes", "--root", root).code == 0
    assert not os.path.exists(os.path.join(root, keygen.UNIT_FILE))


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--no-boot-passes"], "only valid with --generalize"),
        (["--generalize", "--oobe", "--no-boot-passes"], "excludes --oobe"),
        (["--generalize", "--audit", "--no-boot-passes"], "excludes --audit"),
    ],
)
def test_no_boot_passes_with_passes_asked_for_is_a_usage_error(dirty, run, argv, message):
    before = snapshot(dirty.path)
    r = run(*argv, "--root", dirty.path)
    assert r.code == 2 and message in r.err
    assert snapshot(dirty.path) == before


def test_no_boot_passes_refuses_an_answer_file_with_boot_passes_before_any_change(
    dirty, run, tmp_path
):
    answer = tmp_path / "u.yaml"
    answer.write_text("specialize:\n  Linux-Shell-Setup:\n    ComputerName: web-01\n")
    before = snapshot(dirty.path)
    r = run("--generalize", "--no-boot-passes", "--root", dirty.path, "--unattend", str(answer))
    assert r.code == 2 and "the answer file sets the specialize pass" in r.err
    assert snapshot(dirty.path) == before


def test_an_image_without_python3_is_generalized_without_boot_passes_with_a_warning(dirty, run):
    root = dirty.path
    without_python(root)
    with_sshd(root)
    r = run("--generalize", "--root", root, "--json")
    assert r.code == 0, r.err
    warnings = open(os.path.join(root, "var/lib/sysprep/panther/setuperr.log")).read()
    assert "no python3" in warnings and "generalizing without boot-time passes" in warnings
    assert state_of(root) == "IMAGE_STATE_COMPLETE"
    assert runs_at_boot(root) == sorted([keygen.UNIT_FILE, keygen.WANTS])


def test_an_image_without_python3_and_an_answer_file_that_needs_passes_is_refused(
    dirty, run, tmp_path
):
    root = dirty.path
    without_python(root)
    answer = tmp_path / "u.yaml"
    answer.write_text("oobeSystem:\n  Linux-Shell-Setup:\n    OOBE:\n      SkipMachineOOBE: true\n")
    before = snapshot(root)
    r = run("--generalize", "--root", root, "--unattend", str(answer))
    assert r.code == 2 and "no python3" in r.err and "oobeSystem pass" in r.err
    assert snapshot(root) == before


COMMANDS = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: web-01
  Linux-Deployment:
    RunSynchronous:
      - Order: 1
        Path: echo ran >> /root/specialize-command
"""


def early_stage_done(dirty, run, tmp_path) -> str:
    """A root generalized with specialize commands, booted through the early unit's stage."""
    answer = tmp_path / "u.yaml"
    answer.write_text(COMMANDS)
    assert run("--generalize", "--root", dirty.path, "--unattend", str(answer)).code == 0
    boot(run, dirty.path, "specialize")
    return dirty.path


def test_specialize_commands_run_in_the_later_stage_identity_in_the_early_one(dirty, run, tmp_path):
    root = early_stage_done(dirty, run, tmp_path)
    assert len(open(os.path.join(root, "etc/machine-id")).read().strip()) == 32
    assert open(os.path.join(root, "etc/hostname")).read() == "web-01\n"
    assert not os.path.exists(os.path.join(root, "root/specialize-command"))
    assert state_of(root) == "IMAGE_STATE_UNDEPLOYABLE" and "LastError = \n" in state_ini(root)
    boot(run, root, "passes")
    assert open(os.path.join(root, "root/specialize-command")).read() == "ran\n"
    assert state_of(root) == "IMAGE_STATE_COMPLETE"
    assert setupact(root).count("specialize pass finished") == 1


def test_the_later_stage_waits_for_the_early_one(dirty, run):
    root = dirty.path
    assert run("--generalize", "--root", root).code == 0
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"


def record_failure(
    root: str, stage: str, result: str, status: str = ""
) -> subprocess.CompletedProcess:
    env = {**os.environ, "SERVICE_RESULT": result, "EXIT_STATUS": status}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sysprep",
            "boot",
            "--stage",
            stage,
            "--root",
            root,
            "--record-failure",
        ],
        env=env,
        capture_output=True,
        text=True,
    )


def test_a_stage_that_timed_out_leaves_undeployable_with_last_error(dirty, run, tmp_path):
    root = early_stage_done(dirty, run, tmp_path)
    assert record_failure(root, "passes", "success").returncode == 0  # a normal stop
    assert "LastError = \n" in state_ini(root)
    assert record_failure(root, "passes", "timeout").returncode == 0
    assert state_of(root) == "IMAGE_STATE_UNDEPLOYABLE"
    assert f"LastError = {units.PASSES_UNIT} timed out" in state_ini(root)
    r = run("boot", "--stage", "passes", "--root", root)
    assert r.code == 1 and "--retry" in r.err
    assert run("boot", "--stage", "passes", "--root", root, "--retry").code == 0
    assert state_of(root) == "IMAGE_STATE_COMPLETE"


def test_a_failure_the_engine_recorded_keeps_its_own_last_error(dirty, run):
    root = dirty.path
    write_file(root, "etc/sysprep/providers.d/specialize/broken", "#!/bin/sh\nexit 4\n", mode=0o755)
    assert run("--generalize", "--root", root).code == 0
    assert run("boot", "--stage", "specialize", "--root", root).code == 1
    before = state_ini(root)
    assert record_failure(root, "specialize", "exit-code", "1").returncode == 0
    assert state_ini(root) == before and "broken" in before


def test_every_unit_has_a_finite_start_timeout_unless_a_person_is_waiting():
    for text in (units.specialize_unit(257), units.passes_unit(person=False), keygen.UNIT_TEXT):
        line = next(ln for ln in text.splitlines() if ln.startswith("TimeoutStartSec="))
        assert line != "TimeoutStartSec=infinity"
    for text in (units.specialize_unit(257), units.passes_unit(person=False)):
        assert "--record-failure" in text


def test_batch_passes_no_boot_passes_to_each_image_run():
    import argparse

    from sysprep.commands import batch

    p = argparse.ArgumentParser()
    batch.build(p, "batch")
    assert "--no-boot-passes" in batch._passed_args(p.parse_args(["--no-boot-passes", "a.img"]))


@pytest.mark.parametrize(
    "init,link",
    [("etc/runlevels/boot", keygen.OPENRC_LINK), ("etc/rcS.d", keygen.SYSV_LINK)],
    ids=["openrc", "sysv"],
)
def test_an_image_without_systemd_gets_an_init_script_for_the_ssh_keys(dirty, run, init, link):
    import shutil

    root = dirty.path
    shutil.rmtree(os.path.join(root, "usr/lib/systemd"))
    os.makedirs(os.path.join(root, init), exist_ok=True)
    with_sshd(root)
    r = run("--generalize", "--root", root)
    assert r.code == 0, r.err
    assert os.readlink(os.path.join(root, link)) == "/" + keygen.INIT_SCRIPT
    script = open(os.path.join(root, keygen.INIT_SCRIPT)).read()
    assert "ssh-keygen -A" in script and f"rm -f /{link} /{keygen.INIT_SCRIPT}" in script
    assert state_of(root) == "IMAGE_STATE_COMPLETE"
    assert "neither systemd" not in r.err


def test_a_dry_run_of_no_boot_passes_plans_the_ssh_key_unit_and_changes_nothing(dirty, run):
    with_sshd(dirty.path)
    before = snapshot(dirty.path)
    r = run("--generalize", "--no-boot-passes", "--root", dirty.path, "--dry-run", "--json")
    assert r.code == 0, r.err
    assert keygen.UNIT_FILE in r.out and "neither systemd" not in r.out + r.err
    assert snapshot(dirty.path) == before
