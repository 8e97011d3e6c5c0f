"""The JSON schemas (draft 2020-12) of every machine-readable output: the pipeline contract
(docs/contract.md). Each document names its schema's version in `schema_version`."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

# Raised when a field is removed or changes meaning; adding a field keeps the version.
VERSION = 1

NAMES = (
    "report",
    "state",
    "state-follow",
    "batch",
    "answer-validate",
    "providers",
    "provider",
    "license",
    "answer-show",
    "boot",
    "scan",
    "error",
)


def text(name: str) -> str:
    """The schema as shipped in the package (KeyError for a name it does not have)."""
    if name not in NAMES:
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    data = json.loads(text(name))
    assert isinstance(data, dict)
    return data
