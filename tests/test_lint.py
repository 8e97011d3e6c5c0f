"""ruff and mypy (target Python 3.9) are part of the test suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def test_ruff_is_clean():
    p = subprocess.run([tool("ruff"), "check", "src", "tests", "benchmarks", "--output-format", "concise"],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.slow  # mypy strict of the whole package: a CPU-minute without its cache
def test_mypy_is_clean():
    p = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
