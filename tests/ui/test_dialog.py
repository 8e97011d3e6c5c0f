"""The Sysprep dialog: pilot-driven choices become exactly the command line's options, and the
choices run through the same path as typed options; the plain fallback and the no-terminal rule."""

from __future__ import annotations

import io

from sysprep.request import Power, Reseal
from sysprep.ui import dialog
from tests.ui.conftest import run, state_of, sysprep_cli


async def _drive(*keys: str, offline: bool = True, power: Power | None = None):
    app = dialog.make_app("/mnt/x", offline, ["--root", "/mnt/x"], power=power)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
    return app.return_value


def test_defaults_are_oobe_not_generalized_and_quit_offline():
    choice = run(_drive("enter"))
    assert choice == dialog.Choice(Reseal.OOBE, False, Power.QUIT)
    assert choice.argv() == ["--oobe", "--quit"]


def test_arrows_choose_audit_and_space_ticks_generalize():
    choice = run(_drive("down", "tab", "space", "enter"))
    assert choice == dialog.Choice(Reseal.AUDIT, True, Power.QUIT)
    assert choice.argv() == ["--generalize", "--audit", "--quit"]


def test_live_target_offers_reboot_and_shutdown():
    choice = run(_drive("tab", "tab", "down", "enter", offline=False))
    assert choice.power is Power.SHUTDOWN  # Reboot is the default; one step down


def test_offline_target_cannot_choose_reboot():
    choice = run(_drive("tab", "tab", "down", "down", "enter"))
    assert choice.power is Power.QUIT


def test_escape_and_cancel_button_cancel():
    assert run(_drive("escape")) is None
    assert run(_drive("tab", "tab", "tab", "tab", "enter")) is None  # focus on Cancel


def test_the_command_shown_is_what_will_run():
    async def go():
        app = dialog.make_app("/r", True, ["--root", "/r"])
        async with app.run_test(size=(80, 25)) as pilot:
            await pilot.press("tab", "space")
            await pilot.pause()
            return str(app.query_one("#command").render())

    assert "sysprep --generalize --oobe --quit --root /r" in run(go())


def test_plain_dialog_asks_line_by_line():
    out = io.StringIO()
    choice = dialog.ask_plain("/r", True, ["--root", "/r"], out, io.StringIO("2\ny\n\ny\n"))
    assert choice == dialog.Choice(Reseal.AUDIT, True, Power.QUIT)
    assert (
        "System Cleanup Action" in out.getvalue()
        and "Run: sysprep --generalize --audit" in out.getvalue()
    )


def test_plain_dialog_eof_or_no_cancels():
    assert dialog.ask_plain("/r", True, [], io.StringIO(), io.StringIO("1\nn\n1\nn\n")) is None
    assert dialog.ask_plain("/r", True, [], io.StringIO(), io.StringIO("")) is None


def test_plain_dialog_rejects_a_bad_number():
    out = io.StringIO()
    choice = dialog.ask_plain("/", False, [], out, io.StringIO("7\n1\n\n3\ny\n"))
    assert choice == dialog.Choice(Reseal.OOBE, False, Power.SHUTDOWN)
    assert "please type one of the numbers shown" in out.getvalue()


def test_no_action_without_a_terminal_prints_usage_and_exits_2(dirty):
    r = sysprep_cli("--root", dirty.path)
    assert r.returncode == 2
    assert r.stderr.startswith("usage: sysprep") and "nothing to do" in r.stderr


def test_dialog_choice_runs_the_same_path_as_the_command_line(dirty, monkeypatch):
    """OK in the dialog == `sysprep --generalize --oobe --quit --root DIR`."""
    from sysprep import cli
    from sysprep.commands import sysprep_run

    seen = {}
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)

    def fake_ask(target, offline, base, power=None):
        seen["args"] = (target, offline, base)
        return dialog.Choice(Reseal.OOBE, True, Power.QUIT)

    monkeypatch.setattr(dialog, "ask", fake_ask)
    assert sysprep_run.main(["--root", dirty.path, "--quiet"]) == 0
    assert seen["args"] == (dirty.path, True, ["--root", dirty.path, "--quiet"])
    assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in state_of(dirty.path)
    assert open(f"{dirty.path}/etc/machine-id").read() == "uninitialized\n"


def test_dialog_cancel_changes_nothing(dirty, monkeypatch, capsys):
    from sysprep import cli
    from sysprep.commands import sysprep_run
    from tests.conftest import snapshot

    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(dialog, "ask", lambda *a, **k: None)
    before = snapshot(dirty.path)
    assert sysprep_run.main(["--root", dirty.path]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert snapshot(dirty.path) == before
