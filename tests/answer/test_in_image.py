"""The answer file against the image, before any change: time zones, locales, keyboards,
groups, accounts and the programs of the commands must be there (or come from an earlier
step: a warning), else exit 2 with one FILE:LINE:COL line per problem and nothing changed."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess

import pytest

from sysprep.answer import in_image
from sysprep.testing.dirty_root import write_file
from tests.answer.conftest import settings, unattend
from tests.conftest import snapshot

ZONE = "usr/share/zoneinfo/Europe/Berlin"


def refused(run, root: str, path: str, *extra: str) -> list[str]:
    """Run a generalize that must be refused before any change; its error lines."""
    before = snapshot(root)
    r = run("--generalize", "--root", root, "--unattend", path, *extra)
    assert r.code == 2, r.err
    assert snapshot(root) == before
    lines = r.err.splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), r.err
    return lines


def specialize(body: str, component: str = "Linux-Shell-Setup") -> str:
    return unattend(settings("specialize", component, body))


def commands(pass_name: str, *paths: str, tag: str = "RunSynchronousCommand") -> str:
    field = "CommandLine" if tag == "SynchronousCommand" else "Path"
    items = "".join(
        f'<{tag} wcm:action="add"><Order>{i}</Order><{field}>{p}</{field}></{tag}>'
        for i, p in enumerate(paths, 1)
    )
    setting, component = (
        ("FirstLogonCommands", "Linux-Shell-Setup")
        if tag == "SynchronousCommand"
        else ("RunSynchronous", "Linux-Deployment")
    )
    return settings(pass_name, component, f"<{setting}>{items}</{setting}>")


# -- time zones


def test_a_time_zone_the_image_lacks_is_refused_before_any_change(dirty, write, run):
    path = write("u.xml", specialize("<TimeZone>Europe/Berlin</TimeZone>"))
    assert refused(run, dirty.path, path) == [
        f"{path}:5:1: TimeZone Europe/Berlin is not installed in the image "
        "(/usr/share/zoneinfo/Europe/Berlin); install tzdata in the image, or name a zone it has"
    ]
    assert refused(run, dirty.path, path, "--dry-run")  # a dry run refuses it the same way
    write_file(dirty.path, ZONE, "TZif2 fixture\n")
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 0, r.err


def test_a_windows_time_zone_is_checked_as_the_iana_zone_it_maps_to(dirty, write, run):
    path = write("u.xml", specialize("<TimeZone>W. Europe Standard Time</TimeZone>"))
    (line,) = refused(run, dirty.path, path)
    assert "TimeZone Europe/Berlin (W. Europe Standard Time) is not installed" in line
    write_file(dirty.path, ZONE, "TZif2 fixture\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0


# -- locales


def international(*pairs: tuple[str, str]) -> str:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in pairs)
    return specialize(body, "Microsoft-Windows-International-Core")


def locale_gen(root: str, supported: str = "de_DE.UTF-8 UTF-8\nde_DE ISO-8859-1\n") -> None:
    write_file(root, "usr/share/i18n/SUPPORTED", supported)
    write_file(root, "etc/locale.gen", "# en_US.UTF-8 UTF-8\n")
    write_file(root, "usr/sbin/locale-gen", "#!/bin/sh\n", 0o755)


def test_locales_neither_compiled_nor_generable_are_refused(dirty, write, run):
    path = write(
        "u.xml",
        international(
            ("SystemLocale", "de-DE"), ("UILanguage", "C.UTF-8"), ("UserLocale", "fr_FR.UTF-8")
        ),
    )
    lines = refused(run, dirty.path, path)
    assert [line.split(": ")[1] for line in lines] == ["SystemLocale", "UserLocale"]
    assert "the locale de_DE.UTF-8 is not in the image and cannot be generated there" in lines[0]
    locale_gen(dirty.path, "")  # locale-gen, but the locales are not among the supported ones
    assert len(refused(run, dirty.path, path)) == 2


def test_a_supported_locale_with_locale_gen_can_be_generated(dirty, write, run):
    path = write("u.xml", international(("SystemLocale", "de-DE"), ("UserLocale", "en_US.UTF-8")))
    locale_gen(dirty.path)  # de_DE in SUPPORTED, en_US in locale.gen
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0
    os.remove(os.path.join(dirty.path, "usr/sbin/locale-gen"))  # listed, but nothing makes it
    assert len(refused(run, dirty.path, path)) == 2


def test_a_locale_compiled_in_a_folder_of_its_own_is_there(dirty, write, run):
    path = write("u.xml", international(("SystemLocale", "de_DE.UTF-8")))
    os.makedirs(os.path.join(dirty.path, "usr/lib/locale/de_DE.utf8"))
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0


@pytest.mark.skipif(
    shutil.which("localedef") is None or not os.path.isdir("/usr/share/i18n/locales"),
    reason="needs glibc's localedef and locale sources",
)
def test_a_locale_in_the_image_locale_archive_is_there(dirty, write, run):
    """A real locale-archive, as locale-gen and glibc-all-langpacks leave it."""
    os.makedirs(os.path.join(dirty.path, "usr/lib/locale"), exist_ok=True)
    subprocess.run(
        ["localedef", "--prefix", dirty.path, "-i", "de_DE", "-f", "UTF-8", "de_DE.UTF-8"],
        check=True,
        capture_output=True,
    )
    data = open(os.path.join(dirty.path, in_image.LOCALE_ARCHIVE), "rb").read()
    assert in_image.archive_names(data) == {"de_DE.utf8"}
    path = write("u.xml", international(("SystemLocale", "de-DE"), ("UserLocale", "fr-FR")))
    (line,) = refused(run, dirty.path, path)
    assert "UserLocale: the locale fr_FR.UTF-8" in line


def test_a_locale_archive_of_the_other_byte_order_and_a_broken_one():
    names = b"\0de_DE.utf8\0en_US.utf8\0"
    table_at, strings_at = 56, 56 + 3 * 12
    for order in "<>":
        header = struct.pack(
            order + "14I",
            in_image.ARCHIVE_MAGIC,
            0,
            table_at,
            2,
            3,
            strings_at,
            len(names),
            len(names),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        table = struct.pack(order + "9I", 1, strings_at + 1, 1, 0, 0, 0, 2, strings_at + 12, 1)
        assert in_image.archive_names(header + table + names) == {"de_DE.utf8", "en_US.utf8"}
    assert in_image.archive_names(b"garbage" * 10) == set()
    assert in_image.archive_names((header + table)[:70]) == set()  # cut short: no names


# -- keyboards


@pytest.mark.parametrize(
    ("setting", "value"), [("InputLocale", "0407:00000407"), ("Keymap", "de-latin1")]
)
def test_a_keyboard_needs_a_console_keymap_or_debians_xkb_layout(dirty, write, run, setting, value):
    path = write("u.xml", international((setting, value)))
    (line,) = refused(run, dirty.path, path)
    keymap = "de" if setting == "InputLocale" else value
    assert line.endswith(
        f"{setting}: the image has no console keymap {keymap} (kbd) nor XKB "
        "layout de (/usr/share/X11/xkb/symbols/de); install kbd (or "
        "console-setup) in the image, or name a keymap it has"
    )
    write_file(dirty.path, "usr/share/X11/xkb/symbols/de", 'default xkb_symbols "basic" {};\n')
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0


@pytest.mark.parametrize(
    ("value", "layout"),
    [("en-GB", "gb"), ("0000041f", "tr"), ("es-MX", "latam"), ("be-latin1", "be")],
)
def test_debian_gets_the_xkb_layout_of_the_console_keymap(dirty, write, run, value, layout):
    path = write("u.xml", international(("InputLocale", value)))
    (line,) = refused(run, dirty.path, path)
    assert f"XKB layout {layout} (/usr/share/X11/xkb/symbols/{layout})" in line
    write_file(dirty.path, f"usr/share/X11/xkb/symbols/{layout}", "xkb\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0


def test_without_debians_keyboard_file_only_a_console_keymap_counts(dirty, write, run):
    os.remove(os.path.join(dirty.path, "etc/debian_version"))
    write_file(dirty.path, "usr/share/X11/xkb/symbols/de", "xkb\n")
    path = write("u.xml", international(("Keymap", "de-latin1")))
    (line,) = refused(run, dirty.path, path)
    assert line.endswith(
        "Keymap: the image has no console keymap de-latin1 (kbd); install kbd "
        "(or console-setup) in the image, or name a keymap it has"
    )
    write_file(dirty.path, "usr/lib/kbd/keymaps/legacy/i386/qwertz/de-latin1.map.gz", b"\x1f\x8b")
    assert run("--generalize", "--root", dirty.path, "--unattend", path).code == 0


# -- accounts

ACCOUNT = (
    '<UserAccounts><LocalAccounts><LocalAccount wcm:action="add"><Name>op</Name>'
    "<Group>{groups}</Group></LocalAccount></LocalAccounts></UserAccounts>"
)


def test_a_group_the_image_lacks_is_refused_unless_an_earlier_command_makes_it(dirty, write, run):
    oobe = settings("oobeSystem", "Linux-Shell-Setup", ACCOUNT.format(groups="Administrators;devs"))
    path = write("u.xml", unattend(oobe))
    (line,) = refused(run, dirty.path, path)
    assert (
        "LocalAccount op: group devs does not exist in the image; create it with an earlier "
        "command (groupadd), or leave it out" in line
    )
    made = write("v.xml", unattend(commands("specialize", "addgroup devs || groupadd devs"), oobe))
    write_file(dirty.path, "usr/sbin/addgroup", "#!/bin/sh\n", 0o755)
    r = run("--generalize", "--root", dirty.path, "--unattend", made)
    assert r.code == 0, r.err
    assert f"sysprep: warning: {made}:" in r.err
    assert (
        ": LocalAccount op: group devs does not exist in the image; expected from "
        "specialize Order 1, which mentions it\n" in r.err
    )


def test_accounts_need_useradd_and_a_shell_in_the_image(dirty, write, run):
    path = write(
        "u.xml",
        unattend(settings("oobeSystem", "Linux-Shell-Setup", ACCOUNT.format(groups="sudo"))),
    )
    assert run("--generalize", "--root", dirty.path, "--unattend", path, "--dry-run").code == 0
    os.remove(os.path.join(dirty.path, "usr/sbin/useradd"))
    (line,) = refused(run, dirty.path, path)
    assert "LocalAccount op: useradd is not in the image" in line


def test_a_command_run_as_an_account_nobody_makes_is_refused(dirty, write, run):
    body = (
        '<RunSynchronous><RunSynchronousCommand wcm:action="add"><Order>1</Order>'
        "<Path>true</Path><Credentials><Username>builder</Username></Credentials>"
        "</RunSynchronousCommand></RunSynchronous>"
    )
    path = write("u.xml", unattend(settings("specialize", "Linux-Deployment", body)))
    lines = refused(run, dirty.path, path)
    assert lines[0].endswith(
        "specialize Order 1: runuser is not in the image; install util-linux in the image"
    )
    write_file(dirty.path, "usr/sbin/runuser", "#!/bin/sh\n", 0o755)
    (line,) = refused(run, dirty.path, path)
    assert "specialize Order 1: the account builder it runs as does not exist" in line
    assert (
        run(
            "--generalize",
            "--root",
            dirty.path,
            "--unattend",
            write(
                "v.xml",
                unattend(
                    settings("specialize", "Linux-Deployment", body.replace("builder", "alice"))
                ),
            ),
        ).code
        == 0
    )


# -- the programs of the commands


def test_a_missing_program_is_refused_with_where_it_was_looked_for(dirty, write, run):
    path = write(
        "u.xml",
        unattend(
            commands(
                "specialize", "/usr/local/sbin/enroll --site eu", "LANG=C inventory-agent --once"
            )
        ),
    )
    lines = refused(run, dirty.path, path)
    assert len(lines) == 2
    assert lines[0].endswith(
        "specialize Order 1: /usr/local/sbin/enroll is not in the image; "
        "install it in the image, or have an earlier command provide it"
    )
    assert (
        "specialize Order 2: inventory-agent is not in the image (looked in "
        "/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin)" in lines[1]
    )


def test_a_program_an_earlier_command_provides_is_a_warning(dirty, write, run):
    path = write(
        "u.xml",
        unattend(
            commands("generalize", "printf '#!/bin/sh\\n' > /usr/local/sbin/enroll"),
            commands("specialize", "/usr/local/sbin/enroll --site eu"),
        ),
    )
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 0, r.err
    assert f"sysprep: warning: {path}:" in r.err
    assert (
        ": specialize Order 1: /usr/local/sbin/enroll is not in the image; expected "
        "from generalize Order 1, which mentions it\n" in r.err
    )
    # the other way round, the program runs before the command that makes it: an error
    later = write(
        "v.xml",
        unattend(commands("specialize", "enroll-tool --go", "echo x > /usr/local/bin/enroll-tool")),
    )
    assert len(refused(run, dirty.path, later)) == 1


def test_programs_found_in_path_builtins_and_computed_words_pass(dirty, write, run):
    write_file(dirty.path, "usr/local/bin/enroll", "#!/bin/sh\n", 0o755)
    write_file(dirty.path, "opt/tool/run", "#!/bin/sh\n", 0o755)
    path = write(
        "u.xml",
        unattend(
            commands(
                "specialize",
                "enroll --site eu",
                "A=1 B='x y' /opt/tool/run",
                "cd /tmp &amp;&amp; make",
                "if true; then :; fi",
                "$HOME/bin/setup",
                "exec /bin/sh -c true",
            ),
            commands("oobeSystem", "echo hello", tag="SynchronousCommand"),
        ),
    )
    r = run("--generalize", "--root", dirty.path, "--unattend", path)
    assert r.code == 0, r.err


def test_a_program_that_is_not_executable_is_not_there(dirty, write, run):
    write_file(dirty.path, "usr/local/bin/enroll", "#!/bin/sh\n", 0o644)
    path = write("u.xml", unattend(commands("oobeSystem", "enroll", tag="SynchronousCommand")))
    (line,) = refused(run, dirty.path, path)
    assert "oobeSystem Order 1: enroll is not in the image" in line


def test_a_symlink_out_of_the_image_is_not_a_program_of_the_image(dirty, write, run, outside):
    os.symlink(str(outside / "canary"), os.path.join(dirty.path, "usr/local/bin/escape"))
    os.chmod(outside / "canary", 0o755)
    path = write("u.xml", unattend(commands("specialize", "escape")))
    assert len(refused(run, dirty.path, path)) == 1


def test_every_problem_is_reported_at_once(dirty, write, run):
    path = write(
        "u.xml",
        unattend(
            settings("specialize", "Linux-Shell-Setup", "<TimeZone>Asia/Tokyo</TimeZone>"),
            commands("generalize", "missing-one"),
            settings(
                "oobeSystem", "Linux-International-Core", "<SystemLocale>ja-JP</SystemLocale>"
            ),
        ),
    )
    lines = refused(run, dirty.path, path)
    assert len(lines) == 3 and [int(line.split(":")[1]) for line in lines] == sorted(
        int(line.split(":")[1]) for line in lines
    )


@pytest.mark.parametrize(
    ("command", "program"),
    [
        ("/usr/bin/env X=1 tool", "/usr/bin/env"),
        ("X=1 Y=2 tool -x", "tool"),
        ("'my tool' --flag", "my tool"),
        ("true", None),
        ("[ -x /a ] && b", None),
        ("$X", None),
        ("`which a`", None),
        ("(sub)", None),
        ("a=1", None),
        ("'unclosed", None),
        ("tool;other", "tool"),
        ("tool|other", "tool"),
    ],
)
def test_the_program_of_a_command_line(command, program):
    assert in_image.program_of(command) == program


@pytest.mark.parametrize(
    ("text", "name", "found"),
    [
        ("apt-get install -y enroll", "enroll", True),
        ("curl -o /usr/bin/x URL", "/usr/bin/x", True),
        ("cp a /opt/bin/x", "/usr/local/bin/x", True),
        ("install enroll-agent", "enroll", False),
        ("groupadd devs", "dev", False),
        ("useradd builder", "builder", True),
    ],
)
def test_what_an_earlier_command_mentions(text, name, found):
    assert in_image.mentions(text, name) is found


# -- sysprep answer validate --root


def test_answer_validate_checks_a_target_only_when_one_is_named(dirty, write, run):
    path = write("u.xml", specialize("<TimeZone>Europe/Berlin</TimeZone>"))
    assert run("answer", "validate", path).code == 0
    r = run("answer", "validate", path, "--root", dirty.path)
    assert r.code == 2 and r.err.startswith(f"{path}:5:1: TimeZone Europe/Berlin is not installed")
    write_file(dirty.path, ZONE, "TZif2\n")
    warn = write("v.xml", unattend(commands("specialize", "echo > /usr/local/bin/t", "t")))
    r = run("answer", "validate", warn, "--root", dirty.path, "--json")
    assert r.code == 0, r.err
    (w,) = json.loads(r.out)["warnings"]
    assert "specialize Order 2: t is not in the image" in w
