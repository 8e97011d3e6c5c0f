from __future__ import annotations

import json
import os
import re
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
    return subprocess.Popen(
        [sys.executable, "-m", "sysprep", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


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
        f"journal/{dirty.machine_id}", ""
    )
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
    # the record in the image names the template's identity <machine-id>, <hostname>... (the
    # plan, on the host, has the exact paths)
    text = json.dumps(planned).replace(dirty.machine_id, "<machine-id>")
    assert planned and json.loads(text) == [r for r in record if "provider" in r]
    assert dirty.machine_id in json.dumps(planned) and dirty.machine_id not in json.dumps(record)


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
        f.write(
            f'#!/bin/sh\necho "$SYSPREP_PHASE $SYSPREP_TARGET" > /probe.out\n'
            f"ls {outside} > /host-visible 2>&1 || true\n"
            "cat /proc/1/cmdline > /pid1 2>/dev/null || true\n"
        )
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
    canaries[host_etc / "passwd"] = (
        (host_etc / "passwd").read_bytes(),
        (host_etc / "passwd").stat().st_mtime_ns,
    )
    shutil.rmtree(root / "var/log")
    os.symlink("/etc", root / "var/log")  # resolves to the root's own /etc
    os.remove(root / "home/alice/.bash_history")
    os.symlink(str(outside / "canary"), root / "home/alice/.bash_history")
    os.remove(root / "home/bob/.bash_history")
    os.symlink(
        "../../../../../../../../../../" + str(outside / "canary").lstrip("/"),
        root / "home/bob/.bash_history",
    )
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


@pytest.mark.parametrize(
    "argv",
    [
        ("--operations", ""),  # an unset shell variable
        ("--operations", ","),
        ("--operations", "all,-all"),
        ("--operations", "machine-id", "--disable", "machine-id"),
        ("--operations", "new-machine-id"),  # a specialize operation: nothing runs now
    ],
    ids=["empty", "comma", "all-all", "disabled", "specialize-only"],
)
def test_a_generalize_whose_selection_runs_nothing_is_refused_and_changes_nothing(dirty, run, argv):
    before = snapshot(dirty.path)
    r = run("--generalize", "--oobe", "--root", dirty.path, *argv)
    assert r.code == 2, r.err
    assert len(r.err.splitlines()) == 1 and "operation" in r.err
    assert snapshot(dirty.path) == before


def machine_id_of(root) -> str:
    with open(os.path.join(root, "etc/machine-id")) as f:
        return f.read()


def test_a_generalize_that_resets_no_identity_never_records_a_generalized_image(dirty, run):
    """--generalize with only cleanup operations cleans up; the image is not recorded as
    generalized (its machine-id is intact) and nothing is installed for the next boot."""
    machine_id = machine_id_of(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--operations", "bash-history", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["image_state"].startswith("none") and "unchanged" in report["image_state"]
    assert "cleanup only" in report["action"] and report["rearms"] is None
    assert not os.path.exists(f"{dirty.path}/root/.bash_history")
    assert machine_id_of(dirty.path) == machine_id
    assert not os.path.exists(f"{dirty.path}/var/lib/sysprep/state.ini")
    assert not os.path.exists(f"{dirty.path}/var/lib/sysprep/license.ini")
    assert not os.path.exists(f"{dirty.path}/etc/systemd/system/sysprep-specialize.service")
    assert not os.path.exists(f"{dirty.path}/usr/lib/sysprep")


def test_a_cleanup_of_a_generalized_image_keeps_it_generalized(dirty, run):
    assert run("--generalize", "--root", dirty.path).code == 0
    generalized = state_of(dirty.path)
    assert generalized.startswith("IMAGE_STATE_GENERALIZE_RESEAL_TO_")
    with open(f"{dirty.path}/root/.bash_history", "w") as f:
        f.write("ls\n")
    r = run("--generalize", "--root", dirty.path, "--operations", "bash-history")
    assert r.code == 0, r.err
    assert state_of(dirty.path) == generalized
    assert not os.path.exists(f"{dirty.path}/root/.bash_history")
    assert os.path.exists(f"{dirty.path}/etc/systemd/system/sysprep-specialize.service")


def test_a_generalize_oobe_that_resets_no_identity_reseals_as_oobe_alone(dirty, run):
    r = run("--generalize", "--oobe", "--root", dirty.path, "--operations", "bash-history")
    assert r.code == 0, r.err
    assert "resealing to OOBE without generalizing" in r.err
    assert state_of(dirty.path) == "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"
    assert not os.path.exists(f"{dirty.path}/var/lib/sysprep/license.ini")  # no rearm


def test_a_cleanup_of_an_undeployable_image_leaves_it_undeployable(dirty, run):
    """An earlier generalize that failed half-way: a cleanup does not make it deployable."""
    os.makedirs(f"{dirty.path}/var/lib/sysprep")
    with open(f"{dirty.path}/var/lib/sysprep/state.ini", "w") as f:
        f.write(
            "[State]\nImageState = IMAGE_STATE_UNDEPLOYABLE\n\n[Sysprep]\n"
            "Running = generalize\nLastError = machine-id: disk full\n"
        )
    r = run("--generalize", "--root", dirty.path, "--operations", "bash-history")
    assert r.code == 0, r.err
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    assert "machine-id: disk full" in open(f"{dirty.path}/var/lib/sysprep/state.ini").read()


def test_an_oobe_cleanup_with_an_empty_selection_is_refused(dirty, run):
    before = snapshot(dirty.path)
    r = run("--oobe", "--root", dirty.path, "--operations", "")
    assert r.code == 2 and "no cleanup operation" in r.err
    assert snapshot(dirty.path) == before
    assert run("--oobe", "--root", dirty.path, "--operations", "bash-history").code == 0


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ("machine-id", {"machine-id"}),
        ("defaults,-logfiles", {"machine-id", "ssh-hostkeys", "bash-history"}),
    ],
)
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
        f.write(
            "#!/bin/sh\numount /run 2>/probe.umount; umount -l /run 2>>/probe.umount\n"
            "ls /run > /probe.ls 2>&1; cat /proc/self/status | grep ^CapEff > /probe.caps\n"
        )
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
    p = subprocess.run(
        [sys.executable, "-m", "sysprep", "--generalize", "--root", dirty.path],
        capture_output=True,
        text=True,
        env=env,
    )
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


def test_an_os_release_that_is_not_utf8_is_refused_in_one_line_and_nothing_changes(dirty, run):
    with open(f"{dirty.path}/etc/os-release", "wb") as f:
        f.write(b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Deb\xffian"\n')
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 2, r.err
    assert r.err.strip() == (
        "sysprep: /etc/os-release of the target is not valid UTF-8 (byte "
        "0xff on line 3): fix the file, os-release is UTF-8 text"
    )
    assert snapshot(dirty.path) == before


@pytest.fixture
def mounted(tmp_path):
    """Mount points made for one test, unmounted after it."""
    points: list[str] = []

    def mount(*argv: str) -> str:
        point = str(tmp_path / f"mnt{len(points)}")
        os.mkdir(point)
        subprocess.run(["mount", *argv, point], check=True)
        points.append(point)
        return point

    yield mount
    for point in reversed(points):
        subprocess.run(["umount", "--lazy", point], check=False)


def test_a_read_only_target_is_refused_naming_it_before_any_change(dirty, run, mounted):
    ro = mounted("--bind", dirty.path)
    subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True)
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", ro)
    assert r.code == 2, r.err
    assert r.err.strip().splitlines() == [
        f"sysprep: {ro} is on a read-only file system ({ro}): sysprep changes the target; mount "
        "it read-write, or use --dry-run to see the plan"
    ]
    assert snapshot(dirty.path) == before
    assert run("--generalize", "--root", ro, "--dry-run").code == 0  # a plan changes nothing


def test_a_full_target_fails_naming_the_file_without_a_traceback(tmp_path, mounted):
    small = mounted("-t", "tmpfs", "-o", "size=4m", "tmpfs")
    root = build(f"{small}/root").path
    with open(f"{small}/filler", "wb") as f:  # leave 128 KiB: enough to start, not to finish
        free = os.statvfs(small).f_bavail * os.statvfs(small).f_frsize
        f.write(b"\0" * max(free - 128 * 1024, 0))
    p = spawn("--generalize", "--root", root)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    assert "No space left on device: /" in err and "internal error" not in err
    assert state_of(root) == "IMAGE_STATE_UNDEPLOYABLE"
    with open(f"{root}/var/lib/sysprep/state.ini") as f:
        assert "LastError = boot-passes: No space left on device: /usr/lib/sysprep/" in f.read()
    with open(f"{root}/{PANTHER}/setupact.log") as f:
        assert "Traceback" not in f.read()


HOSTILE_NAME = "\x1b[2J\x1b]0;owned\x07\nsysprep: forged line"


def test_dry_run_plan_escapes_control_characters_of_target_file_names(dirty, run):
    with open(os.path.join(dirty.path, "var/log", HOSTILE_NAME + ".log"), "w") as f:
        f.write("x")
    r = run("--generalize", "--root", dirty.path, "--dry-run")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "\nsysprep: forged line" not in r.out
    # the plan is wrapped to the terminal's width at spaces: compare with them joined again
    assert "var/log/\\x1b[2J\\x1b]0;owned\\x07\\nsysprep: forged line.log" in " ".join(
        r.out.split()
    )


def test_warnings_and_setupact_log_escape_control_characters_of_target_file_names(dirty, run):
    # a foreign mount under var/log is skipped with a warning that names it
    mnt = os.path.join(dirty.path, "var/log", HOSTILE_NAME)
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", mnt], check=True)
    try:
        r = run("--generalize", "--root", dirty.path)
    finally:
        subprocess.run(["umount", mnt], check=True)
    assert r.code == 0, r.err
    assert (
        "warning: [logfiles] skipped /var/log/\\x1b[2J\\x1b]0;owned\\x07\\nsysprep: forged line"
        in r.err
    )
    assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err
    assert "\nsysprep: forged line" not in r.err
    for name in ("setupact.log", "setuperr.log"):
        text = open(os.path.join(dirty.path, PANTHER, name), encoding="utf-8").read()
        assert "/var/log/\\x1b[2J" in text
        assert "\x1b" not in text and "\x07" not in text
        assert not [line for line in text.splitlines() if line.startswith("sysprep: forged")]


def last_error_of(root) -> str:
    with open(os.path.join(root, "var/lib/sysprep/state.ini")) as f:
        return next(
            (line.split("=", 1)[1].strip() for line in f if line.startswith("LastError")), ""
        )


def tree(root) -> dict[str, tuple]:
    """Every entry with its type, mode, owner and content, without what differs between two
    runs of the same request: times (of files, and written in sysprep's records), the id of
    the run that counted the rearm, the salt of the identity record, and logs."""

    def content(rel: str, data: bytes) -> bytes:
        if rel.startswith("var/lib/sysprep/") and rel.endswith(".ini"):
            return re.sub(rb"(?m)^(\w+ = \d{4}-\d\d-\d\dT.*|CountedRun = \w+)$", b"", data)
        if rel == "var/lib/sysprep/identity-tokens.json":  # hashed with a salt of each image
            return json.dumps(sorted(t["kind"] for t in json.loads(data)["tokens"])).encode()
        return data

    return {
        rel: (v[0], v[1], v[2], content(rel, v[-1]) if len(v) > 4 else None)
        for rel, v in snapshot(root).items()
        if not rel.startswith(PANTHER)
    }


STOPPED = {
    signal.SIGTERM: "stopped by SIGTERM",
    signal.SIGHUP: "stopped by SIGHUP",
    signal.SIGINT: "interrupted (Ctrl+C)",
}


@pytest.mark.parametrize("sig", list(STOPPED), ids=lambda s: s.name)
def test_terminated_run_records_why_and_a_rerun_ends_as_an_uninterrupted_run(dirty, tmp_path, sig):
    reference = str(tmp_path / "reference")
    subprocess.run(["cp", "-a", dirty.path, reference], check=True)
    slow_provider(dirty.path)
    slow_provider(reference)
    open(f"{reference}/etc/slept-once", "w").close()
    p = spawn("--generalize", "--oobe", "--root", dirty.path)
    assert wait_for(lambda: os.path.exists(f"{dirty.path}/etc/slept-once"))
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1
    assert err.strip().splitlines()[-1] == (
        f"sysprep: {STOPPED[sig]}; the image state says what was finished"
    )
    assert "Traceback" not in err
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    assert last_error_of(dirty.path) == STOPPED[sig]
    assert STOPPED[sig] in open(f"{dirty.path}/{PANTHER}/setuperr.log").read()
    for root in (dirty.path, reference):
        r = spawn("--generalize", "--oobe", "--root", root)
        _, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
    assert tree(dirty.path) == tree(reference)
    assert not [n for _, _, names in os.walk(dirty.path) for n in names if ".sysprep-" in n]


def test_a_hangup_with_the_terminal_gone_still_stops_in_order(dirty):
    # an SSH disconnect: SIGHUP, and writing to stdout or stderr fails from then on
    slow_provider(dirty.path)
    p = spawn("--generalize", "--oobe", "--root", dirty.path)
    assert wait_for(lambda: os.path.exists(f"{dirty.path}/etc/slept-once"))
    p.stdout.close()
    p.stderr.close()
    p.send_signal(signal.SIGHUP)
    assert p.wait(timeout=60) == 1
    assert state_of(dirty.path) == "IMAGE_STATE_UNDEPLOYABLE"
    assert last_error_of(dirty.path) == "stopped by SIGHUP"


def temp_files(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, n), root)
        for d, _, names in os.walk(root)
        for n in names
        if ".sysprep-" in n
    )


@pytest.mark.parametrize("nth", [1, 14, 24])  # release.ini, the runtime bundle, a unit drop-in
def test_a_rerun_removes_the_temp_files_a_killed_run_left(dirty, tmp_path, nth):
    users = ["home/alice/.notes.sysprep-0123abcd", "etc/.keep.sysprep-0123abcd"]
    for rel in users:  # the user's own, of the same form: never removed
        with open(os.path.join(dirty.path, rel), "w") as f:
            f.write("mine\n")
    reference = str(tmp_path / "reference")
    subprocess.run(["cp", "-a", dirty.path, reference], check=True)
    env = {**os.environ, "SYSPREP_TEST_CRASH_AT": f"temp-file@{nth}"}
    p = subprocess.run(
        [sys.executable, "-m", "sysprep", "--generalize", "--oobe", "--root", dirty.path],
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == -signal.SIGKILL
    assert set(temp_files(dirty.path)) - set(users)  # the crash left one
    for root in (dirty.path, reference):
        r = subprocess.run(
            [sys.executable, "-m", "sysprep", "--generalize", "--oobe", "--root", root],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
    assert temp_files(dirty.path) == sorted(users)
    assert tree(dirty.path) == tree(reference)


def test_image_code_gives_files_to_the_images_users_with_their_real_ids(dirty, run, outside):
    """Package scripts and account tools in the sandbox chown to any uid of the image, and
    the sandbox still reaches nothing of the host (no host paths, no network)."""
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    (outside / "x").write_text("secret-host-file")
    with open(f"{d}/owners", "w") as f:
        f.write(
            "#!/bin/sh\nset -e\necho data > /srv-file\nchown 1000:1001 /srv-file\n"
            "mkdir -p /home/new && chown 4242:4243 /home/new\n"
            "stat -c '%u:%g' /root > /probe.root-owner\n"
            f"ls {outside} > /probe.host 2>&1 || true\n"
            "cat /proc/net/dev > /probe.net\n"
            "grep -E '^(CapPrm|NoNewPrivs)' /proc/self/status > /probe.caps\n"
        )
    os.chmod(f"{d}/owners", 0o755)
    os.chown(f"{dirty.path}/root", 0, 0)
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 0, r.err
    st = os.stat(f"{dirty.path}/srv-file")
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    st = os.stat(f"{dirty.path}/home/new")
    assert (st.st_uid, st.st_gid) == (4242, 4243)
    assert open(f"{dirty.path}/probe.root-owner").read() == "0:0\n"
    assert "No such file" in open(f"{dirty.path}/probe.host").read()
    interfaces = [
        line.split(":")[0].strip()
        for line in open(f"{dirty.path}/probe.net").read().splitlines()[2:]
    ]
    assert interfaces == ["lo"]
    # real root, but with the file capabilities only, and no way to gain more by exec
    # (no_new_privs: neither setuid nor file capabilities grant anything)
    status = dict(line.split(":") for line in open(f"{dirty.path}/probe.caps").read().splitlines())
    assert status["NoNewPrivs"].strip() == "1"
    caps = int(status["CapPrm"], 16)
    # SYS_ADMIN, SYS_CHROOT, SYS_MODULE, SYS_RAWIO, MKNOD, NET_ADMIN, SYS_PTRACE, and
    # DAC_READ_SEARCH (open_by_handle_at: any inode of the host file system under --root)
    for cap in (21, 18, 16, 17, 27, 12, 19, 2):
        assert not caps & (1 << cap), cap


def test_sysprep_state_escapes_control_characters_of_the_images_state_file(dirty, run):
    os.makedirs(f"{dirty.path}/var/lib/sysprep", exist_ok=True)
    with open(f"{dirty.path}/var/lib/sysprep/state.ini", "w") as f:
        f.write(
            "[State]\nImageState = IMAGE_STATE_UNDEPLOYABLE\n\n[Sysprep]\n"
            "LastError = \x1b[2J\x1b]0;owned\x07 gone\n"
        )
    r = run("state", "--root", dirty.path)
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "last error: \\x1b[2J\\x1b]0;owned\\x07 gone" in r.out
