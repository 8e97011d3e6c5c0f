"""sysprep providers [NAME] and --list-operations: what each provider does."""

from __future__ import annotations

import argparse
import json
import textwrap

from sysprep import cli, schemas, text
from sysprep.errors import UsageError
from sysprep.providers import external
from sysprep.providers.base import Provider
from sysprep.providers.registry import Registry
from sysprep.request import TargetSpec


def registry_for(spec: TargetSpec | None) -> Registry:
    """Built-in and entry-point providers, plus those installed in the target when one is named."""
    if spec is None:
        return Registry.load()
    from sysprep.target import open_target_readonly

    with open_target_readonly(spec) as target:
        return Registry.load(extra=external.discover(target.fs))


def list_operations(spec: TargetSpec | None, *, as_json: bool = False) -> int:
    reg = registry_for(spec)
    if as_json:
        return _print_list(reg)
    width = text.columns()
    for p in sorted(reg.providers, key=lambda p: p.name):  # virt-sysprep's format, for scripts
        print(text.fit(f"{p.name} {'*' if p.default else ' '} {p.heading}", width))
    return 0


def _print_list(reg: Registry) -> int:
    """The providers as one JSON document (schema: providers)."""
    print(
        json.dumps(
            {"schema_version": schemas.VERSION, "providers": [_info(p) for p in reg.providers]},
            indent=2,
        )
    )
    return 0


def _info(p: Provider) -> dict[str, object]:
    return {
        "name": p.name,
        "heading": p.heading,
        "description": p.description,
        "phase": p.phase.value,
        "default": p.default,
        "tags": sorted(p.tags),
        "paths": list(p.paths),
        "limits": p.limits,
        "source": p.source,
        "options": list(p.options),
    }


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument(
        "words",
        nargs="*",
        metavar="[list | show NAME | NAME]",
        help="list the providers (the default), or show one in full: its description, "
        "the paths it touches and its known limits",
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    cli.add_target_options(p, images=False)


def _which(words: list[str]) -> str | None:
    """`providers`, `providers list` -> None; `providers show NAME`, `providers NAME` -> NAME."""
    if not words or words == ["list"]:
        return None
    if words[0] == "show" and len(words) == 2:
        return words[1]
    if len(words) == 1 and words[0] != "show":
        return words[0]
    raise UsageError("usage: sysprep providers [list | show NAME] (see sysprep providers --help)")


def run(ns: argparse.Namespace, name: str) -> int:
    wanted = _which(ns.words)
    spec = cli.target_from(ns) if ns.root else None
    reg = registry_for(spec)
    if wanted is None:
        if ns.json:
            return _print_list(reg)
        rows = [("NAME", "ON", "PHASE", "TAGS", "HEADING")]  # ON: runs by default
        rows += [
            (
                p.name,
                "yes" if p.default else "no",
                p.phase.value,
                ",".join(sorted(p.tags)) or "-",
                p.heading,
            )
            for p in reg.providers
        ]
        for line in text.table(rows):  # the headings wrap; the whole record is in --json
            print(line)
        return 0
    p = reg.get(wanted)
    if ns.json:
        print(json.dumps({"schema_version": schemas.VERSION, **_info(p)}, indent=2))
        return 0
    width = min(text.columns(), 80) - 2
    print(textwrap.fill(f"{p.name} - {p.heading}", width) + "\n")
    print(textwrap.fill(p.description, width) + "\n")
    print(f"phase:    {p.phase.value}")
    print(f"default:  {'on' if p.default else 'off'}")
    if p.tags:
        print(f"tags:     {', '.join(sorted(p.tags))}")
    if p.options:
        print(f"options:  {', '.join('--' + o for o in p.options)}")
    print(f"source:   {p.source}")
    if p.paths:
        print("touches:")
        for path in p.paths:
            print(f"  {path}")
    if p.limits:
        print("limits:")
        print(textwrap.indent(textwrap.fill(p.limits, width - 2), "  "))
    return 0
