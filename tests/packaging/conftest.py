"""Packages built once per session by the project's own script (scripts/package), and a
fresh Debian 12 root (the cached debootstrap tarball) with the network, for apt."""

from __future__ import annotations

import os
import subprocess

import pytest

from sysprep.testing.files import chroot_argv
from tests.integration.conftest import debian_tarball, extract  # noqa: F401 (a fixture)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def package(what: str) -> str:
    """`scripts/package WHAT`: the path of what it built (its last line)."""
    p = subprocess.run(
        [os.path.join(TOP, "scripts", "package"), what], capture_output=True, text=True
    )
    if p.returncode != 0:
        pytest.fail(f"scripts/package {what} failed:\n{p.stderr[-4000:]}")
    return p.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def deb() -> str:
    return package("deb")


def in_chroot(root: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a program of the root in a bubblewrap sandbox whose / is the root, with the host's
    network and resolver (apt fetches the package's dependencies from Debian)."""
    cmd = [*chroot_argv(root, network=True, env={"DEBIAN_FRONTEND": "noninteractive"}), *argv]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        pytest.fail(
            f"{' '.join(argv)} (exit {p.returncode}) in {root}:\n{p.stdout[-3000:]}\n"
            f"{p.stderr[-3000:]}"
        )
    return p
