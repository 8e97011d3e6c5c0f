"""The UIs run from the runtime bundle on the oldest and newest supported Pythons: textual
and everything it imports are vendored, at versions that still run on 3.9."""

from __future__ import annotations

import subprocess

import pytest

from tests.test_python_versions import interpreters

DRIVER = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from sysprep.ui import dialog, audit
from textual.widgets import Markdown  # the vendored markdown stack imports too

async def main():
    app = dialog.make_app("/x", True, ["--root", "/x"], console=True)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("down", "tab", "space", "enter")
    print(" ".join(app.return_value.argv()))

asyncio.run(main())
"""


@pytest.mark.slow  # the bundle under other Pythons: a process each
@pytest.mark.parametrize(
    "python", interpreters() or [pytest.param("none", marks=pytest.mark.skip("no 3.9/3.13 here"))]
)
def test_dialog_runs_from_the_bundle(python, tmp_path):
    from sysprep.firstboot import bundle

    pyz = tmp_path / "sysprep.pyz"
    pyz.write_bytes(bundle.build())
    p = subprocess.run(
        [python, "-I", "-c", DRIVER, str(pyz)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip() == "--generalize --audit --quit"
