"""Malformed answer files, through the real command line: one `FILE:LINE:COL: message` line
on stderr, exit status 2, and the target exactly as it was."""

from __future__ import annotations

import os
import random
import re

import pytest

from sysprep.answer.limits import MAX_BYTES, MAX_DEPTH
from sysprep.testing.dirty_root import build
from tests.answer.conftest import cli, settings, unattend
from tests.conftest import snapshot

SHELL = "Linux-Shell-Setup"
DEPLOY = "Linux-Deployment"


def cmd(
    order: str = "<Order>1</Order>",
    path: str = "<Path>/bin/true</Path>",
    extra: str = "",
    action: str = 'wcm:action="add"',
) -> str:
    return f"<RunSynchronousCommand {action}>{order}{path}{extra}</RunSynchronousCommand>"


def runsync(*cmds: str, pass_name: str = "specialize") -> str:
    return unattend(
        settings(pass_name, DEPLOY, "<RunSynchronous>" + "".join(cmds) + "</RunSynchronous>")
    )


def shell(body: str, pass_name: str = "specialize") -> str:
    return unattend(settings(pass_name, SHELL, body))


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<unattend xmlns="urn:schemas-microsoft-com:unattend">&lol9;</unattend>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE unattend [<!ENTITY xxe SYSTEM "file:///etc/shadow">]>
<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="specialize">
<component name="Linux-Shell-Setup"><ComputerName>&xxe;</ComputerName></component>
</settings></unattend>
"""
YAML_BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
"""
rng = random.Random(4)
GARBAGE = bytes(rng.randrange(256) for _ in range(4096))

CASES: list[tuple[str, str, str | bytes, tuple[str, ...]]] = [
    # (id, file name, content, extra options)
    ("empty file", "empty.xml", b"", ()),
    ("only blanks", "blank.yaml", b"  \n\n\t\n", ()),
    (
        "unclosed XML",
        "unclosed.xml",
        '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="specialize">',
        (),
    ),
    ("mismatched tag", "mismatch.xml", shell("<ComputerName>a</ComputerNam>"), ()),
    ("binary garbage as XML", "garbage.xml", GARBAGE, ()),
    ("binary garbage, no extension", "garbage", b"\x00\x01\xfe\xff" + GARBAGE, ()),
    ("XML bomb", "bomb.xml", BOMB, ()),
    ("external entity", "xxe.xml", XXE, ()),
    (
        "external DTD",
        "dtd.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE unattend SYSTEM "http://example.com/u.dtd">\n<unattend/>',
        (),
    ),
    ("huge file", "huge.xml", "<!-- " + "x" * (MAX_BYTES + 10) + " -->", ()),
    (
        "deep XML nesting",
        "deep.xml",
        '<unattend xmlns="urn:schemas-microsoft-com:unattend">'
        + "<a>" * (MAX_DEPTH + 50)
        + "</a>" * (MAX_DEPTH + 50)
        + "</unattend>",
        (),
    ),
    ("deep YAML nesting", "deep.yaml", "generalize: " + "[" * 5000 + "]" * 5000 + "\n", ()),
    ("YAML alias bomb", "bomb.yaml", YAML_BOMB, ()),
    (
        "YAML python tag",
        "tag.yaml",
        "specialize: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
        (),
    ),
    ("YAML syntax", "syntax.yaml", "specialize:\n  Linux-Shell-Setup: [ComputerName\n", ()),
    (
        "YAML duplicate key",
        "dupkey.yaml",
        "specialize:\n  Linux-Shell-Setup:\n    ComputerName: a\n    ComputerName: b\n",
        (),
    ),
    ("YAML not a mapping", "list.yaml", "- generalize\n- specialize\n", ()),
    (
        "YAML not UTF-8",
        "latin1.yaml",
        "specialize:\n  Linux-Shell-Setup:\n    ComputerName: caf\xe9\n".encode("latin-1"),
        (),
    ),
    (
        "control character",
        "ctrl.yaml",
        'specialize:\n  Linux-Shell-Setup:\n    ComputerName: "web\\x01"\n',
        (),
    ),
    ("wrong root element", "root.xml", '<answers xmlns="urn:schemas-microsoft-com:unattend"/>', ()),
    (
        "wrong namespace",
        "ns.xml",
        '<unattend xmlns="urn:example"><settings pass="specialize"/></unattend>',
        (),
    ),
    ("settings without pass", "nopass.xml", unattend("<settings/>"), ()),
    ("unknown pass", "pass.xml", shell("<ComputerName>a</ComputerName>", "generalise"), ()),
    (
        "duplicate pass",
        "twice.xml",
        unattend(
            settings("specialize", SHELL, "<ComputerName>a</ComputerName>"),
            settings("specialize", SHELL, "<TimeZone>UTC</TimeZone>"),
        ),
        (),
    ),
    (
        "unknown component",
        "comp.xml",
        unattend(settings("specialize", "Linux-Shel-Setup", "<ComputerName>a</ComputerName>")),
        (),
    ),
    ("unknown setting", "setting.xml", shell("<ComputerNmae>a</ComputerNmae>"), ()),
    (
        "unknown attribute",
        "attr.xml",
        unattend(
            '<settings pass="specialize"><component name="Linux-Shell-Setup" colour="red"/></settings>'
        ),
        (),
    ),
    ("text in settings", "text.xml", unattend('<settings pass="specialize">hello</settings>'), ()),
    (
        "setting in the wrong pass",
        "wrongpass.xml",
        shell("<ComputerName>a</ComputerName>", "generalize"),
        (),
    ),
    (
        "Boolean not true/false",
        "bool.xml",
        unattend(
            settings(
                "generalize",
                "Linux-PnPSysprep",
                "<PersistAllDeviceInstalls>yes</PersistAllDeviceInstalls>",
            )
        ),
        (),
    ),
    (
        "YAML Boolean yes",
        "bool.yaml",
        "generalize:\n  Linux-PnPSysprep:\n    PersistAllDeviceInstalls: yes\n",
        (),
    ),
    (
        "Integer not a number",
        "int.xml",
        unattend(settings("generalize", "Linux-Security-Licensing", "<SkipRearm>one</SkipRearm>")),
        (),
    ),
    (
        "Integer out of range",
        "range.xml",
        unattend(settings("generalize", "Linux-Security-Licensing", "<SkipRearm>2</SkipRearm>")),
        (),
    ),
    (
        "unknown enumeration value",
        "enum.xml",
        runsync(cmd(extra="<WillReboot>Sometimes</WillReboot>")),
        (),
    ),
    ("duplicate Order", "order.xml", runsync(cmd(), cmd(path="<Path>/bin/false</Path>")), ()),
    ("missing Path", "nopath.xml", runsync(cmd(path="")), ()),
    ("missing Order", "noorder.xml", runsync(cmd(order="")), ()),
    ("empty Path", "emptypath.xml", runsync(cmd(path="<Path>  </Path>")), ()),
    ("unknown wcm:action", "action.xml", runsync(cmd(action='wcm:action="replace"')), ()),
    ("modify without an earlier add", "modify.xml", runsync(cmd(action='wcm:action="modify"')), ()),
    (
        "a value where elements go",
        "group.xml",
        unattend(settings("oobeSystem", SHELL, "<OOBE>true</OOBE>")),
        (),
    ),
    (
        "elements where a value goes",
        "value.xml",
        shell("<ComputerName><Name>a</Name></ComputerName>"),
        (),
    ),
    ("bad host name", "host.xml", shell("<ComputerName>web_01!</ComputerName>"), ()),
    ("unknown time zone", "tz.xml", shell("<TimeZone>Europe/Berlinn</TimeZone>"), ()),
    (
        "bad account name",
        "user.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><LocalAccounts><LocalAccount><Name>Bad Name</Name></LocalAccount></LocalAccounts></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "Windows password that is not encoded",
        "pw.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><AdministratorPassword><Value>not base64!</Value><PlainText>false</PlainText></AdministratorPassword></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "Hash and Value together",
        "hash.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><AdministratorPassword><Value>x</Value><Hash>$6$a$b</Hash></AdministratorPassword></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "not a crypt hash",
        "hash2.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><AdministratorPassword><Hash>plaintext</Hash></AdministratorPassword></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "set twice across names",
        "twice2.xml",
        unattend(
            '<settings pass="specialize"><component name="Linux-Shell-Setup"><ComputerName>a</ComputerName></component>'
            '<component name="Microsoft-Windows-Shell-Setup"><ComputerName>b</ComputerName></component></settings>'
        ),
        (),
    ),
    (
        "RunSynchronous Path over the kernel's argument limit",
        "longpath.xml",
        runsync(cmd(path="<Path>echo " + "x" * 131072 + "</Path>")),
        (),
    ),
    (
        "FirstLogonCommands CommandLine over the kernel's argument limit",
        "longcmd.yaml",
        "oobeSystem:\n  Linux-Shell-Setup:\n    FirstLogonCommands:\n      - Order: 1\n        CommandLine: "
        + "x" * 131072
        + "\n",
        (),
    ),
    (
        "DisplayName with a colon",
        "gecos.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><LocalAccounts><LocalAccount><Name>op</Name><DisplayName>Ops: night</DisplayName></LocalAccount></LocalAccounts></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "DisplayName with a newline",
        "gecos.yaml",
        'oobeSystem:\n  Linux-Shell-Setup:\n    UserAccounts:\n      LocalAccounts:\n        - Name: op\n          DisplayName: "Ops\\nroot::0:0::/:/bin/sh"\n',
        (),
    ),
    (
        "DisplayName with a comma",
        "gecos2.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><LocalAccounts><LocalAccount><Name>op</Name><DisplayName>Doe, Jane</DisplayName></LocalAccount></LocalAccounts></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "AuthorizedKey with a newline",
        "keys.xml",
        unattend(
            settings(
                "oobeSystem",
                SHELL,
                "<UserAccounts><LocalAccounts><LocalAccount><Name>op</Name><AuthorizedKeys><AuthorizedKey>ssh-ed25519 AAAA a@b\nssh-rsa BBBB evil@x</AuthorizedKey></AuthorizedKeys></LocalAccount></LocalAccounts></UserAccounts>",
            )
        ),
        (),
    ),
    (
        "unknown XML encoding declared",
        "enc.xml",
        '<?xml version="1.0" encoding="klingon"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend"/>\n',
        (),
    ),
    (
        "Windows component with --strict",
        "strict.xml",
        unattend(
            settings(
                "specialize", "Microsoft-Windows-IE-InternetExplorer", "<Home_Page>x</Home_Page>"
            )
        ),
        ("--strict",),
    ),
    ("windowsPE with --strict", "pe.xml", unattend('<settings pass="windowsPE"/>'), ("--strict",)),
]


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return build(str(tmp_path_factory.mktemp("malformed") / "root")).path


def test_there_are_more_than_thirty_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    ("name", "content", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_file_is_one_located_line_exit_2_and_target_untouched(
    tmp_path, target, run, name, content, extra
):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    line = re.compile(rf"^{re.escape(str(path))}:\d+:\d+: \S.*$")

    v = run("answer", "validate", str(path), *extra)  # in this process: an exception fails it
    assert v.code == 2, v.err
    assert len(v.err.splitlines()) == 1 and line.match(v.err.splitlines()[0]), v.err
    assert "Traceback" not in v.err

    before = snapshot(target)
    r = cli("--generalize", "--oobe", "--root", target, "--unattend", str(path), *extra)
    assert r.code == 2, r.err
    assert len(r.err.splitlines()) == 1 and line.match(r.err.splitlines()[0]), r.err
    assert snapshot(target) == before


def test_errors_point_at_the_line_and_column(write):
    path = write("u.xml", shell("<TimeZone>UTC</TimeZone>\n      <ComputerNmae>a</ComputerNmae>"))
    r = cli("answer", "validate", path)
    assert r.err.startswith(
        f"{path}:6:7: unknown setting 'ComputerNmae' in Linux-Shell-Setup; "
        "did you mean ComputerName?"
    )
    y = write("u.yaml", "specialize:\n  Linux-Shell-Setup:\n    TimeZone: Mars/Olympus\n")
    r = cli("answer", "validate", y)
    assert r.code == 2 and r.err.startswith(f"{y}:3:5: TimeZone: unknown time zone 'Mars/Olympus'")


def test_every_error_of_a_file_is_listed(write):
    path = write(
        "u.xml",
        unattend(
            settings(
                "generalize",
                "Linux-PnPSysprep",
                "<PersistAllDeviceInstalls>yes</PersistAllDeviceInstalls>",
            ),
            settings("specialize", SHELL, "<ComputerName>a b</ComputerName><TimeZone>x</TimeZone>"),
        ),
    )
    r = cli("answer", "validate", path)
    assert r.code == 2 and len(r.err.splitlines()) == 3


def test_without_strict_windows_only_settings_are_warnings(write):
    path = write(
        "u.xml",
        unattend(
            settings(
                "specialize", "Microsoft-Windows-IE-InternetExplorer", "<Home_Page>x</Home_Page>"
            )
        ),
    )
    r = cli("answer", "validate", path)
    assert r.code == 0
    assert re.match(
        rf"^{re.escape(path)}:\d+:\d+: warning: component "
        "Microsoft-Windows-IE-InternetExplorer has no Linux meaning",
        r.err,
    )


def test_a_command_line_of_the_kernels_largest_argument_validates(write):
    # MAX_ARG_STRLEN counts the NUL: one byte less is the longest /bin/sh -c can be given
    ok = write("ok.xml", runsync(cmd(path="<Path>" + "x" * 131071 + "</Path>")))
    assert cli("answer", "validate", ok).code == 0
    over = write("over.xml", runsync(cmd(path="<Path>" + "x" * 131072 + "</Path>")))
    assert cli("answer", "validate", over).code == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "ns.xml",
            '<unattend xmlns="urn:example"><settings pass="specialize"/></unattend>',
            "1:1: the root element <unattend> is in namespace 'urn:example', not in "
            "'urn:schemas-microsoft-com:unattend'",
        ),
        (
            "list.yaml",
            "specialize:\n  Linux-Shell-Setup:\n    ComputerName: [a, b]\n",
            "3:23: ComputerName takes one value, not a list (its first item at 3:20)",
        ),
        (
            "block.yaml",
            "specialize:\n  Linux-Shell-Setup:\n    ComputerName:\n      - a\n      - b\n",
            "5:9: ComputerName takes one value, not a list (its first item at 4:9)",
        ),
    ],
    ids=["wrong namespace", "list for a value", "block list for a value"],
)
def test_the_message_says_what_is_wrong(write, name, content, message):
    path = write(name, content)
    r = cli("answer", "validate", path)
    assert r.code == 2 and r.err.startswith(f"{path}:{message}"), r.err


def test_an_answer_file_that_is_not_a_regular_file_is_named_as_such(tmp_path, target):
    fifo = tmp_path / "answers.fifo"
    os.mkfifo(fifo)
    before = snapshot(target)
    for path, kind in ((str(fifo), "a named pipe (FIFO)"), (str(tmp_path), "a directory")):
        for argv in (
            ("answer", "validate", path),
            ("--generalize", "--root", target, "--unattend", path),
        ):
            r = cli(*argv)
            assert r.code == 2, r.err
            assert r.err.strip().endswith(f"answer file {path}: {kind}, not a regular file")
    assert snapshot(target) == before
    assert (
        cli("answer", "validate", str(tmp_path / "nope.xml"))
        .err.strip()
        .endswith("No such file or directory")
    )
