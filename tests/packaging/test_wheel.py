"""The wheel, installed as users install it (pip in a fresh venv, pipx): `man sysprep` and the
shell completions work, all generated from the option table when the wheel was built."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from sysprep.docs import INSTALLED
from tests.packaging.conftest import package

pytestmark = pytest.mark.integration

# a PATH without the test venv's bin: man(1) finds pages from the PATH entries (../share/man)
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def wheel() -> str:
    return package("wheel")


def _run(*argv: str, **env: str) -> str:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": SYSTEM_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "LC_ALL": "C.UTF-8",
            **env,
        },
    ).stdout


def test_wheel_carries_the_generated_man_page_and_completions(wheel):
    with zipfile.ZipFile(wheel) as z:
        for rel, make in INSTALLED.items():
            assert z.read(f"sysprep-0.1.0.data/data/{rel}").decode() == make()


def test_wheel_holds_no_test_support_package(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert "sysprep/firstboot/bundle.py" in names
    assert [n for n in names if n.startswith("sysprep/testing/")] == []


def test_pip_install_of_the_wheel_in_a_fresh_venv_gives_man_page_and_fish_completion(
    wheel, tmp_path
):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", wheel], check=True)
    path = f"{venv}/bin:{SYSTEM_PATH}"
    assert _run("man", "-w", "sysprep", PATH=path).strip() == f"{venv}/share/man/man8/sysprep.8"
    assert "--generalize" in _run("man", "-P", "cat", "sysprep", PATH=path)
    # fish reads vendor_completions.d from the share folders in XDG_DATA_DIRS (a fresh HOME:
    # no user configuration)
    got = _run(
        "fish",
        "-c",
        'complete -C "sysprep --gen"',
        PATH=path,
        HOME=str(tmp_path),
        XDG_DATA_DIRS=f"{venv}/share:/usr/share",
    )
    assert got.split("\t")[0] == "--generalize"
    assert _run("sysprep", "--version", PATH=path).strip() == "sysprep 0.1.0"


def test_pipx_install_links_the_man_page(wheel, tmp_path):
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    subprocess.run([str(tools / "bin/pip"), "install", "-q", "pipx"], check=True)
    env = {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    _run(str(tools / "bin/pipx"), "install", wheel, **env)
    link = tmp_path / "man/man8/sysprep.8"
    assert link.is_symlink()
    assert _run("man", "-w", "sysprep", MANPATH=str(tmp_path / "man")).strip() == os.path.realpath(
        link
    )
    assert _run(str(tmp_path / "bin/sysprep"), "--version").strip() == "sysprep 0.1.0"
