"""What a host name and an account name may be."""

from __future__ import annotations

import re

# hostname(7) and systemd: a static host name is at most 64 characters (HOST_NAME_MAX), made
# of dot-separated labels of 1 to 63 letters, digits and '-', no '-' at either end (RFC 1123).
HOST_NAME_MAX = 64
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

# useradd's default rule (shadow-utils, Debian's adduser NAME_REGEX): lower case, digits,
# '_' and '-', not starting with a digit or '-', at most 32 characters. Groups alike.
ACCOUNT = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def hostname_problem(name: str) -> str | None:
    """Why `name` is no valid static host name, or None."""
    if not name:
        return "a host name cannot be empty"
    if len(name) > HOST_NAME_MAX:
        return f"host name is {len(name)} characters; at most {HOST_NAME_MAX}"
    if not all(_LABEL.match(label) for label in name.split(".")):
        return "not a host name: letters, digits and '-' (not at either end), dot-separated"
    return None


def valid_hostname(name: str) -> bool:
    return hostname_problem(name) is None


def valid_account(name: str) -> bool:
    """An account (or group) name useradd and groupadd accept."""
    return ACCOUNT.match(name) is not None
