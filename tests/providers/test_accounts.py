"""user-account: which accounts go, what is edited, what stays."""

from __future__ import annotations

import os
import stat

from tests.providers.conftest import apply


def lines(root: str, rel: str) -> list[str]:
    with open(os.path.join(root, rel)) as f:
        return f.read().splitlines()


def names(root: str, rel: str) -> set[str]:
    return {line.split(":")[0] for line in lines(root, rel)}


def add_account(root: str, name: str, uid: int, home: str, groups: tuple[str, ...] = ()) -> None:
    with open(f"{root}/etc/passwd", "a") as f:
        f.write(f"{name}:x:{uid}:{uid}::{home}:/bin/bash\n")
    with open(f"{root}/etc/shadow", "a") as f:
        f.write(f"{name}:!:19700::::::\n")
    with open(f"{root}/etc/group", "a") as f:
        f.write(f"{name}:x:{uid}:\n")


def test_users_in_the_uid_range_go_system_accounts_stay(dirty):
    root = dirty.path
    with open(f"{root}/etc/group") as f:
        group = f.read().replace("sudo:x:27:", "sudo:x:27:alice,bob")
    with open(f"{root}/etc/group", "w") as f:
        f.write(group)
    with open(f"{root}/etc/subuid", "w") as f:
        f.write("alice:100000:65536\nbob:165536:65536\n")
    done = apply(root, "user-account")
    assert not done.errors
    assert names(root, "etc/passwd") == {"root", "daemon", "www-data", "sshd"}
    assert names(root, "etc/shadow") == {"root", "daemon", "www-data", "sshd"}
    assert names(root, "etc/group") == {"root", "daemon", "sudo", "www-data", "users"}
    assert names(root, "etc/gshadow") == {"root", "daemon", "sudo", "www-data", "users"}
    assert "sudo:x:27:" in lines(root, "etc/group")
    assert lines(root, "etc/subuid") == []
    for gone in ("home/alice", "home/bob", "var/mail/alice", "var/mail/bob"):
        assert not os.path.lexists(f"{root}/{gone}")
    assert os.path.isdir(f"{root}/home") and os.path.exists(f"{root}/root/.bashrc")
    st = os.stat(f"{root}/etc/shadow")  # replaced atomically, owner and mode kept
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, 42)


def test_uid_range_comes_from_login_defs(dirty):
    with open(f"{dirty.path}/etc/login.defs", "w") as f:
        f.write("# comment\nUID_MIN\t\t 1001\nUID_MAX 60000\n")
    apply(dirty.path, "user-account")
    assert "alice" in names(dirty.path, "etc/passwd") and os.path.isdir(f"{dirty.path}/home/alice")
    assert "bob" not in names(dirty.path, "etc/passwd")


def test_keep_and_remove_options(dirty, flavoured):
    apply(dirty.path, "user-account", options={"keep-user-accounts": ("alice",)})
    assert {"alice"} <= names(dirty.path, "etc/passwd") and "bob" not in names(
        dirty.path, "etc/passwd"
    )
    assert os.path.isdir(f"{dirty.path}/home/alice") and not os.path.exists(
        f"{dirty.path}/home/bob"
    )
    other = flavoured(users=("alice", "bob", "carol"))
    apply(
        other.path, "user-account", options={"remove-user-accounts": ("bob,carol", "nobody-here")}
    )
    assert names(other.path, "etc/passwd") >= {"alice"} and not names(other.path, "etc/passwd") & {
        "bob",
        "carol",
    }
    # keep wins over remove, as in virt-sysprep
    third = flavoured()
    apply(
        third.path,
        "user-account",
        options={"remove-user-accounts": ("alice",), "keep-user-accounts": ("alice",)},
    )
    assert "alice" in names(third.path, "etc/passwd")


def test_homes_that_are_system_folders_or_lead_out_are_not_removed(dirty, outside):
    root = dirty.path
    add_account(root, "web", 1500, "/var/www")
    os.makedirs(f"{root}/var/www/html", exist_ok=True)
    add_account(root, "eve", 1501, "/home/eve")
    os.symlink("/etc", f"{root}/home/eve")  # resolves to the root's own /etc
    add_account(root, "mallory", 1502, str(outside))  # a host path: not inside the root
    apply(root, "user-account")
    assert os.path.isdir(f"{root}/var/www/html") and os.path.isfile(f"{root}/etc/passwd")
    assert (outside / "canary").read_text() == "canary\n"
    assert not names(root, "etc/passwd") & {"web", "eve", "mallory"}


def test_a_home_shared_with_a_kept_account_stays(dirty):
    add_account(dirty.path, "alice2", 1600, "/home/alice")
    apply(dirty.path, "user-account", options={"keep-user-accounts": ("alice2",)})
    assert os.path.isdir(f"{dirty.path}/home/alice")
    assert "alice" not in names(dirty.path, "etc/passwd")


def test_a_group_still_used_by_a_kept_account_stays(dirty):
    with open(f"{dirty.path}/etc/passwd", "a") as f:
        f.write("carol:x:1700:1000::/home/carol:/bin/sh\n")  # primary group alice (1000)
    apply(dirty.path, "user-account", options={"keep-user-accounts": ("carol",)})
    assert "alice" in names(dirty.path, "etc/group")
