"""The shell completions, run by the real shells: what a user gets after pressing Tab."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from sysprep import cli

needs_fish = pytest.mark.skipif(
    shutil.which("fish") is None, reason="fish is not installed (scripts/setup installs it)"
)


def _fish(script: str, line: str) -> list[str]:
    """What fish offers for the command line `line`, with the completion script loaded."""
    p = subprocess.run(
        ["fish", "--no-config", "-c", f"source {script}; complete -C {line!r}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert p.stderr == ""  # fish reports a bad `complete` line on stderr and goes on
    return [w.split("\t")[0] for w in p.stdout.splitlines()]


def _bash(script: str, line: str) -> list[str]:
    """What bash's programmable completion offers for `line` (the cursor at its end)."""
    words = line.split(" ")
    prog = (
        f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; _sysprep; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    p = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True, check=True)
    return p.stdout.split()


@needs_fish
def test_fish_completes_every_option_and_command_from_the_option_table(run, tmp_path):
    script = tmp_path / "sysprep.fish"
    script.write_text(run("completion", "fish").out)
    assert _fish(str(script), "sysprep --gen") == ["--generalize"]
    assert _fish(str(script), "sysprep /gen") == ["/generalize"]
    assert _fish(str(script), "sysprep --mode ") == ["vm"]
    assert "state" in _fish(str(script), "sysprep st")
    assert "--json" in _fish(str(script), "sysprep state --")
    longs = _fish(str(script), "sysprep --")
    assert {f"--{o.name}" for o in cli.OPTIONS} <= set(longs)


@needs_fish
def test_fish_does_not_offer_the_internal_boot_command(run, tmp_path):
    script = tmp_path / "sysprep.fish"
    script.write_text(run("completion", "fish").out)
    assert _fish(str(script), "sysprep b") == ["batch"]


def test_bash_completes_the_options_of_a_command_and_hides_boot(run, tmp_path):
    script = tmp_path / "sysprep.bash"
    script.write_text(run("completion", "bash").out)
    assert _bash(str(script), "sysprep b") == ["batch"]
    assert "--jobs" in _bash(str(script), "sysprep batch --")
    assert _bash(str(script), "sysprep answer v") == ["validate"]
    assert _bash(str(script), "sysprep --gen") == ["--generalize"]


def test_zsh_completion_does_not_offer_boot(run):
    assert " boot" not in run("completion", "zsh").out.split("'1::command:")[1]
