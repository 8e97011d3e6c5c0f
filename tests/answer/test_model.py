from __future__ import annotations

import os

import pytest

from sysprep import answer
from sysprep.answer import reader, xmlform, yamlform
from sysprep.answer.types import Reseal, ResealMode, SyncCommand, WillReboot
from sysprep.errors import LocatedError, UsageError
from tests.answer.conftest import DATA, settings, unattend

WSIM = os.path.join(DATA, "wsim-unattend.xml")


def fake_hash(password: str) -> str:
    return f"$6$test${len(password)}"


def test_a_wsim_file_parses_with_its_settings_in_their_linux_meaning():
    a, warnings = answer.load(WSIM)
    assert a.passes() == ("generalize", "specialize", "oobeSystem")
    assert a.persist_all_device_installs("generalize") is True
    assert a.skip_rearm("generalize") is True
    assert a.run_synchronous("specialize") == (
        SyncCommand(1, "/usr/bin/touch /var/lib/first-boot", user="builder"),
        SyncCommand(
            2,
            "/usr/local/sbin/join-inventory --site eu-west",
            "Join the inventory",
            WillReboot.ON_REQUEST,
        ),
    )
    assert a.reseal("oobeSystem") == Reseal(ResealMode.OOBE, False)
    assert a.computer_name() == "*"
    assert a.time_zone("specialize") == "America/Los_Angeles"
    assert a.system_locale("oobeSystem") == "de_DE.UTF-8"
    assert a.ui_language("oobeSystem") == "en_US.UTF-8"
    assert a.keymap("oobeSystem") == "de"
    (op,) = a.local_accounts("oobeSystem", fake_hash)
    assert (op.name, op.sudo, op.groups, op.display_name) == ("operator", True, (), "Operator")
    assert op.password_hash == fake_hash("operator-Secret-42")
    assert a.administrator_password("oobeSystem", fake_hash) == fake_hash("S3cret-Root-99")
    assert a.auto_logon("oobeSystem").logon_count == 2
    oobe = a.oobe()
    assert oobe.hide_eula_page and oobe.skip_machine_oobe
    assert [c.path for c in a.first_logon_commands()] == ["/usr/local/bin/first-logon"]
    assert {"S3cret-Root-99", "operator-Secret-42", "Builder-Pass-1"} <= a.secrets
    # what has no Linux meaning is reported, each at its place
    reported = {w.message.split(" ")[0] for w in warnings}
    assert {
        "pass",
        "RegisteredOrganization",
        "CopyProfile",
        "OOBE/NetworkLocation",
        "AutoLogon/Password",
        "Credentials/Password",
    } <= reported
    assert all(w.line > 1 for w in warnings)


def test_the_wsim_file_converts_to_yaml_and_back_to_the_same_model():
    a, _ = answer.load(WSIM)
    y = yamlform.write(a.document)
    from_yaml, _ = answer.parse(y, "u.yaml")
    assert from_yaml == a
    back, _ = answer.parse(xmlform.write(from_yaml.document), "u.xml")
    assert back == a
    assert back.document.offline_image == "wim:c:/sources/install.wim#Windows 7 ENTERPRISE"
    c = back.document.passes[1].components[0]
    assert dict(c.attrs) == {
        "processorArchitecture": "amd64",
        "publicKeyToken": "31bf3856ad364e35",
        "language": "neutral",
        "versionScope": "nonSxS",
    }
    # the writers are stable: a second round gives the same bytes
    assert yamlform.write(back.document) == y
    assert xmlform.write(
        reader.parse(xmlform.write(back.document), "x.xml")[0].document
    ) == xmlform.write(back.document)


def test_yaml_form_uses_plain_lists_and_yaml_types():
    a, _ = answer.load(WSIM)
    y = yamlform.write(a.document).decode()
    assert (
        "RunSynchronous:\n    - Order: 2\n" in y
        or "RunSynchronous:\n      - Order: 2" in y
        or "    RunSynchronous:\n    - Order: 2" in y
    )
    assert "wcm:action" not in y  # add is what an item means without one
    assert "PersistAllDeviceInstalls: true" in y and "SkipRearm: 1" in y


def test_yaml_scalars_keep_the_text_written():
    doc = (
        "oobeSystem:\n  Linux-Shell-Setup:\n    UserAccounts:\n      LocalAccounts:\n"
        "        - Name: 'no'\n          Password: {Value: 007, PlainText: true}\n"
    )
    with pytest.raises(UsageError):  # No is not a Linux account name, whatever YAML 1.1 says
        answer.parse(doc.replace("'no'", "No").encode(), "u.yaml")
    a, _ = answer.parse(doc.encode(), "u.yaml")
    (acct,) = a.local_accounts("oobeSystem", lambda p: p)
    assert acct.name == "no" and acct.password_hash == "007"


def test_lists_merge_across_windows_and_linux_names_with_wcm_actions():
    text = unattend(
        '  <settings pass="specialize">\n'
        '    <component name="Microsoft-Windows-Deployment">\n'
        "      <RunSynchronous>\n"
        '        <RunSynchronousCommand wcm:action="add"><Order>1</Order><Path>a</Path></RunSynchronousCommand>\n'
        '        <RunSynchronousCommand wcm:action="add"><Order>2</Order><Path>b</Path></RunSynchronousCommand>\n'
        '        <RunSynchronousCommand wcm:action="add"><Order>3</Order><Path>c</Path></RunSynchronousCommand>\n'
        "      </RunSynchronous>\n    </component>\n"
        '    <component name="Linux-Deployment">\n      <RunSynchronous>\n'
        '        <RunSynchronousCommand wcm:action="modify"><Order>2</Order><Path>B</Path></RunSynchronousCommand>\n'
        '        <RunSynchronousCommand wcm:action="remove"><Order>3</Order></RunSynchronousCommand>\n'
        "      </RunSynchronous>\n    </component>\n  </settings>"
    )
    a, _ = answer.parse(text.encode(), "u.xml")
    assert [(c.order, c.path) for c in a.run_synchronous("specialize")] == [(1, "a"), (2, "B")]


def test_simple_value_lists_are_keyed_by_wcm_keyvalue():
    body = (
        "      <UserAccounts><LocalAccounts><LocalAccount>\n"
        "        <Name>ops</Name>\n"
        "        <AuthorizedKeys>\n"
        '          <AuthorizedKey wcm:action="add" wcm:keyValue="laptop">ssh-ed25519 AAA a</AuthorizedKey>\n'
        '          <AuthorizedKey wcm:action="add" wcm:keyValue="desk">ssh-ed25519 BBB b</AuthorizedKey>\n'
        '          <AuthorizedKey wcm:action="remove" wcm:keyValue="laptop"></AuthorizedKey>\n'
        "        </AuthorizedKeys>\n"
        "      </LocalAccount></LocalAccounts></UserAccounts>"
    )
    a, _ = answer.parse(
        unattend(settings("oobeSystem", "Linux-Shell-Setup", body)).encode(), "u.xml"
    )
    (acct,) = a.local_accounts("oobeSystem", fake_hash)
    assert acct.authorized_keys == ("ssh-ed25519 BBB b",)


def test_components_of_another_architecture_do_not_apply():
    body = "<TimeZone>{}</TimeZone>"
    text = unattend(
        '  <settings pass="specialize">\n'
        '    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="x86">'
        + body.format("Asia/Tokyo")
        + "</component>\n"
        '    <component name="Microsoft-Windows-Shell-Setup" processorArchitecture="amd64">'
        + body.format("Europe/Paris")
        + "</component>\n  </settings>"
    )
    assert (
        answer.parse(text.encode(), "u.xml", arch="amd64")[0].time_zone("specialize")
        == "Europe/Paris"
    )
    assert (
        answer.parse(text.encode(), "u.xml", arch="x86")[0].time_zone("specialize") == "Asia/Tokyo"
    )
    both, _ = answer.parse(text.encode(), "u.xml", arch="amd64")
    again, _ = answer.parse(yamlform.write(both.document), "u.yaml", arch="amd64")
    assert again == both


def test_license_settings_and_defaults():
    body = "<SkipRearm>0</SkipRearm><RearmLimit>3</RearmLimit>"
    a, _ = answer.parse(
        unattend(settings("generalize", "Linux-Security-Licensing", body)).encode(), "u.xml"
    )
    assert a.rearm_limit() == 3 and not a.skip_rearm()
    empty, _ = answer.parse(b"generalize:\n", "u.yaml")
    assert empty.rearm_limit() is None and empty.persist_all_device_installs() is None
    assert not empty.skip_rearm() and empty.run_synchronous("specialize") == ()


def test_a_rearm_limit_below_1_is_refused():
    body = "<RearmLimit>0</RearmLimit>"
    with pytest.raises(LocatedError, match=r"u.xml:5:\d+: RearmLimit must be between 1 and"):
        answer.parse(
            unattend(settings("generalize", "Linux-Security-Licensing", body)).encode(), "u.xml"
        )


def test_generated_computer_names_are_host_names():
    from sysprep.answer.checks import check_hostname

    names = {answer.generate_computer_name() for _ in range(20)}
    assert len(names) == 20 and all(check_hostname(n) is None for n in names)


@pytest.mark.parametrize(
    ("windows", "iana"),
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("UTC", "Etc/UTC"),
        ("india standard time", "Asia/Kolkata"),
        ("Europe/Lisbon", "Europe/Lisbon"),
    ],
)
def test_time_zones_map_windows_names_to_iana(windows, iana):
    body = f"<TimeZone>{windows}</TimeZone>"
    a, _ = answer.parse(
        unattend(settings("specialize", "Linux-Shell-Setup", body)).encode(), "u.xml"
    )
    assert a.time_zone("specialize") == iana


def test_every_windows_time_zone_maps_to_a_zone_this_machine_knows():
    from sysprep.answer import timezones

    known = timezones.known_iana()
    if not known:
        pytest.skip("no tz database here")
    missing = {
        w: timezones.to_iana(w)
        for w in timezones.WINDOWS_TO_IANA
        if timezones.to_iana(w) not in known
    }
    assert not missing
