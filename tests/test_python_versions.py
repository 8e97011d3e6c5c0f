"""The runtime is run by the image's own python3: 3.9 to 3.13 must all work.

Uses the interpreters a development machine has (pyenv); CI checks Debian's own python3 in
the integration tests (the bundle run inside a debootstrapped root).
"""

from __future__ import annotations

import glob
import os
import subprocess

import pytest

from sysprep.testing.dirty_root import build

ANSWER = """<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <settings pass="oobeSystem"><component name="Linux-Shell-Setup"><UserAccounts><LocalAccounts>
    <LocalAccount wcm:action="add"><Name>ops</Name><Password><Value>pw</Value></Password></LocalAccount>
  </LocalAccounts></UserAccounts></component></settings>
</unattend>
"""


def interpreters() -> list[str]:
    found = []
    for minor in (9, 13):
        cands = sorted(
            glob.glob(os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python3.{minor}"))
        )
        cands += [p for p in (f"/usr/bin/python3.{minor}",) if os.path.exists(p)]
        if cands:
            found.append(cands[-1])
    return found


@pytest.mark.slow  # other Pythons: a process each
@pytest.mark.parametrize(
    "python", interpreters() or [pytest.param("none", marks=pytest.mark.skip("no 3.9/3.13 here"))]
)
def test_an_answer_file_under_other_pythons(python, tmp_path):
    """The runtime bundle reads, validates and caches an answer file (defusedxml and PyYAML
    vendored, passwords hashed through the host's libcrypt) on the oldest and newest Python."""
    from sysprep.firstboot import bundle

    root = build(str(tmp_path / "root")).path
    pyz = tmp_path / "sysprep.pyz"
    pyz.write_bytes(bundle.build())
    answer = tmp_path / "u.xml"
    answer.write_text(ANSWER)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    p = subprocess.run(
        [
            python,
            "-I",
            str(pyz),
            "--generalize",
            "--oobe",
            "--root",
            root,
            "--dry-run",
            "--unattend",
            str(answer),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [
            python,
            "-I",
            str(pyz),
            "/generalize",
            "/oobe",
            "--root",
            root,
            "--quiet",
            f"/unattend:{answer}",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert "<Hash>$y$" in open(os.path.join(root, "var/lib/sysprep/unattend.xml")).read()
    assert open(os.path.join(root, "etc/machine-id")).read() == "uninitialized\n"


@pytest.mark.slow  # other Pythons: a process each
@pytest.mark.parametrize(
    "python", interpreters() or [pytest.param("none", marks=pytest.mark.skip("no 3.9/3.13 here"))]
)
def test_the_runtime_bundle_runs_under_other_pythons(python, tmp_path):
    """The zipapp that goes into images, run with nothing but the interpreter."""
    from sysprep.firstboot import bundle

    pyz = tmp_path / "sysprep.pyz"
    pyz.write_bytes(bundle.build())
    root = build(str(tmp_path / "root")).path
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    p = subprocess.run(
        [python, "-I", str(pyz), "--generalize", "--oobe", "--root", root, "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [python, "-I", str(pyz), "boot", "--stage", "specialize", "--root", root],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert (
        "SPECIALIZE_RESEAL_TO_OOBE" in open(os.path.join(root, "var/lib/sysprep/state.ini")).read()
    )
