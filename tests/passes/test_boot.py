"""The boot-time engine driven against offline roots: state transitions, audit mode, guards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from sysprep.firstboot import units
from sysprep.passes import checkpoint
from sysprep.testing.dirty_root import write_file
from tests.passes.test_prepare import state_of


def boot(run, root, stage):
    r = run("boot", "--stage", stage, "--root", root)
    assert r.code == 0, r.err
    return r


def pending(root) -> str:
    for line in open(os.path.join(root, "var/lib/sysprep/state.ini")):
        if line.startswith("PendingPasses"):
            return line.split("=", 1)[1].strip()
    return ""


def enabled(root, unit):
    want = "sysinit.target.wants" if unit == units.SPECIALIZE_UNIT else "multi-user.target.wants"
    return os.path.islink(os.path.join(root, "etc/systemd/system", want, unit))


def test_oobe_path_state_transitions(dirty, run):
    root = dirty.path
    assert run("--generalize", "--oobe", "--root", root).code == 0
    assert state_of(root) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert pending(root) == "specialize,oobeSystem"
    assert enabled(root, units.SPECIALIZE_UNIT) and enabled(root, units.PASSES_UNIT)
    assert os.path.exists(os.path.join(root, units.MARKER))
    boot(run, root, "passes")  # too early: specialize has not run
    assert state_of(root) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    boot(run, root, "specialize")
    assert (
        state_of(root) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE" and pending(root) == "oobeSystem"
    )
    assert len(open(os.path.join(root, "etc/machine-id")).read().strip()) == 32
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_COMPLETE" and pending(root) == ""
    assert not enabled(root, units.SPECIALIZE_UNIT) and not enabled(root, units.PASSES_UNIT)
    for guard in (units.MARKER, units.PRESET, units.FIRSTBOOT_DROPIN):
        assert not os.path.exists(os.path.join(root, guard))
    before = open(os.path.join(root, "var/log/sysprep/setupact.log")).read()
    boot(run, root, "specialize")
    boot(run, root, "passes")
    assert open(os.path.join(root, "var/log/sysprep/setupact.log")).read() == before


def test_audit_mode_then_reseal_to_oobe(dirty, run):
    root = dirty.path
    assert run("--generalize", "--audit", "--root", root).code == 0
    assert state_of(root) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
    assert pending(root) == "specialize,auditSystem,auditUser"
    assert os.path.exists(os.path.join(root, units.AUTOLOGIN_DROPIN))
    boot(run, root, "specialize")
    assert state_of(root) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" and pending(root) == ""
    assert os.path.exists(os.path.join(root, units.AUTOLOGIN_DROPIN))  # console left at root
    assert not enabled(root, units.PASSES_UNIT)
    log = open(os.path.join(root, "var/log/sysprep/setupact.log")).read()
    assert log.index("auditSystem pass") < log.index("auditUser pass")
    # the builder customised the machine in audit mode, then reseals it for delivery
    os.makedirs(os.path.join(root, "var/log/app"), exist_ok=True)
    open(os.path.join(root, "var/log/app/test.log"), "w").write("made in audit mode\n")
    assert run("--oobe", "--root", root).code == 0
    assert (
        state_of(root) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE" and pending(root) == "oobeSystem"
    )
    assert not os.path.exists(os.path.join(root, units.AUTOLOGIN_DROPIN))
    assert not os.path.exists(os.path.join(root, "var/log/app/test.log"))  # cleanup ran
    assert enabled(root, units.PASSES_UNIT)
    boot(run, root, "specialize")  # nothing for this stage
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_COMPLETE"


def test_failed_specialize_stops_and_needs_retry(dirty, run):
    root = dirty.path
    d = os.path.join(root, "etc/sysprep/providers.d/specialize")
    os.makedirs(d)
    script = os.path.join(d, "flaky")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n[ -e /etc/fixed ] && exit 0\necho not yet >&2\nexit 4\n")
    os.chmod(script, 0o755)
    assert run("--generalize", "--oobe", "--root", root).code == 0
    r = run("boot", "--stage", "specialize", "--root", root)
    assert r.code == 1
    assert state_of(root) == "IMAGE_STATE_UNDEPLOYABLE"
    s = run("state", "--root", root)
    assert "last error" in s.out and "x-flaky" in s.out
    r = run("boot", "--stage", "passes", "--root", root)
    assert r.code == 1 and "--retry" in r.err
    open(os.path.join(root, "etc/fixed"), "w").close()
    assert run("boot", "--stage", "specialize", "--root", root).code == 1  # still stopped
    assert run("boot", "--stage", "specialize", "--root", root, "--retry").code == 0
    assert state_of(root) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"


@pytest.mark.parametrize("persist", [False, True])
def test_hardware_specialize_skipped_when_devices_persisted(dirty, run, persist):
    root = dirty.path
    args = ["--generalize", "--oobe", "--root", root] + (["--mode", "vm"] if persist else [])
    assert run(*args).code == 0
    boot(run, root, "specialize")
    log = open(os.path.join(root, "var/log/sysprep/setupact.log")).read()
    assert ("[pnp-devices] skipped: devices persisted" in log) == persist


def test_preset_pin_keeps_the_templates_units(dirty, run):
    root = dirty.path
    wants = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
    os.makedirs(wants, exist_ok=True)
    os.symlink("/usr/lib/systemd/system/ssh.service", os.path.join(wants, "ssh.service"))
    getty = os.path.join(root, "etc/systemd/system/getty.target.wants")
    os.makedirs(getty)
    os.symlink("/usr/lib/systemd/system/getty@.service", os.path.join(getty, "getty@tty1.service"))
    assert run("--generalize", "--oobe", "--root", root).code == 0
    pin = open(os.path.join(root, units.PRESET)).read().splitlines()
    assert "enable ssh.service" in pin and "enable getty@.service tty1" in pin
    assert pin[-1] == "disable *"
    assert not any("sysprep" in line for line in pin if not line.startswith("#"))


@pytest.mark.parametrize("python", [None, "python3.8"])
def test_image_without_a_usable_python_is_refused_before_any_change(dirty, run, python):
    from tests.conftest import snapshot

    root = dirty.path
    os.remove(os.path.join(root, "usr/bin/python3"))
    os.remove(os.path.join(root, "usr/bin/python3.11"))
    os.rmdir(os.path.join(root, "usr/lib/python3.11"))
    if python:
        open(os.path.join(root, "usr/bin", python), "wb").write(b"\x7fELF")
        os.chmod(os.path.join(root, "usr/bin", python), 0o755)
        os.symlink(python, os.path.join(root, "usr/bin/python3"))
    before = snapshot(root)
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 2
    assert ("no python3" in r.err) if python is None else ("3.8" in r.err and "3.9" in r.err)
    assert snapshot(root) == before


def test_generic_initramfs_waits_for_the_clone_to_be_made_host_only(tmp_path, run):
    from sysprep.testing.dirty_root import build

    root = build(str(tmp_path / "root"), flavour="fedora").path
    assert run("--generalize", "--oobe", "--root", root).code == 0
    dropin = os.path.join(root, "etc/dracut.conf.d/zz-sysprep-generic.conf")
    assert 'hostonly="no"' in open(dropin).read()
    boot(run, root, "specialize")
    log = open(os.path.join(root, "var/log/sysprep/setupact.log")).read()
    assert "[initramfs-hostonly]" in log and "rebuilt on the clone itself" in log
    assert os.path.exists(dropin)  # an offline root has no hardware of its own to build for


def test_setupcomplete_runs_once_when_the_pass_is_killed_after_it(dirty, run):
    """Killed after setupcomplete ran, before the state said COMPLETE: the rerun finishes the
    pass without running it again (its completion is a run-once step of the cycle)."""
    root = dirty.path
    write_file(
        root,
        "etc/sysprep/scripts/setupcomplete",
        "#!/bin/sh\necho x >> /setupcomplete.runs\n",
        0o755,
    )
    assert run("--generalize", "--oobe", "--root", root).code == 0
    boot(run, root, "specialize")
    env = {**os.environ, checkpoint.ENV: "before-state@2"}  # the state write after oobeSystem
    killed = subprocess.run(
        [sys.executable, "-m", "sysprep", "boot", "--stage", "passes", "--root", root],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    assert killed.returncode == -signal.SIGKILL
    assert open(os.path.join(root, "setupcomplete.runs")).read() == "x\n"
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_COMPLETE"
    assert open(os.path.join(root, "setupcomplete.runs")).read() == "x\n"


def test_answer_file_passwords_never_reach_the_boot_logs(dirty, run):
    """The boot engine redacts the passwords of the answer file it finds, as prepare does."""
    root = dirty.path
    assert run("--generalize", "--oobe", "--root", root).code == 0
    write_file(
        root,
        "etc/sysprep/unattend.yaml",
        "specialize:\n"
        "  Linux-Deployment:\n"
        "    RunSynchronous:\n"
        "      - Order: 1\n"
        "        Path: echo Sekr1t-pw-42 > /dev/null; exit 3\n"
        "oobeSystem:\n"
        "  Linux-Shell-Setup:\n"
        "    UserAccounts:\n"
        "      AdministratorPassword:\n"
        "        Value: Sekr1t-pw-42\n"
        "        PlainText: true\n",
    )
    r = boot(run, root, "specialize")
    assert "Sekr1t-pw-42" not in r.out + r.err
    # cached with the password hashed; the clear original is gone from the image
    assert not os.path.exists(os.path.join(root, "etc/sysprep/unattend.yaml"))
    assert "etc/sysprep/unattend.yaml held passwords in clear" in r.err
    logs = os.path.join(root, "var/log/sysprep")
    for folder, _, names in os.walk(logs):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                assert b"Sekr1t-pw-42" not in f.read(), name


def test_specialize_shows_each_of_its_operations_on_the_boot_console(dirty, run):
    """The boot console (the journal) says what the pass does, step by step: a run of sysprep
    itself shows only its summary, but a clone's boot has nobody to ask for -v."""
    root = dirty.path
    assert run("--generalize", "--root", root).code == 0
    r = boot(run, root, "specialize")
    assert "[new-machine-id]" in r.err and "[new-ssh-hostkeys]" in r.err
