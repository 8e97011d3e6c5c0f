"""The dialog and the welcome in a real terminal (tmux, 80x25): typed into, read off the
screen, and their effect checked in the fixture root."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.conftest import sysprep
from tests.ui import tmux
from tests.ui.conftest import shadow_hash, state_of, verifies

pytestmark = [
    pytest.mark.skipif(not tmux.available(), reason="needs tmux"),
    pytest.mark.slow,
]  # real terminals, real keys, a sysprep process each
PY = sys.executable
PASSWORD = "Corr3ct-horse!"


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_dialog_in_a_terminal_runs_the_chosen_generalize(dirty, term):
    with tmux.Tmux([PY, "-m", "sysprep", "--root", dirty.path, "--quiet"], term=term) as t:
        screen = t.wait_for("System Cleanup Action")
        assert (
            "Enter System Out-of-Box Experience (OOBE)" in screen and "Shutdown Options" in screen
        )
        assert "live system only" in screen  # an offline root only quits
        t.keys("Down")  # audit
        t.keys("Tab")
        t.keys("Space")  # generalize
        screen = t.wait_for("Runs: sysprep --generalize --audit --quit")
        if term == "linux":
            assert all(ord(ch) < 0x2500 or 0x2500 <= ord(ch) <= 0x257F for ch in screen), screen
        t.keys("Enter")
        t.wait_for("EXIT=0", timeout=60)
    assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT" in state_of(dirty.path)


def test_dialog_plain_fallback_in_a_terminal(dirty):
    with tmux.Tmux(
        [PY, "-m", "sysprep", "--root", dirty.path, "--quiet"], env={"SYSPREP_UI": "plain"}
    ) as t:
        t.wait_for("Choose 1-2 [1]:")
        t.type("1\n")
        t.wait_for("Generalize [y/N]:")
        t.type("n\n")
        t.wait_for("Choose 1-1 [1]:")
        t.type("\n")
        t.wait_for("Run: sysprep --oobe --quit")
        t.type("y\n")
        t.wait_for("EXIT=0", timeout=60)
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE" in state_of(dirty.path)


def specialized(root: str) -> None:
    assert sysprep("--generalize", "--oobe", "--root", root, "--quiet").code == 0
    assert sysprep("boot", "--stage", "specialize", "--root", root).code == 0


def test_welcome_in_a_terminal(wroot):
    specialized(wroot.path)
    with tmux.Tmux([PY, "-m", "tests.ui.welcome_here", wroot.path]) as t:
        screen = t.wait_for("Choose the language and region")
        assert "Ctrl+Shift+F3 or F12: audit mode" in screen
        t.type("fr_FR")
        t.keys("Enter")
        t.wait_for("Choose the keyboard layout")
        t.type("fr")
        t.keys("Enter")
        t.wait_for("Choose the time zone")
        t.type("Paris")
        t.keys("Enter")
        t.wait_for("I accept the license terms")
        t.keys("Tab")
        t.keys("Space")
        t.keys("Enter")
        t.wait_for("Type a name for this computer")
        t.keys("C-u")
        t.type("clone-7")
        t.keys("Enter")
        t.wait_for("Create a user account")
        t.type("anna")
        t.keys("Tab")
        t.keys("Tab")
        t.type("x")
        t.keys("Tab")
        t.type("y")
        t.keys("Enter")
        t.wait_for("too easy to guess")
        t.keys("C-u")
        t.type(PASSWORD)
        t.keys("Tab")
        t.keys("C-u")
        t.type(PASSWORD)
        screen = t.wait_for("strong")
        assert PASSWORD not in screen
        t.keys("Enter")
        screen = t.wait_for("Ready to finish")
        assert "Account: anna (administrator)" in screen and "Time zone: Europe/Paris" in screen
        t.keys("Enter")
        t.wait_for("EXIT=0", timeout=60)
    root = wroot.path
    assert "IMAGE_STATE_COMPLETE" in state_of(root)
    assert open(f"{root}/etc/hostname").read() == "clone-7\n"
    assert os.readlink(f"{root}/etc/localtime") == "/usr/share/zoneinfo/Europe/Paris"
    assert verifies(PASSWORD, shadow_hash(root, "anna"))


@pytest.mark.parametrize("keys", [("C-S-F3",), ("F12", "Tab", "Enter")])
def test_welcome_audit_keys_in_a_terminal(wroot, keys):
    specialized(wroot.path)
    with tmux.Tmux([PY, "-m", "tests.ui.welcome_here", wroot.path]) as t:
        t.wait_for("Choose the language and region")
        for k in keys:
            t.keys(k)
        t.wait_for("EXIT=0", timeout=60)
    st = state_of(wroot.path)
    assert "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT" in st and "auditSystem,auditUser" in st


def test_welcome_plain_fallback_in_a_terminal(wroot):
    specialized(wroot.path)
    with tmux.Tmux(
        [PY, "-m", "tests.ui.welcome_here", wroot.path], env={"SYSPREP_UI": "plain"}
    ) as t:
        t.wait_for("Language and region (locale)")
        for answer in ("de_DE", "de", "Berlin", "yes", "plain-pc"):
            t.type(answer + "\n")
            time.sleep(0.2)
        t.wait_for("User name:")
        t.type("anna\n\n")
        t.wait_for("Password:")
        t.type(PASSWORD + "\n")
        t.wait_for("Password again:")
        t.type(PASSWORD + "\n")
        t.wait_for("Administrator")
        t.type("y\n")
        screen = t.wait_for("EXIT=0", timeout=60)
        assert PASSWORD not in screen  # not echoed
    assert open(f"{wroot.path}/etc/hostname").read() == "plain-pc\n"
    assert verifies(PASSWORD, shadow_hash(wroot.path, "anna"))
