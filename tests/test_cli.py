from __future__ import annotations

import subprocess
import sys

import pytest

from sysprep import cli
from sysprep.errors import UsageError
from sysprep.request import Power, Reseal, TargetKind


def parse(*argv: str):
    return cli.parse(list(argv))[0]


def test_windows_and_gnu_syntax_mean_the_same(tmp_path):
    u = tmp_path / "u.xml"
    u.write_text("<unattend/>")
    win = parse("/GENERALIZE", "/oobe", "/Mode:VM", "/shutdown", "/quiet", f"/unattend:{u}")
    gnu = parse(
        "--generalize", "--oobe", "--mode", "vm", "--shutdown", "--quiet", "--unattend", str(u)
    )
    assert win == gnu
    assert win.generalize and win.reseal is Reseal.OOBE and win.mode_vm
    assert win.power is Power.SHUTDOWN and win.quiet and win.unattend == str(u)


def test_no_finish_option_means_quit():
    assert parse("--generalize").power is Power.QUIT


def test_a_value_that_looks_like_a_windows_option_is_left_alone(tmp_path):
    d = tmp_path / "generalize"
    d.mkdir()
    r = parse("--generalize", "--root", str(d))
    assert r.target.kind is TargetKind.ROOT and r.target.root == str(d)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/audit", "/oobe"], "exclude each other"),
        (["/mode:vm"], "only valid with /generalize"),
        (["/oobe", "/mode:vm"], "only valid with /generalize"),
        (["/generalize", "/reboot", "/shutdown"], "at most one"),
        (["/generalize", "/quit", "/reboot"], "at most one"),
        (["/frobnicate"], "unknown option /frobnicate"),
        (["/unattend"], "needs a value"),
        (["/generalize:yes"], "takes no value"),
        (["/generalize", "/mode:physical"], "unknown mode"),
        (["--generalize", "--bogus"], "unrecognized arguments"),
        (["--generalize", "--root", "/nonexistent-dir"], "not a directory"),
        (["--generalize", "--root", "/"], "running system"),
        (["--generalize", "--unattend", "/nonexistent.xml"], "no such file"),
    ],
)
def test_bad_arguments_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message):
        parse(*argv)


def test_reboot_on_an_offline_root_is_refused(tmp_path):
    with pytest.raises(UsageError, match="only applies to the live system"):
        parse("/generalize", "/reboot", "--root", str(tmp_path))


@pytest.mark.parametrize(
    "argv",
    [
        ["/audit", "/oobe"],
        ["/mode:vm"],
        ["--generalize", "--operations", "no-such-op", "--root", "/tmp"],
        ["--nonsense"],
    ],
)
def test_usage_errors_exit_2_with_one_line_and_no_traceback(argv):
    p = subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout == ""


def test_no_action_without_a_terminal_prints_usage_then_the_error():
    """With a terminal it would open the Sysprep dialog (tests/ui)."""
    p = subprocess.run(
        [sys.executable, "-m", "sysprep"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert p.returncode == 2
    assert p.stderr.startswith("usage: sysprep ") and p.stderr.strip().endswith(
        "(see sysprep --help)"
    )
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_help_explains_both_syntaxes(capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    # every option Windows has, in both spellings, and an example of each syntax
    for o in cli.OPTIONS:
        if o.windows:
            assert f"--{o.name}" in out and f"/{o.name}" in out, o.name
    assert "Windows syntax works too" in out
    assert "sysprep /generalize /oobe /unattend:u.xml" in out
    assert "sysprep --generalize --oobe --shutdown" in out


def test_man_page_and_completion_cover_every_option(run):
    man = run("man").out
    bash = run("completion", "bash").out
    zsh = run("completion", "zsh").out
    for o in cli.OPTIONS:
        assert f"\\-\\-{o.name.replace('-', chr(92) + '-')}" in man
        assert f"--{o.name}" in bash and f"--{o.name}" in zsh
        if o.windows:
            assert f"/{o.name}" in bash
    for sub in ("state", "providers", "install"):
        assert sub in bash and f"sysprep {sub}" in man


def bash_complete(script, line: str) -> list[str]:
    """What bash offers for `line` (the word under the cursor is the last one, "" after a
    space) through the completion function the script registers for sysprep."""
    words = line.split(" ")
    probe = (
        f"{script}\n"
        "complete -p sysprep >&2\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_sysprep; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    p = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True, check=True
    )
    assert p.stderr.strip() == "complete -F _sysprep sysprep"
    return p.stdout.split()


def test_bash_completion_completes_both_syntaxes_commands_and_values(run):
    script = run("completion", "bash").out
    assert bash_complete(script, "sysprep --gen") == ["--generalize"]
    assert bash_complete(script, "sysprep /gen") == ["/generalize"]
    assert bash_complete(script, "sysprep /mo") == ["/mode:"]
    assert bash_complete(script, "sysprep sta") == ["state"]
    assert bash_complete(script, "sysprep state --fo") == ["--format", "--follow"]
    assert bash_complete(script, "sysprep --generalize --mode ") == ["vm"]
    assert bash_complete(script, "sysprep --format q") == ["qcow2"]


def test_nothing_after_a_double_dash_is_read_as_a_windows_option():
    with pytest.raises(UsageError, match=r"unexpected argument ./oobe. after --"):
        parse("--generalize", "--", "/oobe")


def test_an_abbreviated_option_is_refused_not_guessed(tmp_path):
    with pytest.raises(UsageError, match="unrecognized arguments: --roo"):
        parse("--generalize", "--roo", str(tmp_path))


def test_an_abbreviated_option_of_a_subcommand_is_refused(tmp_path, capsys):
    from sysprep.__main__ import main

    assert main(["state", "--ro", str(tmp_path)]) == 2
    assert "unrecognized arguments: --ro" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--operations", "defaults,-machine-id"],
        ["--operations", "-machine-id"],
        ["--operations=-machine-id"],
    ],
)
def test_operations_value_may_start_with_a_dash(argv):
    assert parse("--generalize", *argv).selection.operations[-1] == "-machine-id"


def test_enable_and_disable_values_may_start_with_a_dash():
    sel = parse("--generalize", "--enable", "-x", "--disable", "-y").selection
    assert sel.enable == ("-x",) and sel.disable == ("-y",)
