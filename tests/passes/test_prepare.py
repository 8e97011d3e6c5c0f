from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from sysprep.testing.dirty_root import build
from tests.conftest import snapshot
from tests.contract import parse

PANTHER = "var/lib/sysprep/panther"


def spawn(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sysprep", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def state_of(root) -> str:
    try:
        with open(os.path.join(root, "var/lib/sysprep/state.ini")) as f:
            for line in f:
                if line.startswith("ImageState"):
                    return line.split("=", 1)[1].strip()
    except FileNotFoundError:
        pass
    return ""


def slow_provider(root, marker="etc/slept-once", seconds=60):
    """An image provider that blocks the first time it runs (a window to kill or race in)."""
    d = os.path.join(root, "etc/sysprep/providers.d/cleanup")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "50-slow")
    with open(p, "w") as f:
        f.write(f"#!/bin/sh\n[ -e /{marker} ] && exit 0\n: > /{marker}\nsleep {seconds}\n")
    os.chmod(p, 0o755)


def wait_for(pred, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_generalize_oobe_on_the_fixture(dirty, run):
    r = run("--generalize", "--oobe", "--root", dirty.path)
    assert r.code == 0, r.err
    root = dirty.path
    assert open(f"{root}/etc/machine-id").read() == "uninitialized\n"
    assert not os.path.exists(f"{root}/var/lib/dbus/machine-id")
    assert not [n for n in os.listdir(f"{root}/etc/ssh") if "_host_" in n]
    assert os.path.exists(f"{root}/etc/ssh/sshd_config")
    assert not os.path.exists(f"{root}/root/.bash_history")
    for user in dirty.users:
        assert not os.path.exists(f"{root}/home/{user}/.bash_history")
        assert os.path.exists(f"{root}/home/{user}/notes.txt")
    assert not os.path.exists(f"{root}/var/log/syslog")
    assert not os.listdir(f"{root}/var/log/journal")
    assert os.path.isdir(f"{root}/var/log/nginx") and not os.listdir(f"{root}/var/log/nginx")
    for name in ("setupact.log", "setuperr.log", "actions.jsonl"):
        assert os.path.isfile(f"{root}/{PANTHER}/{name}")
    assert "machine-id" in open(f"{root}/{PANTHER}/setupact.log").read()
    assert dirty.machine_id not in open(f"{root}/{PANTHER}/setupact.log").read().replace(
        f"journal/{dirty.machine_id}", "")
    s = run("state", "--root", root)
    assert s.code == 0 and s.out.splitlines()[0] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"


def test_oobe_alone_runs_cleanup_only_and_reseals_for_specialize(dirty, run):
    r = run("/oobe", "--root", dirty.path)
    assert r.code == 0, r.err
    assert os.path.exists(f"{dirty.path}/etc/ssh/ssh_host_rsa_key")  # identity kept
    assert open(f"{dirty.path}/etc/machine-id").read().strip() == dirty.machine_id
    assert not os.path.exists(f"{dirty.path}/root/.bash_history")  # cleanup ran
    assert state_of(dirty.path) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"
    assert run("/audit", "--root", dirty.path).code == 0
    assert state_of(dirty.path) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"


def test_dry_run_leaves_tree_identical_and_plan_equals_the_record(dirty, run, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(dirty.path, copy, symlinks=True)
    for d, _, files in os.walk(dirty.path):  # copytree does not keep owners
        for n in [*files, ""]:
            p = os.path.join(d, n)
            st = os.lstat(p)
            os.lchown(os.path.join(copy, os.path.relpath(p, dirty.path)), st.st_uid, st.st_gid)
    os.setxattr(f"{dirty.path}/etc/passwd", "user.test", b"x")
    before = snapshot(dirty.path)
    plan = run("--generalize", "--oobe", "--root", dirty.path, "--dry-run", "--json")
    assert plan.code == 0, plan.err
    assert snapshot(dirty.path) == before
    real = run("--generalize", "--oobe", "--root", copy, "--quiet")
    assert real.code == 0, real.err
    with open(f"{copy}/{PANTHER}/actions.jsonl") as f:
        record = [json.loads(line) for line in f]
    planned = parse(plan.out, "report")["plan"]
    assert planned and planned == [r for r in record if "provider" in r]


def test_killed_half_way_leaves_undeployable_and_a_rerun_finishes(dirty):
    slow_provider(dirty.path)
    p = spawn("--generalize", "--oobe", "--root", dirty.path)
    assert wait_for(lambda: os.path.exists(f"{dirty.path}/etc/slept-once"))
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    assert os.path.exists(f"{dirty.path}/etc/ssh/ssh_host_rsa_key")  # generalize never ran
    again = spawn("--generalize", "--oobe", "--root", dirty.path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert state_of(dirty.path) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert not os.path.exists(f"{dirty.path}/etc/ssh/ssh_host_rsa_key")
    assert open(f"{dirty.path}/etc/machine-id").read() == "uninitialized\n"


def test_a_failed_provider_exits_1_and_leaves_undeployable(dirty):
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    with open(f"{d}/fail", "w") as f:
        f.write("#!/bin/sh\necho broken >&2\nexit 3\n")
    os.chmod(f"{d}/fail", 0o755)
    p = spawn("--generalize", "--root", dirty.path)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1
    assert "exited with status 3" in err
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    errlog = open(f"{dirty.path}/{PANTHER}/setuperr.log").read()
    assert "x-fail" in errlog and "status 3" in errlog


def test_image_providers_run_sandboxed_with_their_phase(dirty, run, outside):
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    with open(f"{d}/probe", "w") as f:
        f.write(f"#!/bin/sh\necho \"$SYSPREP_PHASE $SYSPREP_TARGET\" > /probe.out\n"
                f"ls {outside} > /host-visible 2>&1 || true\n"
                "cat /proc/1/cmdline > /pid1 2>/dev/null || true\n")
    os.chmod(f"{d}/probe", 0o755)
    (outside / "x").write_text("secret-host-file")
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 0, r.err
    assert open(f"{dirty.path}/probe.out").read() == "generalize offline\n"
    assert "No such file" in open(f"{dirty.path}/host-visible").read()


def test_dry_run_lists_image_providers_without_running_them(dirty, run):
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    with open(f"{d}/probe", "w") as f:
        f.write("#!/bin/sh\ntouch /ran\n")
    os.chmod(f"{d}/probe", 0o755)
    r = run("--generalize", "--root", dirty.path, "--dry-run")
    assert r.code == 0, r.err
    assert "/etc/sysprep/providers.d/generalize/probe" in r.out
    assert not os.path.exists(f"{dirty.path}/ran")


def test_hostile_root_leaves_everything_outside_untouched(tmp_path, outside, run):
    root = tmp_path / "hostile"
    build(str(root))
    canaries = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in outside.iterdir()}
    host_etc = tmp_path / "host-etc"
    host_etc.mkdir()
    (host_etc / "passwd").write_text("host passwd\n")
    canaries[host_etc / "passwd"] = ((host_etc / "passwd").read_bytes(), (host_etc / "passwd").stat().st_mtime_ns)
    shutil.rmtree(root / "var/log")
    os.symlink("/etc", root / "var/log")  # resolves to the root's own /etc
    os.remove(root / "home/alice/.bash_history")
    os.symlink(str(outside / "canary"), root / "home/alice/.bash_history")
    os.remove(root / "home/bob/.bash_history")
    os.symlink("../../../../../../../../../../" + str(outside / "canary").lstrip("/"),
               root / "home/bob/.bash_history")
    shutil.rmtree(root / "home/alice/.cache")
    os.symlink("/", root / "home/alice/.cache")  # a user's cache pointing at the whole system
    os.symlink("loop2", root / "var/loop1")
    os.symlink("loop1", root / "var/loop2")
    os.symlink(str(host_etc), root / "etc/ssh/host-etc")
    os.link(outside / "canary.log", root / "etc/linked.log")
    os.makedirs(root / "var/spool/x")
    os.link(outside / "canary.log", root / "var/spool/x/linked")
    (root / "run").mkdir(exist_ok=True)
    subprocess.run(["mount", "--bind", str(outside), str(root / "run")], check=True)
    try:
        r = run("--generalize", "--oobe", "--root", str(root), "--operations", "all")
    finally:
        subprocess.run(["umount", str(root / "run")], check=True)
    assert r.code in (0, 1), r.err
    assert (root / "etc/passwd").exists() and (root / "usr/bin/python3.11").exists()
    for p, (data, mtime) in canaries.items():
        assert p.read_bytes() == data, p
        assert p.stat().st_mtime_ns == mtime, p


def test_second_run_on_the_same_root_is_refused_with_the_holders_pid(dirty, tmp_path):
    slow_provider(dirty.path)
    first = spawn("--generalize", "--root", dirty.path)
    try:
        assert wait_for(lambda: os.path.exists(f"{dirty.path}/etc/slept-once"))
        second = spawn("--generalize", "--root", dirty.path)
        out, err = second.communicate(timeout=60)
        assert second.returncode != 0
        assert f"PID {first.pid}" in err
        # another root proceeds while the first is still locked
        other = build(str(tmp_path / "other"))
        third = spawn("--generalize", "--root", other.path)
        out, err = third.communicate(timeout=120)
        assert third.returncode == 0, err
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_release_is_recorded_then_enforced(dirty, run):
    assert run("--oobe", "--root", dirty.path).code == 0
    rec = open(f"{dirty.path}/var/lib/sysprep/release.ini").read()
    assert "ID = debian" in rec and "VERSION_ID = 12" in rec
    os.remove(f"{dirty.path}/etc/os-release")
    with open(f"{dirty.path}/etc/os-release", "w") as f:
        f.write("ID=debian\nVERSION_ID=13\n")
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 2
    assert "debian 12" in r.err and "debian 13" in r.err and "sysprep install" in r.err
    assert snapshot(dirty.path) == before
    assert run("install", "--root", dirty.path).code == 2
    assert run("install", "--root", dirty.path, "--force").code == 0
    assert run("--generalize", "--root", dirty.path).code == 0


def test_unknown_operation_changes_nothing(dirty, run):
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--operations", "machine-id,nope")
    assert r.code == 2 and "nope" in r.err
    assert snapshot(dirty.path) == before


@pytest.mark.parametrize(("ops", "expected"), [
    ("machine-id", {"machine-id"}),
    ("defaults,-logfiles", {"machine-id", "ssh-hostkeys", "bash-history"}),
])
def test_operations_selection(dirty, run, ops, expected):
    r = run("--generalize", "--root", dirty.path, "--operations", ops, "--json", "--dry-run")
    ran = {p["name"] for p in parse(r.out, "report")["providers"]}
    assert expected <= ran
    if "-" in ops:
        assert "logfiles" not in ran
    else:
        assert ran == expected


def test_image_code_cannot_lift_the_masks_over_host_mounts(dirty, run, outside):
    """Code from the image runs as root without mount rights: a host folder bound into the
    chroot stays masked even when it tries to unmount the mask."""
    (outside / "host-secret").write_text("host only\n")
    os.makedirs(f"{dirty.path}/run", exist_ok=True)
    subprocess.run(["mount", "--bind", str(outside), f"{dirty.path}/run"], check=True)
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    with open(f"{d}/escape", "w") as f:
        f.write("#!/bin/sh\numount /run 2>/probe.umount; umount -l /run 2>>/probe.umount\n"
                "ls /run > /probe.ls 2>&1; cat /proc/self/status | grep ^CapEff > /probe.caps\n")
    os.chmod(f"{d}/escape", 0o755)
    try:
        r = run("--generalize", "--root", dirty.path)
    finally:
        subprocess.run(["umount", f"{dirty.path}/run"], check=True)
    assert r.code == 0, r.err
    assert "host-secret" not in open(f"{dirty.path}/probe.ls").read()
    assert "not permitted" in open(f"{dirty.path}/probe.umount").read()
    caps = int(open(f"{dirty.path}/probe.caps").read().split()[1], 16)
    assert not caps & (1 << 21)  # CAP_SYS_ADMIN
    assert (outside / "host-secret").read_text() == "host only\n"


def test_a_crash_after_the_rearm_was_counted_counts_it_once(dirty):
    """Killed between counting the rearm and recording the final state, then run again."""
    env = {**os.environ, "SYSPREP_TEST_CRASH_AT": "before-state"}  # just before the final state
    p = subprocess.run([sys.executable, "-m", "sysprep", "--generalize", "--root", dirty.path],
                       capture_output=True, text=True, env=env)
    assert p.returncode == -signal.SIGKILL
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    lic = open(f"{dirty.path}/var/lib/sysprep/license.ini").read()
    assert "RearmCount = 1" in lic
    again = spawn("--generalize", "--root", dirty.path)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "RearmCount = 1" in open(f"{dirty.path}/var/lib/sysprep/license.ini").read()
    assert state_of(dirty.path) == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    third = spawn("--generalize", "--root", dirty.path)  # a new run: a new rearm
    third.communicate(timeout=120)
    assert "RearmCount = 2" in open(f"{dirty.path}/var/lib/sysprep/license.ini").read()


def test_a_target_sysprep_cannot_write_its_state_into_fails_in_one_line(dirty):
    os.makedirs(f"{dirty.path}/var/lib", exist_ok=True)
    with open(f"{dirty.path}/var/lib/sysprep", "w") as f:
        f.write("not a folder\n")
    p = spawn("--generalize", "--root", dirty.path)
    _, err = p.communicate(timeout=60)
    assert p.returncode in (1, 2)
    assert len(err.strip().splitlines()) >= 1 and "Traceback" not in err
    assert "var/lib/sysprep" in err
