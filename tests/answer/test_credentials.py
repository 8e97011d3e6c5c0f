"""Per-clone answers from systemd credentials, and the per-setting overlay they use."""

from __future__ import annotations

import pytest

from sysprep.answer import credentials, reader
from sysprep.answer.overlay import collisions, overlay
from sysprep.errors import LocatedError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEeMZ1s0iHc2V0aGVyZWlzYWtleWhlcmVpdGlzb2s= ops@example"

TEMPLATE = b"""\
specialize:
  Linux-Shell-Setup:
    ComputerName: template-01
    TimeZone: Europe/Berlin
  Linux-Deployment:
    RunSynchronous:
      - Order: 1
        Path: /usr/local/sbin/enroll --site eu
      - Order: 2
        Path: /usr/local/sbin/report
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      AdministratorPassword: {Value: Template-root-pw, PlainText: true}
      LocalAccounts:
        - Name: ops
          Group: users
        - Name: backup
"""

CLONE = b"""\
specialize:
  Linux-Shell-Setup:
    ComputerName: clone-07
  Linux-Deployment:
    RunSynchronous:
      - Order: 2
        Path: /usr/local/sbin/report --clone
      - Order: 3
        Path: /usr/local/sbin/extra
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      LocalAccounts:
        - Name: ops
          Group: users;adm
"""


def parse(data: bytes, name: str = "answer.yaml"):
    return reader.parse(data, name)[0]


def test_credential_wins_over_the_cached_answer_per_setting():
    merged = overlay(parse(TEMPLATE), parse(CLONE, "clone.yaml"))
    assert merged.computer_name() == "clone-07"
    assert merged.time_zone("specialize") == "Europe/Berlin"  # the template's, not set on top
    assert merged.administrator_password("oobeSystem") is not None  # group overlaid, not replaced


def test_overlay_replaces_list_items_by_key_and_keeps_the_others():
    merged = overlay(parse(TEMPLATE), parse(CLONE, "clone.yaml"))
    assert [(c.order, c.path) for c in merged.run_synchronous("specialize")] == [
        (1, "/usr/local/sbin/enroll --site eu"),
        (2, "/usr/local/sbin/report --clone"),
        (3, "/usr/local/sbin/extra"),
    ]
    accounts = {a.name: a.groups for a in merged.local_accounts("oobeSystem")}
    assert list(accounts) == ["ops", "backup"]
    assert "adm" in accounts["ops"]


def test_overlay_laid_twice_gives_the_same_answer():
    """A rerun after a crash lays the credential over the cache that already holds it."""
    top = credentials.answer({"sysprep.unattend": CLONE, "ssh.authorized_keys.root": KEY.encode()})
    once = overlay(parse(TEMPLATE), top)
    assert overlay(once, top) == once
    root = [a for a in once.local_accounts("oobeSystem") if a.name == "root"]
    assert [a.authorized_keys for a in root] == [(KEY,)]


def test_collisions_name_the_settings_both_answers_set():
    assert collisions(parse(TEMPLATE), parse(CLONE, "clone.yaml")) == [
        "specialize/Linux-Shell-Setup/ComputerName",
        "specialize/Linux-Deployment/RunSynchronous[2]",
        "oobeSystem/Linux-Shell-Setup/UserAccounts/LocalAccounts[ops]",
    ]


def test_overlay_keeps_the_secrets_of_both_for_redaction():
    top = credentials.answer({"passwd.plaintext-password.root": b"Clone-root-pw\n"})
    merged = overlay(parse(TEMPLATE), top)
    assert {"Template-root-pw", "Clone-root-pw"} <= merged.secrets
    assert merged.origin == "credential"


def test_well_known_credentials_become_their_settings():
    found = {
        "system.hostname": b"web-02\n",
        "firstboot.timezone": b"Europe/Paris\n",
        "firstboot.locale": b"de_DE.UTF-8\n",
        "firstboot.keymap": b"de\n",
        "ssh.authorized_keys.root": f"# root's key\n{KEY}\n".encode(),
    }
    a = credentials.answer(found)
    assert a is not None
    assert (
        a.computer_name(),
        a.time_zone("specialize"),
        a.system_locale("specialize"),
        a.keymap("specialize"),
    ) == ("web-02", "Europe/Paris", "de_DE.UTF-8", "de")
    assert [(x.name, x.authorized_keys) for x in a.local_accounts("oobeSystem")] == [
        ("root", (KEY,))
    ]


def test_well_known_credentials_win_over_sysprep_unattend():
    a = credentials.answer({"sysprep.unattend": CLONE, "system.hostname": b"web-03"})
    assert a is not None and a.computer_name() == "web-03"


def test_hashed_root_password_wins_over_the_plaintext_one():
    hashed = "$6$salt$" + "a" * 86
    a = credentials.answer(
        {
            "passwd.plaintext-password.root": b"Plain-pw",
            "passwd.hashed-password.root": hashed.encode(),
        }
    )
    assert a is not None and a.administrator_password("oobeSystem") == hashed


def test_bad_answer_credential_is_located_in_the_credential():
    bad = b"specialize:\n  Linux-Shell-Setup:\n    ComputerName: web-01\n    TimeZon: UTC\n"
    with pytest.raises(LocatedError) as e:
        credentials.answer({"sysprep.unattend": bad})
    assert str(e.value).startswith("credential sysprep.unattend:4:5: ")


def test_bad_well_known_credential_is_named():
    with pytest.raises(LocatedError) as e:
        credentials.answer({"system.hostname": b"not a host name!"})
    assert str(e.value).startswith("credential system.hostname:1:1: ")


def test_first_folder_that_has_a_credential_wins(tmp_path):
    first, second = tmp_path / "unit", tmp_path / "system"
    first.mkdir()
    second.mkdir()
    (second / "system.hostname").write_text("from-system\n")
    (second / "firstboot.timezone").write_text("UTC\n")
    (first / "system.hostname").write_text("from-unit\n")
    (tmp_path / "elsewhere").write_text("x")
    (first / "firstboot.keymap").symlink_to(tmp_path / "elsewhere")  # never followed
    found = credentials.read((str(first), str(second)))
    assert found == {"system.hostname": b"from-unit\n", "firstboot.timezone": b"UTC\n"}


def test_system_credentials_are_read_only_on_the_live_system():
    env = {"CREDENTIALS_DIRECTORY": "/run/credentials/sysprep-specialize.service"}
    assert credentials.places(env, live=False) == ("/run/credentials/sysprep-specialize.service",)
    assert credentials.places({}, live=True)[0] == credentials.SYSTEM
    assert credentials.places({}, live=False) == ()


def smbios_structure(kind: int, *strings: bytes) -> bytes:
    """One SMBIOS structure: a 5-byte formatted area (type, length, handle, count), strings."""
    area = bytes([kind, 5, 0x10, kind, len(strings)])
    return area + (b"".join(s + b"\0" for s in strings) + b"\0" if strings else b"\0\0")


def test_smbios_oem_strings_are_read_from_the_dmi_table():
    table = (
        smbios_structure(1, b"QEMU", b"Standard PC")
        + smbios_structure(11, b"first", b"second")
        + smbios_structure(32)
        + smbios_structure(11, b"third")
        + smbios_structure(127)
        + smbios_structure(11, b"after the end")
    )
    assert credentials.smbios_strings(table) == ["first", "second", "third"]
    assert credentials.smbios_strings(b"\x0b\x01\x00\x00garbage") == []  # broken: no loop


def test_firmware_credentials_as_systemd_imports_them(tmp_path):
    """systemd 252 imports these only when dmi-sysfs and qemu_fw_cfg were loaded before PID 1
    started; sysprep reads the firmware itself then."""
    import base64

    unattend = b"specialize:\n  Linux-Shell-Setup:\n    ComputerName: fw-01\n"
    table = smbios_structure(
        11,
        b"io.systemd.credential:system.hostname=web-04",
        b"io.systemd.credential.binary:sysprep.unattend=" + base64.b64encode(b"from smbios"),
        b"io.systemd.credential.binary:firstboot.keymap=not base64!",
        b"unrelated OEM string",
    ) + smbios_structure(127)
    dmi = tmp_path / "DMI"
    dmi.write_bytes(table)
    fw_cfg = tmp_path / "fw_cfg"
    (fw_cfg / "sysprep.unattend").mkdir(parents=True)
    (fw_cfg / "sysprep.unattend" / "raw").write_bytes(unattend)
    found = credentials.firmware_credentials(str(dmi), str(fw_cfg))
    assert {name: data for name, (_, data) in found.items()} == {
        "sysprep.unattend": unattend,
        "system.hostname": b"web-04",
    }  # fw_cfg before SMBIOS
    assert found["system.hostname"][0] == "SMBIOS type 11 io.systemd.credential:system.hostname"
