"""Build step of the wheel (and of the Debian package, built from the wheel): the man page and
the bash, zsh and fish completions are generated from the option table (cli.OPTIONS) and
installed as data files under the prefix, where man(1) and the shells look for them (a venv's
share/man is on man's path; pipx links share/man/man8 into ~/.local/share/man)."""

from __future__ import annotations

import os
import subprocess
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join("build", "generated")

# The generator runs from this source tree in a child process, so that the sysprep being built
# (not one installed in the build environment) writes the files.
_GENERATE = """
import os, sys
sys.path.insert(0, sys.argv[2])
from sysprep.docs import INSTALLED
for rel, make in INSTALLED.items():
    path = os.path.join(sys.argv[1], rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(make())
    print(rel)
"""


def generated() -> list[tuple[str, list[str]]]:
    # the source tree goes first on sys.path in the child itself: pip's isolated build
    # environment rewrites sys.path (its sitecustomize), so PYTHONPATH would not do
    out = subprocess.run([sys.executable, "-c", _GENERATE, os.path.join(HERE, OUT),
                          os.path.join(HERE, "src")],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.split()
    return [(os.path.dirname(rel), [os.path.join(OUT, rel)]) for rel in out]


setup(data_files=generated(), license="MIT")
