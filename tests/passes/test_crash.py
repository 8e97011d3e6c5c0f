"""Crash injection: the boot-time run is killed at every step it enumerates, then run again.

It must finish with the same result as an uninterrupted run, never repeat a command whose
completion was recorded, and never lose the state.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from sysprep.passes.checkpoint import ENV, POINTS
from sysprep.testing.dirty_root import build

pytestmark = pytest.mark.integration  # a minute of boots: run by .ci/run with the integration tests

ANSWER = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: crash-test
  Linux-Deployment:
    RunSynchronous:
      - Order: 1
        Path: echo x >> /runs/1
      - Order: 2
        Path: echo x >> /runs/2; exit 1
        Description: asks for a reboot
        WillReboot: OnRequest
      - Order: 3
        Path: echo x >> /runs/3
oobeSystem:
  Linux-Shell-Setup:
    OOBE:
      SkipMachineOOBE: true
    FirstLogonCommands:
      - Order: 1
        CommandLine: echo x >> /runs/first-logon
"""
COMMANDS = ("1", "2", "3", "first-logon", "setupcomplete")


def sysprep(*argv: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if crash:
        env[ENV] = crash
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def state_line(root: str, key: str) -> str:
    for line in open(os.path.join(root, "var/lib/sysprep/state.ini")):
        if line.startswith(key):
            return line.split("=", 1)[1].strip()
    return ""


def boot_until_done(root: str, crash: str | None = None, limit: int = 12) -> tuple[int, list[int]]:
    """Boot the offline root again and again (both stages per boot) until nothing is pending.

    Every run carries the crash until one crashed; returns (boots, exit codes)."""
    codes = []
    for boot in range(limit):
        for stage in ("specialize", "passes"):
            r = sysprep("boot", "--stage", stage, "--root", root, crash=crash)
            codes.append(r.returncode)
            if r.returncode not in (0, -signal.SIGKILL):
                raise AssertionError(f"boot {boot} {stage}: {r.returncode}\n{r.stderr}")
            if r.returncode == -signal.SIGKILL:
                crash = None
        if (
            not state_line(root, "PendingPasses")
            and state_line(root, "ImageState") == "IMAGE_STATE_COMPLETE"
            and not os.path.exists(os.path.join(root, "var/lib/sysprep/boot-pending"))
        ):
            return boot + 1, codes
    raise AssertionError(f"not done after {limit} boots: {state_line(root, 'ImageState')}")


def runs(root: str) -> dict[str, int]:
    out = {}
    for name in COMMANDS:
        try:
            out[name] = len(open(os.path.join(root, "runs", name)).read().splitlines())
        except FileNotFoundError:
            out[name] = 0
    return out


def facts(root: str) -> dict[str, object]:
    return {
        "state": state_line(root, "ImageState"),
        "pending": state_line(root, "PendingPasses"),
        "hostname": open(os.path.join(root, "etc/hostname")).read(),
        "machine_id_len": len(open(os.path.join(root, "etc/machine-id")).read().strip()),
        "units_enabled": os.path.exists(os.path.join(root, "var/lib/sysprep/boot-pending")),
        "specialize_providers": open(os.path.join(root, "runs/provider")).read().count("x") > 0,
    }


@pytest.fixture(scope="module")
def generalized(tmp_path_factory):
    """A fixture root generalized with the answer file, ready for its first boot."""
    base = tmp_path_factory.mktemp("crash")
    root = build(str(base / "root")).path
    os.makedirs(os.path.join(root, "runs"))
    d = os.path.join(root, "etc/sysprep/providers.d/specialize")
    os.makedirs(d)
    with open(os.path.join(d, "count"), "w") as f:
        f.write("#!/bin/sh\necho x >> /runs/provider\n")
    os.chmod(os.path.join(d, "count"), 0o755)
    os.makedirs(os.path.join(root, "etc/sysprep/scripts"))
    with open(os.path.join(root, "etc/sysprep/scripts/setupcomplete"), "w") as f:
        f.write("#!/bin/sh\necho x >> /runs/setupcomplete\n")
    os.chmod(os.path.join(root, "etc/sysprep/scripts/setupcomplete"), 0o755)
    answer = base / "unattend.yaml"
    answer.write_text(ANSWER)
    r = sysprep("--generalize", "--oobe", "--root", root, "--unattend", str(answer), "--quiet")
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture(scope="module")
def reference(generalized, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("reference") / "root")
    shutil.copytree(generalized, root, symlinks=True)
    boots, _ = boot_until_done(root)
    assert boots == 2  # the command that asks for a reboot
    assert runs(root) == {name: 1 for name in COMMANDS}
    return facts(root)


CASES = [(point, n) for point in POINTS for n in (1, 2, 3)]


@pytest.mark.parametrize(("point", "n"), CASES, ids=[f"{p}@{n}" for p, n in CASES])
def test_killed_at_every_step_then_run_again(generalized, reference, tmp_path, point, n):
    root = str(tmp_path / "root")
    shutil.copytree(generalized, root, symlinks=True)
    _, codes = boot_until_done(root, crash=f"{point}@{n}")
    crashed = -signal.SIGKILL in codes
    if n == 1:
        assert crashed, f"the run never reached {point}"
    assert facts(root) == reference
    counts = runs(root)
    for name in COMMANDS:
        # a command runs again only when it was killed after it ran and before its
        # completion was recorded; never once its completion was recorded
        allowed = 2 if crashed and point == "after-command" else 1
        assert 1 <= counts[name] <= allowed, (name, counts)
    if crashed and point == "after-command":
        assert sum(counts.values()) == len(COMMANDS) + 1  # exactly the interrupted one again
    assert state_line(root, "LastError") == ""


def test_killed_while_a_command_runs(generalized, tmp_path):
    """SIGKILL from outside while a command is running: it runs again, the rest once."""
    root = str(tmp_path / "root")
    shutil.copytree(generalized, root, symlinks=True)
    # the first boot: identity, then the commands (in the later stage) up to the reboot
    for stage in ("specialize", "passes"):
        assert sysprep("boot", "--stage", stage, "--root", root).returncode == 0
    assert runs(root)["2"] == 1 and runs(root)["3"] == 0
    # the pass resumes at Order 3: make it slow, then kill sysprep in the middle of it
    slow = os.path.join(root, "runs/slow")
    open(slow, "w").close()
    unattend = os.path.join(root, "var/lib/sysprep/unattend.xml")
    text = open(unattend).read()
    assert "echo x &gt;&gt; /runs/3" in text
    open(unattend, "w").write(
        text.replace("echo x &gt;&gt; /runs/3", "echo x &gt;&gt; /runs/3; sleep 30")
    )
    assert sysprep("boot", "--stage", "specialize", "--root", root).returncode == 0
    p = subprocess.Popen(
        [sys.executable, "-m", "sysprep", "boot", "--stage", "passes", "--root", root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while runs(root)["3"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, "the command was not running when sysprep was killed"
    p.send_signal(signal.SIGKILL)
    p.wait()
    open(unattend, "w").write(text)
    boot_until_done(root)
    counts = runs(root)
    assert counts["1"] == 1 and counts["2"] == 1 and counts["3"] == 2 and counts["first-logon"] == 1
    assert counts["setupcomplete"] == 1
    assert state_line(root, "ImageState") == "IMAGE_STATE_COMPLETE"
