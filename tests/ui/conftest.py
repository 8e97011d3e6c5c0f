"""Fixture roots for the UIs: a dirty root (with its stand-ins for useradd/chpasswd) with time
zones, locales and license terms, plus crypt(3) through the host's libcrypt for making and
checking password hashes."""

from __future__ import annotations

import asyncio
import ctypes
import os
import secrets
import subprocess

import pytest

from sysprep.testing.dirty_root import DirtyRoot, build, write_file

ZONES = ("UTC", "Europe/Berlin", "Europe/Paris", "America/New_York", "Asia/Tokyo")
LOCALES = ("en_US.UTF-8 UTF-8", "de_DE.UTF-8 UTF-8", "fr_FR.UTF-8 UTF-8", "de_DE ISO-8859-1")
EULA = "ACME Linux license terms\n\n" + "\n".join(
    f"{i}. You may use this software." for i in range(1, 60)
)


def run(coro):
    return asyncio.run(coro)


def welcome_root(path: str, *, eula: bool = True) -> DirtyRoot:
    r = build(path)
    root = r.path
    for z in ZONES:
        write_file(root, f"usr/share/zoneinfo/{z}", "TZif2 fixture\n")
    write_file(
        root,
        "usr/share/zoneinfo/zone1970.tab",
        "".join(f"XX\t+0000+00000\t{z}\n" for z in ZONES if z != "UTC"),
    )
    write_file(root, "usr/share/i18n/SUPPORTED", "\n".join(LOCALES) + "\n")
    write_file(root, "etc/debian_version", "12.0\n")
    write_file(root, "etc/timezone", "UTC\n")
    write_file(root, "etc/default/keyboard", 'XKBMODEL="pc105"\nXKBLAYOUT="us"\n')
    if eula:
        write_file(root, "etc/sysprep/eula.txt", EULA)
    return r


@pytest.fixture
def wroot(tmp_path) -> DirtyRoot:
    if not os.path.exists(os.path.join("/bin", "busybox")) and not os.path.exists(
        "/usr/bin/busybox"
    ):
        pytest.skip("needs busybox for the fixture root's shell")
    return welcome_root(str(tmp_path / "root"))


_lib = ctypes.CDLL("libcrypt.so.1")
_lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_lib.crypt.restype = ctypes.c_char_p


def crypt_hash(password: str) -> str:
    """A SHA-512 crypt hash (what the welcome's hasher makes; the real one follows login.defs)."""
    salt = "$6$" + secrets.token_hex(8)
    return _lib.crypt(password.encode(), salt.encode()).decode()


def verifies(password: str, hashed: str) -> bool:
    out = _lib.crypt(password.encode(), hashed.encode())
    return out is not None and out.decode() == hashed


def shadow_hash(root: str, user: str) -> str | None:
    for line in open(os.path.join(root, "etc/shadow")).read().splitlines():
        f = line.split(":")
        if f[0] == user:
            return f[1]
    return None


def passwd_entry(root: str, user: str) -> list[str] | None:
    for line in open(os.path.join(root, "etc/passwd")).read().splitlines():
        f = line.split(":")
        if f[0] == user:
            return f
    return None


def groups_of(root: str, user: str) -> list[str]:
    out = []
    for line in open(os.path.join(root, "etc/group")).read().splitlines():
        f = line.split(":")
        if len(f) == 4 and user in f[3].split(","):
            out.append(f[0])
    return out


def state_of(root: str) -> str:
    return open(os.path.join(root, "var/lib/sysprep/state.ini")).read()


def sysprep_cli(
    *argv: str, env: dict | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        stdin=None if input is not None else subprocess.DEVNULL,
    )
