"""The layers of docs/architecture.md, enforced: the import-linter contract in pyproject.toml,
which follows imports inside functions (lazy ones) and under TYPE_CHECKING too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import sysprep

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(sysprep.__file__).resolve().parent


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """The contract of pyproject.toml, checked on the sysprep package found in this folder."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--no-cache",
            str(REPO / "pyproject.toml"),
        ],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "sysprep", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "sysprep"


def test_imports_only_point_down_the_layers() -> None:
    result = lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sysprep's layers only point down KEPT" in result.stdout


def test_a_lazy_import_of_a_higher_layer_breaks_the_contract(tmp_path: Path) -> None:
    """The checker sees an import hidden in a function of a low module (the log importing the
    boot engine): the same contract, run on a copy of the package with that one import."""
    copy = copy_package(tmp_path)
    with open(copy / "log.py", "a", encoding="utf-8") as f:
        f.write(
            "\n\ndef _reaches_up() -> None:\n    from sysprep.passes import boot  # noqa: F401\n"
        )
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "sysprep.log is not allowed to import sysprep.passes" in result.stdout
    assert "sysprep.log -> sysprep.passes.boot" in result.stdout
