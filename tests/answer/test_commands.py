from __future__ import annotations

import glob
import os
import stat

import pytest

from sysprep import answer
from sysprep.answer import passwords, reference
from sysprep.answer.passwords import Method, policy_from_login_defs
from tests.answer.conftest import EXAMPLES, REPO, cli, settings, unattend
from tests.answer.test_model import WSIM
from tests.contract import parse

EXAMPLE_FILES = sorted(
    p for p in glob.glob(os.path.join(EXAMPLES, "*")) if os.path.isfile(p)
)  # packer/: test_packer.py


def test_the_committed_reference_page_is_up_to_date():
    with open(os.path.join(REPO, "docs", "answer-file-reference.md")) as f:
        committed = f.read()
    assert committed == reference.markdown(), (
        "regenerate it: sysprep answer reference > docs/answer-file-reference.md"
    )


def test_the_reference_names_every_setting_and_the_documented_limits():
    from sysprep.answer import limits, schema

    page = reference.markdown()
    for c in schema.COMPONENTS:
        assert f"### {c.name}" in page
        for s in c.settings:
            assert f"| `{s.name}` |" in page
    assert str(limits.MAX_BYTES) in page and str(limits.MAX_DEPTH) in page
    assert "/etc/sysprep/unattend.xml" in page and "SYSPREP" in page


def test_there_are_the_three_examples():
    names = {os.path.basename(p) for p in EXAMPLE_FILES}
    assert names == {"cloud-template.yaml", "oem-laptop.xml", "factory-audit.xml"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=os.path.basename)
def test_examples_are_valid_even_strictly(path):
    r = cli("answer", "validate", "--strict", path)
    assert r.code == 0 and r.err == "", r.err
    a, warnings = answer.load(path, strict=True)
    assert a.passes() and not warnings


def test_what_the_examples_say():
    cloud, _ = answer.load(os.path.join(EXAMPLES, "cloud-template.yaml"))
    (user,) = cloud.local_accounts("oobeSystem", lambda p: pytest.fail("no plain password"))
    assert user.sudo and user.password_hash == "!" and user.authorized_keys
    assert cloud.oobe().skip_machine_oobe and cloud.computer_name() == "*"
    laptop, _ = answer.load(os.path.join(EXAMPLES, "oem-laptop.xml"))
    assert laptop.oobe().eula_file == "/usr/share/oem/EULA.de.txt"
    assert laptop.keymap("specialize") == "de" and laptop.time_zone("specialize") == "Europe/Berlin"
    factory, _ = answer.load(os.path.join(EXAMPLES, "factory-audit.xml"))
    assert [c.order for c in factory.run_synchronous("auditUser")] == [1, 2, 3]
    assert factory.reseal("auditUser").force_shutdown_now and factory.skip_rearm()
    assert factory.auto_logon("auditSystem").username == "factory"


def test_convert_xml_to_yaml_and_back_through_the_cli(tmp_path):
    y, x = tmp_path / "u.yaml", tmp_path / "u.xml"
    r = cli("answer", "convert", WSIM, "-o", str(y))
    assert r.code == 0, r.err
    assert stat.S_IMODE(os.stat(y).st_mode) == 0o600  # it holds passwords
    r = cli("answer", "convert", str(y), "-o", str(x))
    assert r.code == 0, r.err
    assert answer.load(str(x))[0] == answer.load(WSIM)[0] == answer.load(str(y))[0]
    out = cli("answer", "convert", WSIM, "--to", "xml")
    assert out.out.startswith('<?xml version="1.0" encoding="utf-8"?>\n<unattend')


def test_show_prints_effective_settings_per_pass(tmp_path):
    r = cli("answer", "show", WSIM, "--json")
    assert r.code == 0, r.err
    shown = parse(r.out, "answer-show")["passes"]
    assert list(shown) == ["generalize", "specialize", "oobeSystem"]
    assert shown["specialize"]["Linux-Shell-Setup"]["TimeZone"] == "America/Los_Angeles"
    cmds = shown["specialize"]["Linux-Deployment"]["RunSynchronous"]
    assert [c["Order"] for c in cmds] == [1, 2] and cmds[1]["WillReboot"] == "OnRequest"
    accounts = shown["oobeSystem"]["Linux-Shell-Setup"]["UserAccounts"]
    assert accounts["AdministratorPassword"] == "(Windows-encoded: hashed before use)"
    assert "S3cret-Root-99" not in r.out and "operator-Secret-42" not in r.out
    text = cli("answer", "show", WSIM)
    assert "TimeZone: America/Los_Angeles" in text.out


def test_show_reads_the_cache_of_a_target(dirty, tmp_path):
    u = tmp_path / "u.xml"
    u.write_text(
        unattend(settings("specialize", "Linux-Shell-Setup", "<ComputerName>c1</ComputerName>"))
    )
    assert cli("--oobe", "--root", dirty.path, "--unattend", str(u)).code == 0
    r = cli("answer", "show", "--root", dirty.path, "--json")
    assert r.code == 0, r.err
    assert (
        parse(r.out, "answer-show")["passes"]["specialize"]["Linux-Shell-Setup"]["ComputerName"]
        == "c1"
    )


def test_windows_password_encoding_round_trips():
    for pw in ("", "P@ssw0rd", "pässwörd ✓", "x" * 200):
        for element in ("Password", "AdministratorPassword"):
            assert passwords.decode_windows(passwords.encode_windows(pw, element), element) == pw
    with pytest.raises(ValueError):
        passwords.decode_windows(
            passwords.encode_windows("pw", "Password"), "AdministratorPassword"
        )


@pytest.mark.parametrize(
    ("login_defs", "method"),
    [
        ("ENCRYPT_METHOD YESCRYPT\n", Method.YESCRYPT),
        ("ENCRYPT_METHOD SHA512\n", Method.SHA512),
        ("# ENCRYPT_METHOD YESCRYPT\n", Method.SHA512),
        (None, Method.SHA512),
        ("ENCRYPT_METHOD MD5\n", Method.SHA512),
        ("ENCRYPT_METHOD DES\n", Method.SHA512),
    ],
)
def test_the_hash_method_comes_from_login_defs(login_defs, method):
    policy = policy_from_login_defs(login_defs)
    assert policy.method is method
    hashed = passwords.Hasher(policy)("pw")
    assert hashed.startswith(method.value)


def test_libcrypt_is_the_hosts_by_soname_never_a_path():
    assert all("/" not in name for name in passwords._LIBRARIES)
