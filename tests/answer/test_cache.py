from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from sysprep.answer import cache, passwords, reader
from sysprep.answer.passwords import DELETED
from sysprep.target.confined import Confined
from tests.answer.conftest import settings, unattend

PLAIN = "Plain-Pass-4711"
WINDOWS = "Windows-Pass-0815"
ROOTPW = "Root-Pass-2342"
CREDS = "Creds-Pass-1234"
JOIN = "Join-Pass-5678"

ACCOUNTS = f"""
      <UserAccounts>
        <AdministratorPassword><Value>{passwords.encode_windows(ROOTPW, "AdministratorPassword")}</Value><PlainText>false</PlainText></AdministratorPassword>
        <LocalAccounts>
          <LocalAccount wcm:action="add"><Name>ops</Name>
            <Password><Value>{PLAIN}</Value><PlainText>true</PlainText></Password></LocalAccount>
          <LocalAccount wcm:action="add"><Name>win</Name>
            <Password><Value>{passwords.encode_windows(WINDOWS)}</Value><PlainText>false</PlainText></Password></LocalAccount>
        </LocalAccounts>
      </UserAccounts>"""
SECRETS_FILE = unattend(
    settings(
        "specialize",
        "Linux-Deployment",
        "<RunSynchronous><RunSynchronousCommand><Order>1</Order><Path>/bin/true</Path>"
        f"<Credentials><Username>ops</Username><Password>{CREDS}</Password></Credentials>"
        "</RunSynchronousCommand></RunSynchronous>",
    ),
    settings(
        "specialize",
        "Microsoft-Windows-UnattendedJoin",
        f"<Identification><Credentials><Domain>corp</Domain><Password>{JOIN}</Password>"
        "<Username>joiner</Username></Credentials></Identification>",
    ).replace('<settings pass="specialize">', '<settings pass="auditSystem">'),
    settings("oobeSystem", "Linux-Shell-Setup", ACCOUNTS),
)
ALL_SECRETS = (PLAIN, WINDOWS, ROOTPW, CREDS, JOIN)


def verify(password: str, hashed: str) -> bool:
    """crypt(password, hash) == hash, with the host's libcrypt."""
    return (
        passwords._Crypt().crypt(password.encode(), hashed.encode(), bytes(65536), 65536)
        == hashed.encode()
    )


@pytest.fixture
def fs(dirty):
    with Confined(dirty.path) as f:
        yield f


def loaded(data: str):
    return reader.parse(data.encode(), "u.xml")[0]


def test_the_cache_is_0600_root_and_holds_hashes_not_passwords(fs, dirty):
    cache.store(fs, loaded(SECRETS_FILE))
    path = os.path.join(dirty.path, cache.CACHE)
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0 and st.st_gid == 0
    data = open(path, "rb").read()
    for secret in ALL_SECRETS:
        assert secret.encode() not in data
        assert passwords.encode_windows(secret).encode() not in data
    found = cache.read(fs)
    assert found is not None and found.cached
    ops, win = found.local_accounts("oobeSystem", lambda p: pytest.fail("hashed again"))
    assert ops.password_hash.startswith("$y$")  # the fixture's login.defs asks for YESCRYPT
    assert verify(PLAIN, ops.password_hash) and verify(WINDOWS, win.password_hash)
    assert verify(ROOTPW, found.administrator_password("oobeSystem", lambda p: ""))
    assert data.count(DELETED.encode()) == 2  # the Credentials and the domain-join password


def test_the_method_follows_the_targets_login_defs(fs, dirty):
    with open(os.path.join(dirty.path, "etc/login.defs"), "w") as f:
        f.write("ENCRYPT_METHOD SHA512\n")
    cache.store(fs, loaded(SECRETS_FILE))
    (ops, _) = cache.read(fs).local_accounts("oobeSystem", str)
    assert ops.password_hash.startswith("$6$") and verify(PLAIN, ops.password_hash)


def test_a_new_answer_file_replaces_the_cache_whatever_its_mode_was(fs, dirty):
    path = os.path.join(dirty.path, cache.CACHE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("old")
    os.chmod(path, 0o666)
    os.chown(path, 1000, 1000)
    cache.store(
        fs,
        loaded(
            unattend(
                settings("specialize", "Linux-Shell-Setup", "<ComputerName>new</ComputerName>")
            )
        ),
    )
    st = os.stat(path)
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, 0)
    assert cache.read(fs).computer_name() == "new"


def test_scrub_deletes_the_passwords_of_the_pass_that_used_them(fs, dirty):
    cache.store(fs, loaded(SECRETS_FILE))
    assert cache.scrub_secrets(fs, "specialize") == 0  # only deleted ones there already
    assert cache.scrub_secrets(fs, "oobeSystem") == 3
    data = open(os.path.join(dirty.path, cache.CACHE), "rb").read()
    assert b"$y$" not in data and data.count(DELETED.encode()) == 5
    answer = cache.read(fs)
    assert [a.password_hash for a in answer.local_accounts("oobeSystem", str)] == [None, None]
    assert cache.scrub_secrets(fs, "oobeSystem") == 0
    assert stat.S_IMODE(os.stat(os.path.join(dirty.path, cache.CACHE)).st_mode) == 0o600


def test_the_implicit_search_order(fs, dirty):
    assert cache.find(fs, live=False) is None
    etc = os.path.join(dirty.path, "etc/sysprep")
    os.makedirs(etc)
    with open(f"{etc}/unattend.yaml", "w") as f:
        f.write("specialize:\n  Linux-Shell-Setup:\n    ComputerName: from-yaml\n")
    assert cache.find(fs, live=False).computer_name() == "from-yaml"
    with open(f"{etc}/unattend.xml", "w") as f:
        f.write(
            unattend(
                settings("specialize", "Linux-Shell-Setup", "<ComputerName>from-xml</ComputerName>")
            )
        )
    found = cache.find(fs, live=False)
    assert (
        found.computer_name() == "from-xml"
        and found.source.endswith("etc/sysprep/unattend.xml")
        and found.origin == "image"
    )
    cache.store(
        fs,
        loaded(
            unattend(
                settings("specialize", "Linux-Shell-Setup", "<ComputerName>cached</ComputerName>")
            )
        ),
    )
    assert cache.find(fs, live=False).computer_name() == "cached"


def test_an_answer_found_in_a_target_hashes_as_that_target_asks(fs, dirty):
    etc = os.path.join(dirty.path, "etc/sysprep")
    os.makedirs(etc)
    with open(f"{etc}/unattend.xml", "w") as f:
        f.write(SECRETS_FILE)
    found = cache.find(fs, live=False)
    ops, win = found.local_accounts("oobeSystem")  # as the boot-time passes call it
    assert ops.password_hash.startswith("$y$") and verify(PLAIN, ops.password_hash)
    assert verify(WINDOWS, win.password_hash)
    from sysprep import answer

    loose, _ = answer.parse(SECRETS_FILE.encode(), "u.xml")  # no target: SHA-512
    assert loose.local_accounts("oobeSystem")[0].password_hash.startswith("$6$")


def test_a_broken_cache_is_reported_at_its_place(fs, dirty):
    path = os.path.join(dirty.path, cache.CACHE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("<unattend>")
    from sysprep.errors import UsageError

    with pytest.raises(UsageError, match=rf"^{path}:1:11: not well-formed XML"):
        cache.read(fs)


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("mkfs.ext4"),
    reason="needs root, mkfs.ext4 and loop devices",
)
def test_an_answer_file_on_a_medium_labelled_sysprep(tmp_path):
    src = tmp_path / "medium"
    src.mkdir()
    (src / "unattend.yaml").write_text("specialize:\n  Linux-Shell-Setup:\n    ComputerName: usb\n")
    img = tmp_path / "medium.img"
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", cache.MEDIUM_LABEL, "-d", str(src), str(img), "4M"],
        check=True,
    )
    found = cache.from_medium(str(img))
    assert found is not None and found.computer_name() == "usb"
    assert found.source == f"{img}:/unattend.yaml" and found.origin == "medium"
    assert not any(
        str(tmp_path) in line or "sysprep-medium" in line for line in open("/proc/self/mounts")
    )
