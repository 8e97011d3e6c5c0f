"""sysprep schema [NAME]: the JSON schemas of the machine-readable outputs (docs/contract.md)."""

from __future__ import annotations

import argparse

from sysprep import schemas
from sysprep.errors import UsageError


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="the schema to print (without NAME: the list): " + ", ".join(schemas.NAMES),
    )


def run(ns: argparse.Namespace, name: str) -> int:
    if ns.name is None:
        for n in schemas.NAMES:
            print(n)
        return 0
    try:
        print(schemas.text(ns.name), end="")
    except KeyError:
        raise UsageError(
            f"no schema {ns.name!r}: the schemas are " + ", ".join(schemas.NAMES)
        ) from None
    return 0
