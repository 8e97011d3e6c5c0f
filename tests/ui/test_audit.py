"""The AuditUI and `sysprep state --follow`: what they show of the progress record (labels in
Order, check / cross / spinner, elapsed time, the selected command's log), hiding what ran
before a reboot, scrolling a long list; live while a pass runs; plain and JSON lines; and the
boot engine showing it on a console (a pseudo-terminal here)."""

from __future__ import annotations

import io
import os
import select
import threading
import time

import pytest

from sysprep.answer.types import SyncCommand, WillReboot
from sysprep.log import RunLog
from sysprep.passes import progress as prog
from sysprep.passes import runsync, state
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target, open_target_readonly
from sysprep.testing.dirty_root import build
from sysprep.ui import audit
from sysprep.ui.boot import ConsoleUI
from tests.contract import parse
from tests.ui.conftest import run, sysprep_cli


@pytest.fixture
def root(tmp_path):
    return build(str(tmp_path / "root")).path


def spec(root):
    return TargetSpec(TargetKind.ROOT, root=root)


def write_record(root, items, *, boot="boot-2", running="auditUser", finished=False):
    rec = prog.Progress("auditUser", items, boot_id=boot, finished=finished)
    with open_target(spec(root), dry_run=False) as t:
        t.fs.mkdir("var/lib/sysprep", 0o755)
        prog.write(t.fs, rec)
        state.write(
            t.fs,
            state.State(state.ImageState.UNDEPLOYABLE, pending=("auditUser",), running=running),
        )
        t.fs.mkdir("var/log/sysprep/commands", 0o700)
        for i in items:
            t.fs.write(i.log.lstrip("/"), f"output of {i.order}\nline two of {i.order}\n".encode())
    return rec


def item(order, status, label="", *, boot="boot-2", code=None):
    it = prog.Item(
        order,
        label or f"command {order}",
        f"/usr/local/bin/c{order}",
        "Never",
        status,
        code,
        started="2026-11-25T10:00:00+0000",
        finished="" if status in (prog.PENDING, prog.RUNNING) else "2026-11-25T10:01:05+0000",
        log=f"/var/log/sysprep/commands/auditUser-{order}.log",
        boot=boot,
    )
    if status == prog.PENDING:
        it.started = ""
    return it


async def _screen(root, *keys, size=(80, 25), screenshot=None):
    with open_target(spec(root), dry_run=False) as t:
        app = audit.make_app(t.fs)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.6)
            await pilot.press(*keys)
            await pilot.pause(0.6)
            ol = app.query_one("#items")
            lines = [str(ol.get_option_at_index(n).prompt) for n in range(ol.option_count)]
            logtext = "\n".join(str(line.text) for line in app.query_one("#log").lines)
            status = str(app.query_one("#status").render())
            scrolled = ol.scroll_offset.y
            if screenshot:
                app.save_screenshot(screenshot)
        return lines, logtext, status, scrolled


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_lists_commands_in_order_with_marks_time_and_hides_earlier_boots(root):
    write_record(
        root,
        [
            item(1, prog.SUCCEEDED, "Done before the reboot", boot="boot-1"),
            item(2, prog.SUCCEEDED, "Install agent", code=0),
            item(3, prog.FAILED, "/opt/x/enroll --site eu", code=4),
            item(4, prog.RUNNING, "Long job"),
            item(5, prog.PENDING, "Later"),
        ],
    )
    lines, logtext, status, _ = run(_screen(root))
    assert len(lines) == 4 and "Done before the reboot" not in "".join(lines)
    assert lines[0].startswith("✔") and "Install agent" in lines[0] and "1:05" in lines[0]
    assert lines[1].startswith("✘") and "exit 4" in lines[1]
    assert "Long job" in lines[2] and lines[2][0] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    assert "Later" in lines[3]
    assert "1 of 4 done" not in status and "2 of 4 done" in status and "running Order 4" in status
    assert "output of 4" in logtext  # the running command's log is shown by default


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_selecting_a_command_shows_its_log(root):
    write_record(
        root, [item(1, prog.SUCCEEDED), item(2, prog.FAILED, code=1), item(3, prog.RUNNING)]
    )
    _, logtext, _, _ = run(_screen(root, "up", "up"))
    assert "output of 1" in logtext and "line two of 1" in logtext


def test_the_log_pane_shows_the_end_of_a_long_log(root):
    """Only the last LOG_TAIL_BYTES are read: the newest lines show, the oldest do not."""
    it = item(1, prog.RUNNING)
    write_record(root, [it])
    lines = [f"progress line {n:06d}" for n in range(20000)]  # ~400 KB, far over the tail
    with open(os.path.join(root, it.log.lstrip("/")), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open_target(spec(root), dry_run=False) as t:
        shown = audit.log_tail(t.fs, it).splitlines()
    assert shown[-1] == lines[-1] and len(shown) == 200 and shown == lines[-200:]
    with open_target(spec(root), dry_run=False) as t:
        whole = audit.log_tail(t.fs, it, lines=10**6).splitlines()
    assert (
        lines[0] not in whole and len(whole) < 1000
    )  # a partial first line at most, then whole ones
    assert whole[1:] == lines[-len(whole) + 1 :]


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_a_long_list_scrolls_instead_of_being_clipped(root):
    items = [item(n, prog.SUCCEEDED, code=0) for n in range(1, 60)] + [
        item(60, prog.RUNNING, "The last one")
    ]
    write_record(root, items)
    lines, _, _, scrolled = run(_screen(root))
    assert len(lines) == 60 and "The last one" in lines[-1]
    assert scrolled > 0  # the running item at the bottom was scrolled into view


def test_console_glyphs_are_ascii(root):
    write_record(root, [item(1, prog.SUCCEEDED), item(2, prog.FAILED, code=3)])

    async def go():
        with open_target(spec(root), dry_run=False) as t:
            app = audit.make_app(t.fs, console=True)
            async with app.run_test(size=(80, 25)) as pilot:
                await pilot.pause(0.5)
                ol = app.query_one("#items")
                return [str(ol.get_option_at_index(n).prompt) for n in range(ol.option_count)]

    lines = run(go())
    assert lines[0].startswith("OK") and lines[1].startswith("XX")
    assert all(ch.isascii() for line in lines for ch in line)


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_live_progress_while_a_pass_runs(root):
    os.makedirs(os.path.join(root, "runs"))
    commands = [
        SyncCommand(1, "sleep 0.6; echo first", "First step", WillReboot.NEVER),
        SyncCommand(2, "sleep 0.6; exit 3", "Second step", WillReboot.NEVER),
    ]

    def engine():
        with open_target(spec(root), dry_run=False) as t:
            runner = runsync.target_runner(t, RunLog(quiet=True), "auditUser")
            runsync.run_pass(
                t.fs,
                RunLog(quiet=True),
                "auditUser",
                commands,
                runner,
                log_dir="var/log/sysprep/commands",
                this_boot="b",
            )

    async def go():
        with open_target_readonly(spec(root)) as t:
            app = audit.make_app(t.fs)
            seen = []
            async with app.run_test(size=(80, 25)) as pilot:
                th = threading.Thread(target=engine)
                th.start()
                for _ in range(40):
                    await pilot.pause(0.1)
                    ol = app.query_one("#items")
                    seen.append(
                        tuple(
                            str(ol.get_option_at_index(n).prompt)[0] for n in range(ol.option_count)
                        )
                    )
                th.join()
                await pilot.pause(0.5)
                ol = app.query_one("#items")
                final = [str(ol.get_option_at_index(n).prompt) for n in range(ol.option_count)]
        return seen, final

    seen, final = run(go())
    assert any(s and s[0] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏" for s in seen), seen  # the spinner was seen
    assert final[0].startswith("✔") and "First step" in final[0]
    assert final[1].startswith("✘") and "exit 3" in final[1]


def test_follow_plain_prints_one_line_per_change_and_ends_when_idle(root):
    write_record(
        root,
        [item(1, prog.SUCCEEDED, "Install agent", code=0), item(2, prog.FAILED, code=4)],
        running="",
        finished=True,
    )
    out = io.StringIO()
    with open_target(spec(root), dry_run=False) as t:
        audit.follow_plain(lambda: audit.snapshot(t.fs), out, interval=0.05, timeout=5)
    text = out.getvalue()
    assert "[ok]   1 Install agent (1:05, exit 0)" in text and "[failed]   2 command 2" in text
    assert "finished" in text


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_state_follow_from_another_terminal_plain_and_json(root):
    write_record(root, [item(1, prog.SUCCEEDED, code=0)], running="", finished=True)
    r = sysprep_cli("state", "--follow", "--root", root)
    # it ends with the status of the state: UNDEPLOYABLE and nothing at work is 1
    assert (
        r.returncode == 1 and "[ok]" in r.stdout and "auditUser: 1 of 1 done; finished" in r.stdout
    )
    r = sysprep_cli("state", "--follow", "--json", "--root", root)
    first = parse(r.stdout.splitlines()[0], "state-follow")
    assert first["progress"]["items"][0]["status"] == "succeeded" and first["running"] == ""


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_engine_shows_the_auditui_on_the_console(root, monkeypatch):
    """The boot engine forks the AuditUI onto the console (a pseudo-terminal standing in for
    tty1), runs the commands, then stops it."""
    from sysprep.passes import boot

    master, slave = os.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 80, 0, 0))
    monkeypatch.setenv("SYSPREP_CONSOLE", os.ttyname(slave))
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr(boot, "AUDIT_UI_LINGER", 1.0)
    answer = os.path.join(os.path.dirname(root), "audit.yaml")
    with open(answer, "w") as f:
        f.write(
            "auditUser:\n  Linux-Deployment:\n    RunSynchronous:\n      - Order: 1\n"
            "        Path: sleep 1.5\n        Description: Visible on the console\n"
        )
    assert (
        sysprep_cli(
            "--generalize", "--audit", "--root", root, "--quiet", "--unattend", answer
        ).returncode
        == 0
    )
    assert (
        boot.run_stage(spec(root), "specialize", RunLog(quiet=True), ui=ConsoleUI())
        is boot.Result.DONE
    )
    screen = bytearray()
    done = threading.Event()

    def reader():
        while not done.is_set():
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    screen.extend(os.read(master, 65536))
                except OSError:
                    return

    th = threading.Thread(target=reader)
    th.start()
    try:
        result = boot.run_stage(spec(root), "passes", RunLog(quiet=True), ui=ConsoleUI())
    finally:
        time.sleep(0.3)
        done.set()
        th.join()
        os.close(slave)
        os.close(master)
    assert result is boot.Result.DONE
    assert b"Visible on the console" in bytes(screen)
    assert (
        "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in open(f"{root}/var/lib/sysprep/state.ini").read()
    )
