from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")
NS = (
    'xmlns="urn:schemas-microsoft-com:unattend" '
    'xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"'
)


@dataclass
class Proc:
    code: int
    out: str
    err: str


def cli(*argv: str, cwd: str | None = None) -> Proc:
    """The real command line in a child process, as a user runs it."""
    p = subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        timeout=120,
    )
    return Proc(p.returncode, p.stdout, p.stderr)


def unattend(*passes: str) -> str:
    """An unattend.xml around <settings> elements."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<unattend {NS}>\n'
        + "\n".join(passes)
        + "\n</unattend>\n"
    )


def settings(pass_name: str, component: str, body: str) -> str:
    return (
        f'  <settings pass="{pass_name}">\n    <component name="{component}">\n'
        f"{body}\n    </component>\n  </settings>"
    )


@pytest.fixture
def write(tmp_path):
    def _write(name: str, text: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return str(path)

    return _write
