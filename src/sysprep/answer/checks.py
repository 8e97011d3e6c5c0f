"""The checks of single answer-file values (host names, accounts, groups, time zones,
locales, keymaps, password hashes, command lines, key lines): value -> an error message, or
None when the value is fine. The setting table (answer/schema.py) names one per setting."""

from __future__ import annotations

import re

from sysprep.answer import locales, passwords, timezones
from sysprep.rules import names

RANDOM_NAME = "*"  # ComputerName: a generated name


def check_hostname(value: str) -> str | None:
    text = value.strip()
    if text == RANDOM_NAME:
        return None
    return names.hostname_problem(text)


def check_time_zone(value: str) -> str | None:
    try:
        timezones.to_iana(value)
    except ValueError as e:
        return str(e)
    return None


def check_locale(value: str) -> str | None:
    try:
        locales.to_linux_locale(value)
    except ValueError as e:
        return str(e)
    return None


def check_keymap(value: str) -> str | None:
    try:
        locales.to_keymap(value)
    except ValueError as e:
        return str(e)
    return None


def check_account(value: str) -> str | None:
    if not names.valid_account(value.strip()):
        return (
            "not a Linux account name: lower-case letters, digits, '_' and '-', starting "
            "with a letter or '_', at most 32"
        )
    return None


def check_groups(value: str) -> str | None:
    for g in split_groups(value):
        if g not in WINDOWS_GROUPS and not names.valid_account(g):
            return f"{g!r} is not a Linux group name"
    return None


def check_hash(value: str) -> str | None:
    text = value.strip()
    if (
        text == passwords.DELETED
        or passwords.CRYPT_HASH.match(text)
        or passwords.LOCKED.match(text)
    ):
        return None
    return "not a crypt(3) hash ($y$..., $6$..., or ! / * for a locked password)"


def check_absolute(value: str) -> str | None:
    return None if value.strip().startswith("/") else "must be an absolute path in the image"


def check_not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


# The kernel refuses one argument longer than this (MAX_ARG_STRLEN, the NUL included) with
# E2BIG; a command line is one argument of `/bin/sh -c`.
MAX_ARGUMENT = 32 * 4096


def check_command_line(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    size = len(value.encode("utf-8", "surrogatepass")) + 1
    if size > MAX_ARGUMENT:
        return (
            f"the command line is {size - 1} bytes; the kernel runs at most "
            f"{MAX_ARGUMENT - 1} in one argument of /bin/sh -c"
        )
    return None


# useradd refuses ':' and a newline in a comment, chfn also ',' and '=' (',' separates the
# GECOS fields: the rest would become the room number); a control character breaks the line
# of /etc/passwd it ends up in.
_GECOS_BAD = re.compile(r"[:,=\x00-\x1f\x7f]")


def check_full_name(value: str) -> str | None:
    m = _GECOS_BAD.search(value.strip())
    if m is None:
        return None
    what = (
        repr(m.group())
        if m.group().isprintable()
        else f"the control character U+{ord(m.group()):04X}"
    )
    return f"a full name cannot hold {what} (useradd and chfn refuse ':', ',', '=' and control characters)"


def check_key_line(value: str) -> str | None:
    if re.search(r"[\r\n]", value.strip()):
        return (
            "one key per AuthorizedKey: a line break would make it several lines of authorized_keys"
        )
    return None


# Windows group names with a Linux meaning (LocalAccount/Group).
WINDOWS_GROUPS = {"Administrators": "", "Users": "users"}


def split_groups(value: str) -> list[str]:
    return [g.strip() for g in re.split(r"[;,]", value) if g.strip()]


def linux_groups(value: str) -> tuple[str, ...]:
    """The Linux groups a LocalAccount/Group names (Administrators means sudo, no group)."""
    groups = (WINDOWS_GROUPS.get(g, g) for g in split_groups(value))
    return tuple(dict.fromkeys(g for g in groups if g))


# -- the table -----------------------------------------------------------------------------
