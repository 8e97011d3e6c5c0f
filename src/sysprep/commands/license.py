"""sysprep license: the registrations found and the rearms counted (the seed's slmgr /dlv).

Linux has no product activation: what a rearm resets are the registrations with
subscription services (Red Hat, SUSE, Ubuntu Pro...), and only those that really exist in
the target are reported.
"""

from __future__ import annotations

import argparse
import json

from sysprep import cli, schemas
from sysprep.answer import cache
from sysprep.errors import SysprepError
from sysprep.log import printable
from sysprep.passes import rearm
from sysprep.providers import external
from sysprep.providers.base import ACTIVATION, Provider
from sysprep.providers.registry import Registry
from sysprep.target import Target, open_target_readonly

ACTIVATION_LINE = "none (Linux has no product activation; a rearm resets the registrations)"


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.description = (
        "Show what a rearm resets and how often the target was rearmed (the seed's slmgr "
        "/dlv). Linux has no product activation: each --generalize rearms by removing the "
        "registrations with subscription services found in the image (Red Hat, SUSE, Ubuntu "
        "Pro, ...) and counts one rearm, unless the answer file sets SkipRearm=1. The count "
        "never blocks a run unless the answer file sets RearmLimit "
        "(Linux-Security-Licensing, generalize pass)."
    )
    cli.add_target_options(p)
    p.add_argument("--json", action="store_true", help="print it as JSON")


def _signs(p: Provider) -> list[str]:
    """The patterns whose files show the provider's registration: its own, else the paths
    it declares (a provider from a third party)."""
    if p.registration:
        return list(p.registration)
    return [d.split()[0].lstrip("/") for d in p.paths if d.strip()]


def registrations(target: Target) -> list[dict[str, str | list[str]]]:
    """For each activation provider, the files of its registration present in the target."""
    reg = Registry.load(extra=external.discover(target.fs))
    found: list[dict[str, str | list[str]]] = []
    for p in reg.providers:
        if ACTIVATION not in p.tags:
            continue
        files = {
            "/" + f
            for pattern in _signs(p)
            for f in target.fs.glob(pattern)
            if target.fs.is_file(f)
        }
        if files:
            found.append({"provider": p.name, "heading": p.heading, "files": sorted(files)})
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
    if lic.unreadable:
        note = (note + "; " if note else "") + f"/{rearm.LICENSE_FILE} is malformed: {lic.problem}"
    remaining = lic.remaining
    info: dict[str, object] = {
        "schema_version": schemas.VERSION,
        "activation": "none",
        "rearms": lic.rearms,
        "last_rearm": lic.last_rearm,
        "rearm_limit": lic.limit,
        "remaining_rearms": "unlimited" if remaining is None else remaining,
        "skip_rearm": skip,
        "registrations": regs,
    }
    if note:
        info["note"] = note
    if ns.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"Activation:          {ACTIVATION_LINE}")
    if not regs:
        print("Registrations found: none")
    else:
        print("Registrations found:")
        for r in regs:
            print(f"  {r['provider']}: {printable(', '.join(r['files']))}")  # the image's names
    print(
        f"Rearms counted:      {lic.rearms}"
        + (f" (last {lic.last_rearm})" if lic.last_rearm else "")
    )
    if lic.limit is None:
        print("Rearm limit:         none (set one with RearmLimit in the answer file)")
    else:
        print(
            f"Rearm limit:         {lic.limit} (RearmLimit of the cached answer file; "
            f"{remaining} left)"
        )
    if skip is not None:
        print(
            "Next /generalize:    "
            + (
                "keeps the registrations (SkipRearm=1 in the cached answer file)"
                if skip
                else "rearms"
            )
        )
    if note:
        print(f"Note:                {printable(note)}")
    return 0
