"""Host and account names: one rule, the one hostname(7) and useradd apply."""

from __future__ import annotations

import pytest

from sysprep.answer.schema import check_hostname
from sysprep.rules.names import HOST_NAME_MAX, hostname_problem, valid_account, valid_hostname
from sysprep.ui import choices


@pytest.mark.parametrize(
    "name", ["web-01", "a", "x" * 63, "db.example.com", "1host", "a" * 31 + "." + "a" * 32]
)
def test_valid_host_names(name):
    assert len(name) <= HOST_NAME_MAX and valid_hostname(name), name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-web",
        "web-",
        "we_b",
        "a..b",
        ".a",
        "a.",
        "x" * 64,
        "a" * 63 + "." + "b" * 10,
        "héte",
        "a b",
    ],
)
def test_invalid_host_names(name):
    assert not valid_hostname(name), name


def test_a_host_name_is_at_most_64_characters_everywhere():
    long = "a" * 40 + "." + "b" * 30  # every label fits: only the whole is too long
    assert "71 characters; at most 64" in (check_hostname(long) or "")
    assert choices.hostname_problem(long) is not None  # the welcome (and the settings code)
    assert hostname_problem("a" * 32 + "." + "b" * 31) is None


@pytest.mark.parametrize("name", ["alice", "_svc", "a-b_c9", "a" * 32])
def test_valid_account_names(name):
    assert valid_account(name)


@pytest.mark.parametrize(
    "name", ["", "Alice", "9lives", "-x", "a" * 33, "a b", "a:b", "machine$", "ünï"]
)
def test_invalid_account_names(name):
    assert not valid_account(name)
