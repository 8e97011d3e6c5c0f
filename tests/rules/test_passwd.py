"""/etc/passwd and /etc/group: one parser."""

from __future__ import annotations

from sysprep.rules import passwd

TEXT = """root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice A,,,:/home/alice:/bin/zsh
+nisuser::::::
-blocked::::::
broken:x:notanumber:1:x:/home/broken:/bin/sh
short:x:1:1
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
"""


def test_entries_are_the_well_formed_accounts_in_file_order():
    assert [(e.name, e.uid, e.gid, e.home, e.shell) for e in passwd.entries(TEXT)] == [
        ("root", 0, 0, "/root", "/bin/bash"),
        ("alice", 1000, 1000, "/home/alice", "/bin/zsh"),
        ("daemon", 1, 1, "/usr/sbin", "/usr/sbin/nologin"),
    ]


def test_entry_finds_one_account_and_its_gecos():
    e = passwd.entry(TEXT, "alice")
    assert e is not None and e.gecos == "Alice A,,,"
    assert passwd.entry(TEXT, "nisuser") is None and passwd.entry(TEXT, "nobody") is None


def test_names_are_every_name_taken_nis_and_broken_lines_included():
    assert passwd.names(TEXT) == {
        "root",
        "alice",
        "+nisuser",
        "-blocked",
        "broken",
        "short",
        "daemon",
    }
    assert passwd.names("") == set() and passwd.names("no colon here\n") == set()
