"""Check outputs against the published schemas (docs/contract.md): every test that reads a
--json output reads it through here, so each one also pins the contract."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from sysprep import schemas


def validator(name: str) -> Draft202012Validator:
    schema = schemas.load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(doc: Any, name: str) -> Any:
    """`doc` (a document, or its JSON text) is valid against the schema `name`; returns it."""
    if isinstance(doc, str):
        doc = json.loads(doc)
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, f"not a valid {name} document: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:5]
    )
    if name == "batch":  # each image's own document, as its run printed it
        for image in doc["images"]:
            if image["report"] is not None:
                assert_valid(
                    image["report"],
                    "error"
                    if "error" in image["report"] and isinstance(image["report"]["error"], dict)
                    else "report",
                )
    return doc


def parse(out: str, name: str) -> Any:
    """The one JSON document a --json command printed on stdout, checked against `name`."""
    return assert_valid(json.loads(out), name)
