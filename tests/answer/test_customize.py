"""The virt-customize spellings: compiled into the answer model, merged with an answer file
per setting, validated and cached like one."""

from __future__ import annotations

import os

import pytest

from sysprep.answer import cache, customize, reader
from sysprep.answer.overlay import collisions, overlay
from sysprep.cli import parse
from sysprep.errors import UsageError
from sysprep.request import Customize
from tests.conftest import snapshot

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@x"
HASH = "$6$salt$" + "x" * 86


def fake_hash(_plain: str) -> str:
    return HASH


def test_the_options_make_the_same_settings_as_the_answer_file_that_says_the_same(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("S3cret-pw\nsecond line\n")
    made, shown = customize.answer(
        Customize(
            hostname="web-01",
            timezone="Europe/Berlin",
            root_password=f"file:{pw}",
            ssh_inject=(("root", f"string:{KEY}"),),
            firstboot_commands=("touch /var/tmp/ok", "echo second"),
        ),
        fake_hash,
    )
    file, _ = reader.parse(
        f"""\
specialize:
  Linux-Shell-Setup:
    ComputerName: web-01
    TimeZone: Europe/Berlin
  Linux-Deployment:
    RunSynchronous:
    - {{Order: 1, Path: touch /var/tmp/ok}}
    - {{Order: 2, Path: echo second}}
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      AdministratorPassword: {{Value: S3cret-pw, PlainText: true}}
      LocalAccounts:
      - Name: root
        AuthorizedKeys: ["{KEY}"]
""".encode(),
        "u.yaml",
    )
    assert made.show() == file.show()
    assert shown == []
    assert "S3cret-pw" in made.secrets  # so the log redacts it and the cache hashes it


def test_a_random_password_is_only_a_hash_in_the_answer_and_shown_once():
    made, shown = customize.answer(
        Customize(root_password="random", passwords=(("ops", "disabled"),)), fake_hash
    )
    assert len(shown) == 1 and shown[0].startswith("root: ")
    plain = shown[0].split(": ", 1)[1]
    assert len(plain) == customize.RANDOM_LENGTH
    assert made.administrator_password("oobeSystem") == HASH
    assert [a.password_hash for a in made.local_accounts("oobeSystem")] == ["*"]
    assert plain not in str(made.document)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Customize(hostname="web_01!"), "--hostname web_01!: ComputerName: not a host name"),
        (
            Customize(timezone="Nowhere/Land"),
            "--timezone Nowhere/Land: TimeZone: unknown time zone",
        ),
        (
            Customize(passwords=(("Bad User", "disabled"),)),
            "--password Bad User:disabled: Name: not a",
        ),
        (Customize(firstboot_commands=("",)), "--firstboot-command '': Path: must not be empty"),
    ],
)
def test_a_bad_value_is_refused_naming_the_option(options, message):
    with pytest.raises(UsageError) as e:
        customize.answer(options, fake_hash)
    assert str(e.value).startswith(message)


def test_an_answer_file_and_the_options_merge_per_setting_and_collisions_are_named():
    file, _ = reader.parse(
        b"specialize:\n  Microsoft-Windows-Shell-Setup:\n    ComputerName: a\n    TimeZone: UTC\n",
        "u.yaml",
    )
    options, _ = customize.answer(Customize(hostname="web-01"), fake_hash)
    assert collisions(file, options) == ["specialize/Linux-Shell-Setup/ComputerName"]
    commands, _ = customize.answer(Customize(firstboot_commands=("touch /var/tmp/ok",)), fake_hash)
    assert collisions(file, commands) == []
    merged = overlay(file, commands)
    assert merged.time_zone("specialize") == "Etc/UTC" and merged.computer_name() == "a"
    assert [c.path for c in merged.run_synchronous("specialize")] == ["touch /var/tmp/ok"]
    assert overlay(file, options).computer_name() == "web-01"


def test_add_and_a_are_image(tmp_path):
    img = tmp_path / "disk.img"
    img.write_bytes(b"")
    spelled = [
        parse(["--generalize", flag, str(img)])[0].target for flag in ("--image", "--add", "-a")
    ]
    assert spelled[0] == spelled[1] == spelled[2] and spelled[0].images == (str(img),)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--root-password", "hunter2"],
            "--root-password hunter2: use file:FILE, password:PASSWORD",
        ),
        (["--password", "alice"], "--password alice: use USER:SELECTOR"),
        (["--ssh-inject", "root:key:x"], "the selector is file:FILE or string:KEY"),
        (["--root-password", "file:/nonexistent/pw"], "file:/nonexistent/pw: no such file"),
    ],
)
def test_malformed_options_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=message):
        parse(["--generalize", *argv])


def test_run_command_needs_generalize():
    with pytest.raises(UsageError, match="--run-command runs in the generalize pass"):
        parse(["--oobe", "--run-command", "true"])


def test_options_are_cached_like_an_answer_file_with_the_password_hashed(dirty, run):
    r = run(
        "--generalize",
        "--root",
        dirty.path,
        "--hostname",
        "web-01",
        "--root-password",
        "password:S3cret-pw!",
        "--firstboot-command",
        "touch /var/tmp/ok",
    )
    assert r.code == 0, r.err
    cached = open(os.path.join(dirty.path, cache.CACHE)).read()
    assert "<ComputerName>web-01</ComputerName>" in cached and "touch /var/tmp/ok" in cached
    assert "S3cret-pw!" not in r.out + r.err
    for d, _, files in os.walk(dirty.path):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                assert b"S3cret-pw!" not in open(p, "rb").read(), p


def test_an_option_and_the_answer_file_setting_the_same_is_refused_and_nothing_changes(
    dirty, run, tmp_path
):
    u = tmp_path / "u.yaml"
    u.write_text("specialize:\n  Linux-Shell-Setup:\n    ComputerName: other\n")
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", str(u), "--hostname", "web-01")
    assert r.code == 2
    assert (
        f"the answer file {u} and the command line's options both set specialize/"
        "Linux-Shell-Setup/ComputerName" in r.err
    )
    assert snapshot(dirty.path) == before


def test_a_random_root_password_is_shown_once_on_the_terminal_and_written_nowhere(dirty, run):
    r = run("--generalize", "--root", dirty.path, "--root-password", "random")
    assert r.code == 0, r.err
    shown = [ln for ln in r.err.splitlines() if ln.startswith("sysprep: random password of root: ")]
    assert len(shown) == 1
    plain = shown[0].split(": ")[2].split()[0].encode()
    assert len(plain) == customize.RANDOM_LENGTH
    for d, _, files in os.walk(dirty.path):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                assert plain not in open(p, "rb").read(), p
    assert "<AdministratorPassword>" in open(os.path.join(dirty.path, cache.CACHE)).read()
