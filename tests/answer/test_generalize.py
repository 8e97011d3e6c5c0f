"""The answer file in a /generalize run: cached, its secrets kept out of every file, its
generalize settings applied (devices, rearm), its warnings in the generalize logs."""

from __future__ import annotations

import json
import os
import stat

import pytest

from sysprep.answer import cache, passwords
from sysprep.answer.passwords import DELETED
from sysprep.providers import registry
from sysprep.providers.base import ACTIVATION, HARDWARE, Phase, Provider
from sysprep.target.confined import Confined
from sysprep.testing.dirty_root import write_file
from tests.answer.conftest import cli, settings, unattend
from tests.answer.test_cache import ALL_SECRETS, SECRETS_FILE
from tests.conftest import snapshot
from tests.contract import parse

PANTHER = "var/lib/sysprep/panther"
LICENSE = "var/lib/sysprep/license.ini"


def marker_provider(name: str, tag: str, marker: str) -> Provider:
    def run(ctx):
        if not ctx.dry_run:
            ctx.write(marker, "ran\n")

    return Provider(
        name,
        f"Test provider {name}",
        "A test provider.",
        Phase.GENERALIZE,
        run,
        tags=frozenset({tag}),
        paths=("/etc/test-registration/*",),
    )


@pytest.fixture
def providers(monkeypatch):
    """A fake activation provider and a fake hardware provider, as the catalogue has."""
    real = registry.builtin()
    fakes = (
        marker_provider("test-activation", ACTIVATION, "activation.ran"),
        marker_provider("test-hardware", HARDWARE, "hardware.ran"),
    )
    monkeypatch.setattr(registry, "builtin", lambda: (*real, *fakes))
    return fakes


def generalize_pass(body: str, component: str = "Linux-Security-Licensing") -> str:
    return unattend(settings("generalize", component, body))


def count(root: str) -> int:
    try:
        text = open(os.path.join(root, LICENSE)).read()
    except FileNotFoundError:
        return 0
    return int(text.split("RearmCount = ")[1].split()[0])


def test_no_plain_secret_reaches_any_file_the_run_wrote(dirty, write):
    with open(os.path.join(dirty.path, "etc/passwd"), "a") as f:  # the account its command runs as
        f.write("ops:x:1500:1500::/home/ops:/bin/sh\n")
    write_file(dirty.path, "usr/sbin/runuser", "#!/bin/sh\nexit 0\n", 0o755)
    path = write("u.xml", SECRETS_FILE)
    r = cli("--generalize", "--oobe", "--root", dirty.path, "--unattend", path, "--json")
    assert r.code == 0, r.err
    needles = [s.encode() for s in ALL_SECRETS]
    needles += [passwords.encode_windows(s).encode() for s in ALL_SECRETS]
    needles += [passwords.encode_windows(s, "AdministratorPassword").encode() for s in ALL_SECRETS]
    found = []
    for d, _, files in os.walk(dirty.path):
        for f in files:
            if os.path.islink(os.path.join(d, f)):
                continue
            data = open(os.path.join(d, f), "rb").read()
            found += [(os.path.join(d, f), n) for n in needles if n in data]
    assert not found
    assert not [n for n in needles if n in (r.out + r.err).encode()]
    st = os.stat(os.path.join(dirty.path, cache.CACHE))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    # once the passes that use them ran, not even the hashes are left
    with Confined(dirty.path) as fs:
        for p in ("specialize", "auditSystem", "oobeSystem"):
            cache.scrub_secrets(fs, p)
    data = open(os.path.join(dirty.path, cache.CACHE), "rb").read()
    assert b"$y$" not in data and b"<Hash>" not in data and DELETED.encode() in data


def test_warnings_go_to_the_generalize_logs_and_the_cache_is_reported(dirty, write, run):
    path = write(
        "u.xml",
        unattend(
            settings(
                "specialize",
                "Microsoft-Windows-Shell-Setup",
                "<ComputerName>web-01</ComputerName><RegisteredOwner>Contoso</RegisteredOwner>",
            )
        ),
    )
    r = run("--generalize", "--oobe", "--root", dirty.path, "--unattend", path)
    assert r.code == 0, r.err
    err = open(os.path.join(dirty.path, PANTHER, "setuperr.log")).read()
    assert (
        f"Warning  [sysprep] {path}:5:36: RegisteredOwner of Microsoft-Windows-Shell-Setup "
        "has no Linux meaning; ignored\n" in err
    )
    act = open(os.path.join(dirty.path, PANTHER, "setupact.log")).read()
    assert "cached the answer file in /var/lib/sysprep/unattend.xml" in act
    assert not os.path.exists(os.path.join(dirty.path, "var/log/sysprep"))
    records = [json.loads(x) for x in open(os.path.join(dirty.path, PANTHER, "actions.jsonl"))]
    assert {k: v for k, v in records[0].items() if k in ("provider", "op", "path")} == {
        "provider": "unattend",
        "op": "write",
        "path": "/" + cache.CACHE,
    }


def test_a_later_run_reads_the_cache_and_unattend_replaces_it(dirty, write, run):
    first = write("a.yaml", "generalize:\n  Linux-Security-Licensing:\n    SkipRearm: 1\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", first).code == 0
    assert count(dirty.path) == 0
    r = run("--generalize", "--root", dirty.path)  # the cached SkipRearm=1 still applies
    assert r.code == 0 and count(dirty.path) == 0
    second = write("b.yaml", "generalize:\n  Linux-Security-Licensing:\n    SkipRearm: 0\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", second).code == 0
    assert count(dirty.path) == 1
    assert "<SkipRearm>0</SkipRearm>" in open(os.path.join(dirty.path, cache.CACHE)).read()


def test_dry_run_validates_but_caches_nothing(dirty, write, run):
    path = write("u.yaml", "generalize:\n  Linux-PnPSysprep:\n    PersistAllDeviceInstalls: true\n")
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", path, "--dry-run")
    assert r.code == 0, r.err
    assert f"/{cache.CACHE}" in r.out
    assert snapshot(dirty.path) == before


@pytest.mark.parametrize(
    ("persist", "mode_vm", "runs"),
    [
        ("false", False, True),
        ("true", False, False),
        ("false", True, False),
        (None, False, True),
    ],
)
def test_persist_all_device_installs_decides_the_hardware_providers(
    dirty, write, run, providers, persist, mode_vm, runs
):
    argv = ["--generalize", "--root", dirty.path, "--json"]
    if persist is not None:
        argv += [
            "--unattend",
            write(
                "u.xml",
                generalize_pass(
                    f"<PersistAllDeviceInstalls>{persist}</PersistAllDeviceInstalls>",
                    "Microsoft-Windows-PnpSysprep",
                ),
            ),
        ]
    if mode_vm:
        argv += ["--mode", "vm"]
    r = run(*argv)
    assert r.code == 0, r.err
    status = {p["name"]: p["status"] for p in parse(r.out, "report")["providers"]}
    assert status["test-hardware"] == ("ok" if runs else "skipped")
    assert os.path.exists(os.path.join(dirty.path, "hardware.ran")) == runs


def test_five_generalizes_in_a_row_all_rearm_and_license_shows_the_count(dirty, run, providers):
    for n in range(1, 6):
        r = run("--generalize", "--root", dirty.path, "--json")
        assert r.code == 0, r.err
        assert count(dirty.path) == n and json.loads(r.out)["rearms"] == n
        assert os.path.exists(os.path.join(dirty.path, "activation.ran"))  # the registrations reset
        os.remove(os.path.join(dirty.path, "activation.ran"))
    assert (
        "rearm 5 is counted (no limit)"
        in open(os.path.join(dirty.path, PANTHER, "setupact.log")).read()
    )
    lic = run("license", "--root", dirty.path)
    assert lic.code == 0, lic.err
    assert "Rearms counted:      5 (last " in lic.out and "Rearm limit:         none" in lic.out
    info = json.loads(run("license", "--root", dirty.path, "--json").out)
    assert (info["rearms"], info["rearm_limit"], info["remaining_rearms"]) == (5, None, "unlimited")


def test_a_rearm_limit_of_2_refuses_the_third_rearm_and_changes_nothing(
    dirty, write, run, providers
):
    path = write("u.xml", generalize_pass("<RearmLimit>2</RearmLimit>"))
    for n in (1, 2):
        r = run("--generalize", "--root", dirty.path, "--unattend", path)
        assert r.code == 0, r.err
        assert count(dirty.path) == n
    os.remove(os.path.join(dirty.path, "activation.ran"))
    assert (
        "Rearm limit:         2 (RearmLimit of the cached answer file; 0 left)"
        in run("license", "--root", dirty.path).out
    )
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 2
    assert "rearmed 2 times, the RearmLimit" in r.err and "SkipRearm" in r.err
    assert snapshot(dirty.path) == before
    lic = run("license", "--root", dirty.path, "--json")
    assert parse(lic.out, "license")["remaining_rearms"] == 0
    skip = write("s.xml", generalize_pass("<RearmLimit>2</RearmLimit><SkipRearm>1</SkipRearm>"))
    assert run("--generalize", "--root", dirty.path, "--unattend", skip).code == 0
    assert count(dirty.path) == 2 and not os.path.exists(os.path.join(dirty.path, "activation.ran"))


def test_skip_rearm_keeps_the_registrations_and_counts_nothing(dirty, write, run, providers):
    os.makedirs(os.path.join(dirty.path, "var/lib/sysprep"), exist_ok=True)
    with open(os.path.join(dirty.path, LICENSE), "w") as f:
        f.write(
            "[License]\nLicenseType = Retail\nActivated = false\nRearmCount = 3\nLastRearm = \n"
        )
    path = write(
        "u.xml", generalize_pass("<SkipRearm>1</SkipRearm>", "Microsoft-Windows-Security-SPP")
    )
    r = run("--generalize", "--root", dirty.path, "--unattend", path, "--json")
    assert r.code == 0, r.err
    assert count(dirty.path) == 3 and parse(r.out, "report")["rearms"] == 3
    status = {p["name"]: p["status"] for p in parse(r.out, "report")["providers"]}
    assert status["test-activation"] == "skipped"
    assert not os.path.exists(os.path.join(dirty.path, "activation.ran"))


def test_license_type_and_activated_are_ignored_with_a_warning(dirty, write, run):
    path = write(
        "u.xml", generalize_pass("<LicenseType>MAK</LicenseType><Activated>false</Activated>")
    )
    for _ in range(4):  # the Windows limit of a MAK image was 3
        r = run("--generalize", "--root", dirty.path, "--unattend", path)
        assert r.code == 0, r.err
    assert count(dirty.path) == 4
    assert "LicenseType no longer has any effect; ignored; RearmLimit sets a limit" in r.err


def test_oobe_alone_never_rearms_and_dry_run_never_counts(dirty, run, providers):
    assert run("--oobe", "--root", dirty.path).code == 0
    assert not os.path.exists(os.path.join(dirty.path, LICENSE))
    assert run("--generalize", "--root", dirty.path, "--dry-run").code == 0
    assert not os.path.exists(os.path.join(dirty.path, LICENSE))


def test_a_failed_run_counts_no_rearm(dirty, run, providers):
    d = os.path.join(dirty.path, "etc/sysprep/providers.d/generalize")
    os.makedirs(d)
    with open(f"{d}/fail", "w") as f:
        f.write("#!/bin/sh\nexit 1\n")
    os.chmod(f"{d}/fail", 0o755)
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 1
    assert count(dirty.path) == 0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("garbage", "not an INI file (line 1)"),
        ("[Other]\nx = 1\n", "no [License] section"),
        ("[License]\nRearmCount = two\n", "RearmCount 'two' is not a whole number"),
    ],
)
def test_a_malformed_counter_says_what_is_wrong_not_as_rearmed(dirty, write, run, text, why):
    """Under a RearmLimit it hands out no fresh rearm (refused, nothing changed); without one,
    counting starts again with a warning saying what was wrong (never "rearmed N times")."""
    os.makedirs(os.path.join(dirty.path, "var/lib/sysprep"), exist_ok=True)
    with open(os.path.join(dirty.path, LICENSE), "w") as f:
        f.write(text)
    path = write("u.xml", generalize_pass("<RearmLimit>5</RearmLimit>"))
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 2, r.err
    assert f"/{LICENSE} is malformed ({why})" in r.err and "RearmLimit 5" in r.err
    assert "rearmed" not in r.err.replace("rearms", "")
    assert snapshot(dirty.path) == before
    assert why in run("license", "--root", dirty.path).out
    r = run("--generalize", "--root", dirty.path)  # without a limit: counting starts again
    assert r.code == 0, r.err
    assert f"/{LICENSE} is malformed ({why}): the rearm count starts again" in r.err
    assert count(dirty.path) == 1


def test_license_lists_the_registrations_the_count_and_the_next_rearm(dirty, write, run, providers):
    os.makedirs(os.path.join(dirty.path, "etc/test-registration"))
    with open(os.path.join(dirty.path, "etc/test-registration/consumer.pem"), "w") as f:
        f.write("x")
    path = write("u.xml", generalize_pass("<RearmLimit>3</RearmLimit>"))
    assert (
        run(
            "--generalize", "--root", dirty.path, "--unattend", path, "--operations", "machine-id"
        ).code
        == 0
    )
    r = run("license", "--root", dirty.path)
    assert r.code == 0, r.err
    assert "Activation:          none (Linux has no product activation" in r.out
    assert "Rearms counted:      1" in r.out
    assert "Rearm limit:         3 (RearmLimit of the cached answer file; 2 left)" in r.out
    assert "Next /generalize:    rearms" in r.out
    assert "test-activation: /etc/test-registration/consumer.pem" in r.out
    info = parse(run("license", "--root", dirty.path, "--json").out, "license")
    assert info["registrations"][0]["files"] == ["/etc/test-registration/consumer.pem"]
    assert (info["activation"], info["remaining_rearms"]) == ("none", 2)


def commands_file(write, *cmds: tuple[int, str, str]) -> str:
    items = "".join(
        f'<RunSynchronousCommand wcm:action="add"><Order>{o}</Order><Path>{p}</Path>'
        f"<WillReboot>{w}</WillReboot></RunSynchronousCommand>"
        for o, p, w in cmds
    )
    return write(
        "u.xml",
        unattend(
            settings("generalize", "Linux-Deployment", f"<RunSynchronous>{items}</RunSynchronous>")
        ),
    )


def test_runsynchronous_of_the_generalize_pass_runs_first_in_order_sandboxed(
    dirty, write, run, outside
):
    path = commands_file(
        write,
        (2, f"echo two >> /order; ls {outside} > /host-visible 2>&amp;1; exit 5", "Never"),
        (1, "echo one >> /order; echo trace > /var/log/command.log; echo hello", "Never"),
        (3, "echo three >> /order", "OnRequest"),
    )
    r = run("--generalize", "--oobe", "--root", dirty.path, "--unattend", path, "--json")
    assert r.code == 0, r.err
    root = dirty.path
    assert open(f"{root}/order").read() == "one\ntwo\nthree\n"
    assert "No such file" in open(f"{root}/host-visible").read()  # the sandbox: no host paths
    assert not os.path.exists(f"{root}/var/log/command.log")  # the cleanup ran after them
    assert open(f"{root}/{PANTHER}/generalize-1.log").read() == "hello\n"
    # the progress record is gone once the run finished: the next cycle starts afresh
    assert not os.path.exists(f"{root}/var/lib/sysprep/progress.json")
    names = [p["name"] for p in parse(r.out, "report")["providers"]]
    assert names[0] == "runsynchronous"
    act = open(f"{root}/{PANTHER}/setupact.log").read()
    assert "Order 2 (echo two" in act and "exited with status 5: failed (not fatal)" in act
    # a second generalize runs them all again
    assert run("--generalize", "--root", root).code == 0
    assert open(f"{root}/order").read().count("one") == 2


def test_a_fatal_command_fails_the_generalize_run_and_the_errorhandler_runs(dirty, write, run):
    handler = os.path.join(dirty.path, "etc/sysprep/scripts/errorhandler")
    os.makedirs(os.path.dirname(handler))
    with open(handler, "w") as f:
        f.write('#!/bin/sh\necho "$SYSPREP_FAILED_ORDER $SYSPREP_EXIT_CODE" > /handled\n')
    os.chmod(handler, 0o755)
    path = commands_file(write, (1, "exit 7", "OnRequest"), (2, "touch /never", "Never"))
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 1
    assert open(os.path.join(dirty.path, "handled")).read() == "1 7\n"
    assert not os.path.exists(os.path.join(dirty.path, "never"))
    assert (
        "IMAGE_STATE_UNDEPLOYABLE"
        in open(os.path.join(dirty.path, "var/lib/sysprep/state.ini")).read()
    )
    assert count(dirty.path) == 0


def test_a_reboot_request_fails_the_generalize_run(dirty, write, run):
    path = commands_file(write, (1, "exit 1", "OnRequest"))
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 1 and "cannot reboot half-way" in r.err


def test_willreboot_always_is_refused_in_the_generalize_pass(dirty, write, run):
    path = commands_file(write, (1, "true", "Always"))
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 2 and "WillReboot Always cannot be honoured" in r.err
    assert snapshot(dirty.path) == before


def test_dry_run_lists_the_commands_and_runs_none(dirty, write, run):
    path = commands_file(write, (1, "touch /ran", "Never"))
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--unattend", path, "--dry-run", "--json")
    assert r.code == 0, r.err
    assert parse(r.out, "report")["providers"][0] == {
        **parse(r.out, "report")["providers"][0],
        "name": "runsynchronous",
        "status": "planned",
    }
    assert snapshot(dirty.path) == before


def test_a_crash_and_a_rerun_count_one_rearm(dirty):
    import signal
    import subprocess
    import sys

    from tests.passes.test_prepare import slow_provider, spawn, wait_for

    slow_provider(dirty.path)
    p = spawn("--generalize", "--oobe", "--root", dirty.path)
    assert wait_for(lambda: os.path.exists(f"{dirty.path}/etc/slept-once"))
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert count(dirty.path) == 0
    again = subprocess.run(
        [sys.executable, "-m", "sysprep", "--generalize", "--oobe", "--root", dirty.path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert count(dirty.path) == 1


def test_an_answer_file_left_in_the_image_with_clear_passwords_is_retired(dirty, run):
    """Found by the implicit search (etc/sysprep), cached with hashes; the clear original goes."""
    root = dirty.path
    write_file(
        root,
        "etc/sysprep/unattend.yaml",
        "oobeSystem:\n  Linux-Shell-Setup:\n    UserAccounts:\n      LocalAccounts:\n"
        "        - Name: op\n          Password: {Value: 'Plain-Secret-77', PlainText: true}\n",
    )
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 0, r.err
    assert not os.path.exists(f"{root}/etc/sysprep/unattend.yaml")
    assert "Plain-Secret-77" not in open(f"{root}/var/lib/sysprep/unattend.xml").read()
    assert "held passwords in clear" in r.err


def _account_yaml(password: str) -> str:
    return (
        "oobeSystem:\n  Linux-Shell-Setup:\n    UserAccounts:\n      LocalAccounts:\n"
        f"        - Name: op\n          Password: {{Value: '{password}', PlainText: true}}\n"
    )


def _account_xml(password: str) -> str:
    return unattend(
        settings(
            "oobeSystem",
            "Linux-Shell-Setup",
            "<UserAccounts><AdministratorPassword><Value>"
            + password
            + "</Value><PlainText>true</PlainText></AdministratorPassword>"
            "</UserAccounts>",
        )
    )


def _holding(root: str, needles: list[str]) -> list[str]:
    """The files of the tree that hold any of the strings."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


def test_no_clear_password_is_left_in_any_answer_file_of_the_root_and_each_is_named(dirty, run):
    """etc/sysprep/unattend.xml and unattend.yaml both, a hard link of one elsewhere, and the
    --unattend file itself inside the root: each loses its passwords, each is named."""
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.xml", _account_xml("Xml-Secret-11"))
    write_file(root, "etc/sysprep/unattend.yaml", _account_yaml("Yaml-Secret-22"))
    os.makedirs(f"{root}/root/backup", exist_ok=True)
    os.link(f"{root}/etc/sysprep/unattend.xml", f"{root}/root/backup/unattend.xml")
    write_file(root, "srv/answers/given.yaml", _account_yaml("Given-Secret-33"))
    r = run(
        "--generalize", "--oobe", "--root", root, "--unattend", f"{root}/srv/answers/given.yaml"
    )
    assert r.code == 0, r.err
    assert _holding(root, ["Xml-Secret-11", "Yaml-Secret-22", "Given-Secret-33"]) == []
    for name in (
        "etc/sysprep/unattend.xml",
        "etc/sysprep/unattend.yaml",
        "root/backup/unattend.xml",
        "srv/answers/given.yaml",
    ):
        assert f"/{name}" in r.err, name
    # the files the run did not use keep their settings, without the passwords
    assert DELETED in open(f"{root}/etc/sysprep/unattend.yaml").read()
    assert DELETED in open(f"{root}/root/backup/unattend.xml").read()
    assert "removed from the image" not in r.err  # the run used none of them: all kept


def test_both_image_answer_files_lose_their_clear_passwords(dirty, run):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.xml", _account_xml("Xml-Secret-11"))
    write_file(root, "etc/sysprep/unattend.yaml", _account_yaml("Yaml-Secret-22"))
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 0, r.err
    assert not os.path.exists(f"{root}/etc/sysprep/unattend.xml")  # used, cached: removed
    assert DELETED in open(f"{root}/etc/sysprep/unattend.yaml").read()
    assert _holding(root, ["Xml-Secret-11", "Yaml-Secret-22"]) == []
    assert "/etc/sysprep/unattend.yaml held passwords in clear" in r.err


def test_a_hard_link_of_the_retired_file_loses_the_passwords_too(dirty, run):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.yaml", _account_yaml("Linked-Secret-44"))
    os.link(f"{root}/etc/sysprep/unattend.yaml", f"{root}/var/tmp/copy.yaml")
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 0, r.err
    assert not os.path.exists(f"{root}/etc/sysprep/unattend.yaml")
    assert _holding(root, ["Linked-Secret-44"]) == []
    assert "/var/tmp/copy.yaml rewritten" in r.err and "removed from the image" in r.err


def test_a_hard_link_outside_the_target_is_reported_still_holding_the_passwords(
    dirty, run, tmp_path
):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.yaml", _account_yaml("Outside-Secret-55"))
    os.link(f"{root}/etc/sysprep/unattend.yaml", tmp_path / "outside.yaml")
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 0, r.err
    assert _holding(root, ["Outside-Secret-55"]) == []
    assert "1 more hard link(s) of it outside the target" in r.err
    assert "this name removed" in r.err and "removed from the image" not in r.err
    assert "Outside-Secret-55" in (tmp_path / "outside.yaml").read_text()  # never touched


def test_an_unattend_file_reached_through_a_symlink_into_the_root_is_scrubbed(dirty, run, tmp_path):
    root = dirty.path
    write_file(root, "srv/given.yaml", _account_yaml("Via-Link-66"))
    os.symlink(f"{root}/srv", tmp_path / "alias")
    r = run(
        "--generalize", "--oobe", "--root", root, "--unattend", str(tmp_path / "alias/given.yaml")
    )
    assert r.code == 0, r.err
    assert _holding(root, ["Via-Link-66"]) == []
    assert "/srv/given.yaml held passwords in clear" in r.err


def test_an_unattend_file_reached_through_a_bind_mount_of_the_root_is_scrubbed(
    dirty, run, tmp_path
):
    import subprocess

    root = dirty.path
    write_file(root, "srv/given.yaml", _account_yaml("Via-Bind-88"))
    bind = tmp_path / "bind"
    bind.mkdir()
    subprocess.run(["mount", "--bind", root, str(bind)], check=True)
    try:
        r = run(
            "--generalize", "--oobe", "--root", root, "--unattend", str(bind / "srv/given.yaml")
        )
    finally:
        subprocess.run(["umount", str(bind)], check=True)
    assert r.code == 0, r.err
    assert _holding(root, ["Via-Bind-88"]) == []
    assert "/srv/given.yaml held passwords in clear" in r.err


def test_dry_run_with_clear_password_files_changes_nothing(dirty, run):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.xml", _account_xml("Xml-Secret-11"))
    write_file(root, "etc/sysprep/unattend.yaml", _account_yaml("Yaml-Secret-22"))
    os.link(f"{root}/etc/sysprep/unattend.xml", f"{root}/var/tmp/copy.xml")
    before = snapshot(root)
    r = run("--generalize", "--oobe", "--root", root, "--dry-run")
    assert r.code == 0, r.err
    assert snapshot(root) == before
    assert "/var/tmp/copy.xml" in r.err + r.out


def test_an_unattend_file_outside_the_root_is_left_alone(dirty, run, tmp_path):
    given = tmp_path / "given.yaml"
    given.write_text(_account_yaml("Host-Side-77"))
    r = run("--generalize", "--oobe", "--root", dirty.path, "--unattend", str(given))
    assert r.code == 0, r.err
    assert given.read_text() == _account_yaml("Host-Side-77")
    assert "held passwords" not in r.err


def test_an_unreadable_answer_file_beside_the_used_one_is_named_and_left_alone(dirty, run):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.xml", _account_xml("Xml-Secret-11"))
    write_file(root, "etc/sysprep/unattend.yaml", "specialize: [unclosed\n")
    r = run("--generalize", "--oobe", "--root", root)
    assert r.code == 0, r.err
    assert "/etc/sysprep/unattend.yaml: not readable as an answer file (" in r.err
    assert open(f"{root}/etc/sysprep/unattend.yaml").read() == "specialize: [unclosed\n"
    assert _holding(root, ["Xml-Secret-11"]) == []
