"""The first-boot welcome: every page driven by key presses, checked in the resulting files;
pages the answer file answers are skipped; audit mode from the first page; the engine's
hand-off (state COMPLETE, never shown again), the plain fallback, no console, the timeout."""

from __future__ import annotations

import io
import os

import pytest

from sysprep.answer.types import LocalAccount, Oobe
from sysprep.log import RunLog
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target
from sysprep.ui import welcome
from tests.ui.conftest import (
    crypt_hash,
    groups_of,
    passwd_entry,
    run,
    shadow_hash,
    verifies,
    welcome_root,
)

PASSWORD = "Corr3ct-horse!"


class Answer:
    """A stand-in for the answer-file model: the typed getters the welcome consults."""

    def __init__(self, **values):
        self.values = values

    def _get(self, name, pass_name):
        return self.values.get(name)

    def system_locale(self, p):
        return self._get("locale", p)

    def ui_language(self, p):
        return None

    def keymap(self, p):
        return self._get("keymap", p)

    def time_zone(self, p):
        return self._get("time_zone", p)

    def computer_name(self, p="specialize"):
        return self._get("computer_name", p)

    def local_accounts(self, p, hasher=None):
        return self._get("accounts", p) or ()

    def oobe(self, p="oobeSystem"):
        return self._get("oobe", p)


def spec(root):
    return TargetSpec(TargetKind.ROOT, root=root.path)


async def _pilot(root, answer, keys_by_page, *, size=(80, 25), screenshot=None):
    """Drive the welcome: keys_by_page is a list of key tuples pressed in order."""
    with open_target(spec(root), dry_run=False) as t:
        plan = welcome.make_plan(t.fs, answer)
        app = welcome.make_app(plan, crypt_hash, t.fs)
        errors = []
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for keys in keys_by_page:
                await pilot.press(*keys)
                await pilot.pause()
                errors.append(str(app.query_one("#error").render()))
            if screenshot:
                app.save_screenshot(screenshot)
        return plan, app.return_value, errors


ALL_PAGES = [
    ("ctrl+u", *"de_DE", "enter"),  # language and region
    (*"de", "enter"),  # keyboard
    (*"Berl", "enter"),  # time zone
    ("tab", "space", "enter"),  # license: tick, next
    ("ctrl+u", *"office-7", "enter"),  # host name
    (*"anna", "tab", *"Anna A", "tab", *PASSWORD, "tab", *PASSWORD, "enter"),  # account
    ("enter",),  # finish
]


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_every_page_by_keys_then_applied_to_the_files(wroot):
    plan, result, errors = run(_pilot(wroot, None, ALL_PAGES))
    assert plan.pages == ["locale", "keyboard", "time-zone", "license", "host-name", "account"]
    assert not any(errors), errors
    assert result.locale == "de_DE.UTF-8" and result.keymap == "de"
    assert result.time_zone == "Europe/Berlin" and result.hostname == "office-7"
    assert result.eula_accepted and result.account.name == "anna" and result.account.admin
    assert PASSWORD not in repr(result.to_json())  # only the hash leaves the page
    with open_target(spec(wroot), dry_run=False) as t:
        welcome.apply_result(t, RunLog(quiet=True), result, plan)
    root = wroot.path
    assert open(f"{root}/etc/hostname").read() == "office-7\n"
    assert os.readlink(f"{root}/etc/localtime") == "/usr/share/zoneinfo/Europe/Berlin"
    assert "LANG=de_DE.UTF-8" in open(f"{root}/etc/default/locale").read()
    assert "KEYMAP=de" in open(f"{root}/etc/vconsole.conf").read()
    assert "XKBLAYOUT=de" in open(f"{root}/etc/default/keyboard").read()
    entry = passwd_entry(root, "anna")
    assert entry is not None and entry[4] == "Anna A"
    assert verifies(PASSWORD, shadow_hash(root, "anna"))
    assert "sudo" in groups_of(root, "anna")
    assert "sha256=" in open(f"{root}/var/lib/sysprep/eula-accepted").read()


def test_license_must_be_accepted(wroot):
    _, result, errors = run(
        _pilot(
            wroot,
            Answer(locale="C.UTF-8", keymap="us", time_zone="UTC"),
            [("enter",), ("tab", "space", "enter")],
        )
    )
    assert "must accept the license terms" in errors[0]
    assert errors[1] == ""


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_unknown_time_zone_is_refused_on_the_page(wroot):
    _, _, errors = run(
        _pilot(
            wroot,
            Answer(locale="C.UTF-8", keymap="us"),
            [(*"Mars/Olympus", "enter"), ("ctrl+u", *"Tokyo", "enter")],
        )
    )
    assert "nothing matches" in errors[0]
    assert errors[1] == ""


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_user_names_useradd_rejects_are_refused(wroot):
    answer = Answer(
        locale="C.UTF-8",
        keymap="us",
        time_zone="UTC",
        computer_name="pc",
        oobe=Oobe(hide_eula_page=True),
    )
    pages = [
        (*"Anna", "tab", "tab", *PASSWORD, "tab", *PASSWORD, "enter"),
        ("ctrl+u", *"alice", "tab", "tab", "tab", "enter"),  # the error put focus on the name
        ("ctrl+u", *"ok-user", "tab", "tab", "tab", "enter"),
    ]
    _, result, errors = run(_pilot(wroot, answer, pages))
    assert "lower-case letters" in errors[0]
    assert "already exists" in errors[1]
    assert errors[2] == ""


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_passwords_must_match_and_not_be_trivial(wroot):
    answer = Answer(
        locale="C.UTF-8",
        keymap="us",
        time_zone="UTC",
        computer_name="pc",
        oobe=Oobe(hide_eula_page=True),
    )
    pages = [
        (*"bob2", "tab", "tab", *"password", "tab", *"password", "enter"),
        ("ctrl+u", *PASSWORD, "tab", *"different", "enter"),
        ("ctrl+u", *PASSWORD, "enter"),
        ("enter",),
    ]
    _, result, errors = run(_pilot(wroot, answer, pages))
    assert "too easy to guess" in errors[0]
    assert "differ" in errors[1]
    assert errors[2] == ""
    assert result.account.name == "bob2" and verifies(PASSWORD, result.account.password_hash)


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_strength_feedback_while_typing(wroot):
    async def go():
        with open_target(spec(wroot), dry_run=False) as t:
            answer = Answer(
                locale="C.UTF-8",
                keymap="us",
                time_zone="UTC",
                computer_name="pc",
                oobe=Oobe(hide_eula_page=True),
            )
            app = welcome.make_app(welcome.make_plan(t.fs, answer), crypt_hash, t.fs)
            async with app.run_test(size=(80, 25)) as pilot:
                await pilot.press("tab", "tab", *"abc")
                weak = str(app.query_one("#strength").render())
                await pilot.press(*"DEF-123-ghi!")
                strong = str(app.query_one("#strength").render())
        return weak, strong

    weak, strong = run(go())
    assert "very weak" in weak and "strong" in strong


@pytest.mark.slow  # a textual app driven key by key, or a wait of seconds
def test_host_name_is_validated(wroot):
    answer = Answer(
        locale="C.UTF-8",
        keymap="us",
        time_zone="UTC",
        oobe=Oobe(hide_eula_page=True),
        accounts=(LocalAccount("op"),),
    )
    _, result, errors = run(
        _pilot(
            wroot,
            answer,
            [("ctrl+u", *"-bad_name-", "enter"), ("ctrl+u", *"good-name", "enter"), ("enter",)],
        )
    )
    assert "host name is letters" in errors[0]
    assert result.hostname == "good-name"


def test_answered_pages_are_skipped(wroot):
    answer = Answer(
        locale="de_DE.UTF-8",
        keymap="de",
        time_zone="UTC",
        computer_name="*",
        accounts=(LocalAccount("op"),),
    )
    with open_target(spec(wroot), dry_run=False) as t:
        assert welcome.make_plan(t.fs, answer).pages == ["license"]
        answer.values["oobe"] = Oobe(hide_eula_page=True)
        assert welcome.make_plan(t.fs, answer).pages == []


def test_license_page_only_when_the_oem_supplied_terms(tmp_path):
    root = welcome_root(str(tmp_path / "r"), eula=False)
    with open_target(spec(root), dry_run=False) as t:
        assert "license" not in welcome.make_plan(t.fs, None).pages
        assert (
            "license"
            not in welcome.make_plan(t.fs, Answer(oobe=Oobe(eula_file="/opt/none.txt"))).pages
        )


@pytest.mark.parametrize("keys", [("ctrl+f15",), ("ctrl+shift+f3",)])
def test_ctrl_shift_f3_on_the_first_page_asks_for_audit_mode(wroot, keys):
    _, result, _ = run(_pilot(wroot, None, [keys]))
    assert result.audit


def test_ctrl_shift_f3_as_the_terminal_sends_it(wroot):
    """xterm, tmux and our console keymap send ESC [1;6R, which textual parses as a cursor
    position report (1, 6): the welcome takes it for the chord."""
    from textual import events

    async def go():
        with open_target(spec(wroot), dry_run=False) as t:
            app = welcome.make_app(welcome.make_plan(t.fs, None), crypt_hash, t.fs)
            async with app.run_test(size=(80, 25)) as pilot:
                app.post_message(events.CursorPosition(5, 0))
                await pilot.pause(0.3)
            return app.return_value

    assert run(go()).audit


def test_f12_asks_before_audit_mode(wroot):
    _, result, _ = run(
        _pilot(wroot, None, [("f12",), ("tab", "enter")])
    )  # Cancel focused; tab: Audit
    assert result.audit
    _, result, _ = run(_pilot(wroot, None, [("f12",), ("enter",), ("ctrl+u", "escape")]))
    assert result is None  # cancelled: the welcome is still there (ended by the test)


def test_audit_keys_only_on_the_first_page(wroot):
    _, result, _ = run(_pilot(wroot, None, [("enter",), ("ctrl+f15",), ("f12",)]))
    assert result is None  # still on the second page: nothing happened


def test_idle_timeout_gives_up_untouched(wroot):
    async def go():
        with open_target(spec(wroot), dry_run=False) as t:
            app = welcome.make_app(
                welcome.make_plan(t.fs, None), crypt_hash, t.fs, idle_timeout=0.3
            )
            async with app.run_test(size=(80, 25)) as pilot:
                await pilot.pause(0.8)
            return app.return_value

    assert run(go()).timed_out


def test_plain_welcome_asks_line_by_line(wroot):
    lines = (
        "de_DE\nde\nBerlin?\nEurope/Berlin\nno\nyes\noffice-9\nanna\nAnna\n"
        f"{PASSWORD}\n{PASSWORD}\nn\n"
    )
    out = io.StringIO()
    with open_target(spec(wroot), dry_run=False) as t:
        plan = welcome.make_plan(t.fs, None)
        result = welcome.ask_plain(plan, crypt_hash, t.fs, out, io.StringIO(lines))
    assert result.locale == "de_DE.UTF-8" and result.time_zone == "Europe/Berlin"
    assert result.hostname == "office-9" and result.eula_accepted
    assert result.account.name == "anna" and not result.account.admin
    assert "Europe/Berlin" in out.getvalue()  # the ? listed the matches
    assert "must accept" in out.getvalue()
    assert PASSWORD not in out.getvalue()


def test_plain_welcome_audit_on_the_first_question(wroot):
    with open_target(spec(wroot), dry_run=False) as t:
        plan = welcome.make_plan(t.fs, None)
        for line in ("!audit\n", "\x1b[24~\n", "\x1b[1;6R\n"):
            assert welcome.ask_plain(plan, crypt_hash, t.fs, io.StringIO(), io.StringIO(line)).audit
