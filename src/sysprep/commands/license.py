"""sysprep license: license type, registrations found and rearms left (the seed's slmgr /dlv)."""

from __future__ import annotations

import argparse
import json

from sysprep import cli, schemas
from sysprep.answer import cache
from sysprep.errors import SysprepError
from sysprep.passes import rearm
from sysprep.providers import external
from sysprep.providers.base import ACTIVATION
from sysprep.providers.registry import Registry
from sysprep.target import Target, open_target_readonly


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument("--json", action="store_true", help="print it as JSON")


def registrations(target: Target) -> list[dict[str, str | list[str]]]:
    """For each activation provider, the files of its registration present in the target
    (the paths it declares, read as patterns)."""
    reg = Registry.load(extra=external.discover(target.fs))
    found: list[dict[str, str | list[str]]] = []
    for p in reg.providers:
        if ACTIVATION not in p.tags:
            continue
        files: list[str] = []
        for declared in p.paths:
            pattern = declared.split()[0].lstrip("/") if declared.strip() else ""
            if pattern:
                files.extend("/" + f for f in target.fs.glob(pattern) if target.fs.is_file(f))
        if files:
            found.append({"provider": p.name, "heading": p.heading, "files": sorted(set(files))})
    return found


def run(ns: argparse.Namespace, name: str) -> int:
    spec = cli.target_from(ns)
    with open_target_readonly(spec) as target:
        lic = rearm.read(target.fs)
        skip: bool | None = None
        note = ""
        try:
            found = cache.read(target.fs)
            if found is not None:
                lic = rearm.for_run(target.fs, found)
                skip = found.skip_rearm("generalize")
        except SysprepError as e:  # a broken cache must not hide the counter
            note = f"the cached answer file is not valid: {e}"
        regs = registrations(target)
    remaining = lic.remaining
    info: dict[str, object] = {
        "schema_version": schemas.VERSION,
        "license_type": lic.license_type.value, "activated": lic.activated,
        "rearms": lic.rearms, "remaining_rearms": "unlimited" if remaining is None else remaining,
        "last_rearm": lic.last_rearm, "skip_rearm": skip, "registrations": regs,
    }
    if note:
        info["note"] = note
    if ns.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"License type:        {lic.describe()}")
    print(f"Rearms counted:      {lic.rearms}" + (f" (last {lic.last_rearm})" if lic.last_rearm else ""))
    print(f"Remaining rearms:    {'unlimited' if remaining is None else remaining}")
    if skip is not None:
        print("Next /generalize:    " + ("keeps the registrations (SkipRearm=1 in the cached "
                                          "answer file)" if skip else "rearms"))
    if note:
        print(f"Note:                {note}")
    if not regs:
        print("Registrations found: none")
    else:
        print("Registrations found:")
        for r in regs:
            print(f"  {r['provider']}: {', '.join(r['files'])}")
    return 0
