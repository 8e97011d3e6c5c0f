"""The screenshot script runs and writes an SVG of each UI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow  # runs the three textual apps headless
def test_screenshot_script_writes_the_three_uis(tmp_path):
    p = subprocess.run(
        [sys.executable, os.path.join(ROOT, "docs/screenshots/make.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    names = sorted(os.listdir(tmp_path))
    assert names == [
        "auditui.svg",
        "dialog.svg",
        "welcome-account.svg",
        "welcome-language.svg",
        "welcome-time-zone.svg",
    ]
    dialog = (tmp_path / "dialog.svg").read_text()
    assert dialog.startswith("<svg") and "Cleanup" in dialog
    assert "hardware" in (tmp_path / "auditui.svg").read_text()
