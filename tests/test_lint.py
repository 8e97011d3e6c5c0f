"""ruff (lint and format) and mypy (target Python 3.9) are part of the test suite."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def test_ruff_is_clean():
    p = subprocess.run(
        [tool("ruff"), "check", "src", "tests", "benchmarks", "--output-format", "concise"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr


def test_code_is_formatted_by_ruff():
    p = subprocess.run(
        [tool("ruff"), "format", "--check", "src", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, "run: ruff format src tests benchmarks\n" + p.stdout + p.stderr


@pytest.mark.slow  # mypy strict of the whole package: a CPU-minute without its cache
def test_mypy_is_clean():
    p = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


MAX_LINES = 600  # a module one reads in a sitting; split along its seams past that


def test_no_source_module_is_longer_than_600_lines():
    long = []
    for folder, _, files in os.walk(os.path.join(ROOT, "src", "sysprep")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    n = sum(1 for _ in f)
                if n > MAX_LINES:
                    long.append(f"{os.path.relpath(path, ROOT)}: {n} lines")
    assert not long, "split these along their seams: " + ", ".join(long)
