"""The pipeline contract (docs/contract.md): schemas, one JSON document for every exit status,
the exit status of `sysprep state` and `--wait`, and the options a pipeline drives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from jsonschema import Draft202012Validator

from sysprep import schemas
from sysprep.passes import progress, state
from sysprep.passes.state import ImageState, State
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import lock_for, open_target, open_target_readonly
from sysprep.testing.dirty_root import write_file
from tests.contract import assert_valid, parse

PY = sys.executable
FAILING_SPECIALIZE = "#!/bin/sh\nsleep 4\necho enrollment refused >&2\nexit 4\n"


def cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "sysprep", *argv], capture_output=True, text=True, timeout=timeout
    )


def provider(root: str, phase: str, name: str, script: str) -> None:
    """An executable provider of the image's own (etc/sysprep/providers.d/PHASE/NAME)."""
    path = os.path.join(root, "etc/sysprep/providers.d", phase, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)


def write_state(root: str, st: State, record: progress.Progress | None = None) -> None:
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=False) as t:
        state.write(t.fs, st)
        if record is not None:
            progress.write(t.fs, record)


# -- the schemas -------------------------------------------------------------------------


@pytest.mark.parametrize("name", schemas.NAMES)
def test_each_schema_is_draft_2020_12_and_printed_by_sysprep_schema(run, name):
    schema = schemas.load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("/draft/2020-12/schema")
    assert "schema_version" in schema["required"]
    r = run("schema", name)
    assert r.code == 0 and json.loads(r.out) == schema


def test_schemas_ship_as_package_data():
    import tomllib  # host-side only (3.11+), as the test suite runs there

    with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["sysprep"]
    assert "schemas/*.schema.json" in data
    folder = os.path.dirname(schemas.__file__)
    assert sorted(
        f.removesuffix(".schema.json") for f in os.listdir(folder) if f.endswith(".schema.json")
    ) == sorted(schemas.NAMES)


def test_unknown_schema_is_a_usage_error(run):
    r = run("schema", "nope")
    assert r.code == 2 and "report" in r.err


def test_a_document_missing_a_field_is_invalid():
    with pytest.raises(AssertionError, match="image_state"):
        assert_valid(
            {
                "schema_version": 1,
                "status": "final",
                "exit_code": 0,
                "why": "",
                "pending": [],
                "running": "",
                "last_error": "",
            },
            "state",
        )


# -- real outputs validate ---------------------------------------------------------------


def test_run_report_and_dry_run_plan_validate(dirty, run):
    plan = run("--generalize", "--root", dirty.path, "--dry-run", "--json")
    assert plan.code == 0
    doc = parse(plan.out, "report")
    assert doc["plan"] and doc["exit_code"] == 0 and not doc["failed"]
    done = run("--generalize", "--root", dirty.path, "--json")
    assert done.code == 0
    assert parse(done.out, "report")["image_state"] == ImageState.GENERALIZE_RESEAL_TO_OOBE.value


def test_inspection_outputs_validate(dirty, run, tmp_path):
    parse(run("providers", "--json").out, "providers")
    parse(run("--list-operations", "--json").out, "providers")
    parse(run("providers", "show", "machine-id", "--json").out, "provider")
    parse(run("license", "--root", dirty.path, "--json").out, "license")
    parse(run("state", "--root", dirty.path, "--json").out, "state")
    answer = tmp_path / "a.yaml"
    answer.write_text("specialize:\n  Linux-Shell-Setup:\n    ComputerName: web-01\n")
    parse(run("answer", "validate", str(answer), "--json").out, "answer-validate")
    parse(run("answer", "show", str(answer), "--json").out, "answer-show")


def test_follow_json_lines_validate(dirty, run):
    write_state(
        dirty.path,
        State(
            ImageState.UNDEPLOYABLE,
            pending=("specialize",),
            running="specialize",
            last_error="specialize: x-enroll failed",
        ),
    )
    r = cli("state", "--follow", "--json", "--root", dirty.path, timeout=30)
    lines = r.stdout.splitlines()
    assert lines and r.returncode == 1
    for line in lines:
        assert_valid(line, "state-follow")


# -- one JSON document for every exit status -----------------------------------------------


def _one_error_document(r, code: int, kind: str) -> dict:
    assert r.code == code, r.err
    doc = parse(r.out, "error")  # the whole of stdout is that one document
    assert doc["error"]["exit_code"] == code and doc["error"]["kind"] == kind
    assert doc["error"]["message"].splitlines()[0] in r.err  # the human message still on stderr
    return doc


def test_argparse_error_prints_the_error_document(run):
    doc = _one_error_document(run("--generalize", "--no-such-option", "--json"), 2, "usage")
    assert "--no-such-option" in doc["error"]["message"]


def test_usage_error_of_a_subcommand_prints_the_error_document(run, tmp_path):
    _one_error_document(run("state", "--root", str(tmp_path / "missing"), "--json"), 2, "usage")


def test_answer_file_errors_print_every_location(run, dirty, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "specialize:\n  Linux-Shell-Setup:\n    ComputerName: 'bad name!'\n    TimeZone: 12\n"
    )
    before = os.listdir(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", str(bad), "--json")
    doc = _one_error_document(r, 2, "answer-file")
    locations = doc["error"]["locations"]
    assert len(locations) == len(r.err.strip().splitlines()) >= 1
    assert all(loc["file"] == str(bad) and loc["line"] >= 1 for loc in locations)
    assert os.listdir(dirty.path) == before
    validated = run("answer", "validate", str(bad), "--json")
    assert _one_error_document(validated, 2, "answer-file")["error"]["locations"] == locations


def test_failed_run_prints_its_report_with_the_error(dirty, run):
    provider(dirty.path, "generalize", "enroll", "#!/bin/sh\necho no >&2\nexit 3\n")
    r = run("--generalize", "--root", dirty.path, "--json")
    assert r.code == 1
    doc = parse(r.out, "report")
    assert doc["failed"] and doc["exit_code"] == 1 and doc["error"].startswith("x-enroll: ")
    assert doc["image_state"] == ImageState.UNDEPLOYABLE.value


def test_run_error_before_the_report_prints_the_error_document(dirty, run):
    with lock_for(TargetSpec(TargetKind.ROOT, root=dirty.path), dirty.path):  # another run
        r = run("--generalize", "--root", dirty.path, "--json")
    assert "already running" in _one_error_document(r, 1, "run")["error"]["message"]


def test_interrupted_run_prints_the_error_document(dirty):
    """Ctrl+C while a script of the run is at work."""
    script = os.path.join(os.path.dirname(dirty.path), "slow.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nsleep 30\n")
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "sysprep",
            "--generalize",
            "--root",
            dirty.path,
            "--script",
            script,
            "--enable",
            "script",
            "--json",
            "-x",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # -x shows the script's command as it starts
        if line.startswith("+ ") and script in line:
            break
    proc.send_signal(2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert parse(out, "error")["error"]["kind"] == "interrupted"


# -- sysprep state: exit status ------------------------------------------------------------


ROOT = TargetKind.ROOT


def status_of(root: str) -> tuple[int, dict]:
    r = cli("state", "--root", root, "--json")
    return r.returncode, parse(r.stdout, "state")


def test_state_never_prepared_is_0(dirty):
    code, doc = status_of(dirty.path)
    assert (code, doc["status"], doc["image_state"]) == (0, "none", None)


def test_state_resealed_offline_image_is_final_with_passes_for_the_next_boot(dirty, run):
    assert run("--generalize", "--root", dirty.path).code == 0
    code, doc = status_of(dirty.path)
    assert (code, doc["status"]) == (0, "final") and doc["pending"] == ["specialize", "oobeSystem"]


def test_state_failed_pass_is_1(dirty):
    write_state(
        dirty.path,
        State(
            ImageState.UNDEPLOYABLE,
            pending=("specialize",),
            running="specialize",
            last_error="specialize: x-enroll failed",
        ),
    )
    code, doc = status_of(dirty.path)
    assert (code, doc["status"]) == (1, "failed") and "x-enroll failed" in doc["why"]


def test_state_run_at_work_is_3_and_the_same_state_left_by_a_crash_is_1(dirty):
    write_state(dirty.path, State(ImageState.UNDEPLOYABLE, running="generalize", cycle="c1"))
    with lock_for(TargetSpec(ROOT, root=dirty.path), dirty.path):  # held as a run holds it
        code, doc = status_of(dirty.path)
        assert (code, doc["status"]) == (3, "running")
    code, doc = status_of(dirty.path)
    assert (code, doc["status"]) == (1, "interrupted") and "run it again" in doc["why"]


def test_state_pass_waiting_for_the_reboot_a_command_asked_for_is_3(dirty):
    record = progress.Progress(
        "specialize",
        [progress.Item(1, "enroll", "/bin/enroll", "Always", progress.SUCCEEDED, 0)],
        reboot_pending=True,
        reboot_order=1,
    )
    write_state(
        dirty.path,
        State(ImageState.UNDEPLOYABLE, pending=("specialize", "oobeSystem"), running="specialize"),
        record,
    )
    code, doc = status_of(dirty.path)
    assert (code, doc["status"]) == (3, "pending") and doc["progress"]["reboot_pending"]


def _classify_live(
    root: str, *, state_age: float, boot_log_age: float | None, st: State | None = None
) -> int:
    """The live rule, on a temporary root standing in for `/` (never the host itself)."""
    from sysprep.commands import state as command
    from sysprep.firstboot.units import MARKER

    write_state(root, st or State(ImageState.SPECIALIZE_RESEAL_TO_OOBE, pending=("oobeSystem",)))
    write_file(root, MARKER, "pending\n")
    booted = command._boot_time()
    os.utime(os.path.join(root, state.STATE_FILE), (booted + state_age,) * 2)
    log = os.path.join(root, "var/log/sysprep/setupact.log")
    if boot_log_age is None:
        if os.path.exists(log):
            os.remove(log)
    else:
        write_file(root, "var/log/sysprep/setupact.log", "specialize pass finished\n")
        os.utime(log, (booted + boot_log_age,) * 2)
    with open_target_readonly(TargetSpec(ROOT, root=root)) as t:
        live = type(t)(TargetSpec(TargetKind.LIVE), t.fs, t.os_release)
        st, record = state.read(t.fs), progress.read(t.fs)
        return int(command.classify(live, st, record, held=False).exit_code)


def test_state_live_passes_due_in_this_boot_are_3_and_those_resealed_for_the_next_are_0(dirty):
    assert _classify_live(dirty.path, state_age=-60, boot_log_age=None) == 3  # before this boot
    assert _classify_live(dirty.path, state_age=30, boot_log_age=31) == 3  # specialize just ran
    assert _classify_live(dirty.path, state_age=30, boot_log_age=None) == 0  # resealed this boot


def test_state_between_the_two_boot_units_is_pending_not_interrupted(dirty):
    """The early unit handed the specialize commands to the later one (after the network):
    UNDEPLOYABLE, running specialize, no lock held, no LastError, in this boot."""
    between = State(
        ImageState.UNDEPLOYABLE, pending=("specialize", "oobeSystem"), running="specialize"
    )
    assert _classify_live(dirty.path, state_age=30, boot_log_age=31, st=between) == 3
    # the same state left by a run before this boot (nothing will go on with it): interrupted
    assert (
        _classify_live(dirty.path, state_age=-60, boot_log_age=None, st=between.but(pending=()))
        == 1
    )


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_state_wait_returns_1_within_seconds_of_a_failed_specialize(dirty, run):
    root = dirty.path
    provider(root, "specialize", "enroll", FAILING_SPECIALIZE)
    assert run("--generalize", "--root", root).code == 0
    boot = subprocess.Popen(
        [PY, "-m", "sysprep", "boot", "--stage", "specialize", "--root", root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while "Running = specialize" not in open(os.path.join(root, state.STATE_FILE)).read():
        assert time.monotonic() < deadline and boot.poll() is None
        time.sleep(0.1)
    waiter = subprocess.Popen(
        [PY, "-m", "sysprep", "state", "--wait", "--json", "--root", root],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    assert waiter.poll() is None  # the pass is under way: it waits
    assert boot.wait(timeout=120) == 1
    failed_at = time.monotonic()
    out, _ = waiter.communicate(timeout=60)
    took = time.monotonic() - failed_at
    assert waiter.returncode == 1 and took < 5, took
    doc = parse(out, "state")
    assert doc["status"] == "failed" and "x-enroll" in doc["last_error"]


def test_state_wait_gives_up_after_its_timeout_with_3(dirty):
    write_state(dirty.path, State(ImageState.UNDEPLOYABLE, running="generalize"))
    with lock_for(TargetSpec(ROOT, root=dirty.path), dirty.path):
        start = time.monotonic()
        r = cli("state", "--wait", "--timeout", "1", "--root", dirty.path)
        assert r.returncode == 3 and time.monotonic() - start < 30
        assert "under way" in r.stdout


def test_state_wait_returns_at_once_on_a_final_state(dirty, run):
    assert run("--generalize", "--root", dirty.path).code == 0
    r = run("state", "--wait", "--root", dirty.path)
    assert r.code == 0 and r.out.startswith(ImageState.GENERALIZE_RESEAL_TO_OOBE.value)


def test_state_timeout_without_wait_is_a_usage_error(dirty, run):
    assert run("state", "--timeout", "3", "--root", dirty.path).code == 2


def test_state_follow_returns_after_a_failed_pass(dirty):
    write_state(
        dirty.path,
        State(
            ImageState.UNDEPLOYABLE,
            pending=("specialize",),
            running="specialize",
            last_error="specialize: x-enroll failed",
        ),
    )
    r = cli("state", "--follow", "--root", dirty.path, timeout=30)  # before: never returned
    assert r.returncode == 1


# -- options a pipeline drives -----------------------------------------------------------


def test_repeated_operations_add_up(dirty, run):
    r = run(
        "--generalize",
        "--root",
        dirty.path,
        "--dry-run",
        "--json",
        "--operations",
        "bash-history",
        "--operations",
        "tmp-files,machine-id",
    )
    assert r.code == 0
    ran = [p["name"] for p in parse(r.out, "report")["providers"]]
    assert ran == ["bash-history", "tmp-files", "machine-id", "boot-passes"]


def test_verbose_shows_each_operation_and_action(dirty, run):
    quiet = run("--generalize", "--root", dirty.path, "--dry-run", "--operations", "bash-history")
    assert "[bash-history]" not in quiet.err
    r = run("--generalize", "--root", dirty.path, "--dry-run", "--operations", "bash-history", "-v")
    assert "sysprep: [bash-history] Remove the bash history in the guest" in r.err
    assert "[bash-history] Removed /root/.bash_history" in r.err
    assert "  ok  " not in r.out and "plan  bash-history" in r.out  # and the per-operation table


def test_trace_shows_each_command_run(dirty, run, tmp_path):
    script = tmp_path / "hello.sh"
    script.write_text("echo hello\n")
    args = ("--generalize", "--root", dirty.path, "--operations", "script", "--script", str(script))
    r = run(*args, "-x")
    assert r.code == 0 and f"+ /bin/sh {script}\n" in r.err
    assert "+ " not in run(*args).err


def test_quiet_prints_nothing_on_success(dirty, run):
    r = run("--generalize", "--root", dirty.path, "-q")
    assert r.code == 0 and r.out == "" and r.err == ""


def test_json_without_an_action_on_a_terminal_opens_no_dialog_and_prints_the_error(dirty):
    """On a terminal, no action opens the Sysprep dialog; with --json a machine is asking:
    a usage error and its one JSON document, never the dialog's text on stdout."""
    import pty

    master, slave = pty.openpty()
    try:
        p = subprocess.run(
            [PY, "-m", "sysprep", "--json", "--root", dirty.path],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert p.returncode == 2, p.stderr
    doc = parse(out.decode().replace("\r\n", "\n"), "error")
    assert "no dialog" in doc["error"]["message"]


def test_state_of_an_image_a_run_holds_is_running_and_wait_waits_for_it(tmp_path):
    """A disk image is attached by one sysprep at a time: while a run holds it, `state` says
    running (3), and `state --wait` waits for the run instead of failing."""
    from sysprep.target.lock import TargetLock

    image = tmp_path / "disk.raw"
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    st = os.stat(image)
    with TargetLock(f"image-{st.st_dev}-{st.st_ino}", str(image)):
        r = cli("state", "--image", str(image), "--json")
        assert r.returncode == 3, r.stderr
        assert parse(r.stdout, "state")["status"] == "running"
        start = time.monotonic()
        r = cli("state", "--wait", "--timeout", "1", "--image", str(image))
        assert r.returncode == 3 and time.monotonic() - start >= 1


def test_trace_hides_the_answer_files_passwords_and_escapes_the_command_lines(dirty, run, tmp_path):
    """-x output ends up in CI logs: a command line that holds a password of the answer file
    shows it redacted, as the logs do."""
    answer = tmp_path / "unattend.yaml"
    answer.write_text(
        "generalize:\n  Linux-Deployment:\n    RunSynchronous:\n      - Order: 1\n"
        "        Path: echo pw-Secret-42 > /dev/null\n        WillReboot: Never\n"
        "oobeSystem:\n  Linux-Shell-Setup:\n    UserAccounts:\n      LocalAccounts:\n"
        "        - Name: operator\n          Password:\n            Value: pw-Secret-42\n"
        "            PlainText: true\n"
    )
    r = run("--generalize", "--root", dirty.path, "--unattend", str(answer), "-x")
    assert r.code == 0, r.err
    assert "+ " in r.err and "> /dev/null" in r.err
    assert "pw-Secret-42" not in r.err + r.out
