"""sysprep install: put the sysprep runtime into a target and record its release."""

from __future__ import annotations

import argparse

from sysprep import cli
from sysprep.errors import UsageError
from sysprep.firstboot import bundle
from sysprep.passes import preflight
from sysprep.target import open_target


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="record the target's current release even if another distribution or "
        "major version was recorded (after a release upgrade)",
    )


def run(ns: argparse.Namespace, name: str) -> int:
    preflight.require_root()
    spec = cli.target_from(ns)
    with open_target(spec, dry_run=False) as target:
        recorded = preflight.recorded_release(target)
        rel = target.os_release
        if rel is None:
            raise UsageError(
                f"{spec.describe()}: no os-release; is this the root of a Linux system?"
            )
        if recorded and preflight.change(recorded, rel) is preflight.Change.MAJOR and not ns.force:
            raise UsageError(
                f"sysprep was installed on {recorded[0]} {recorded[1]} but the target "
                f"runs {rel.key}; add --force to record the new release"
            )
        written = bundle.install(target.fs)
        key = preflight.record_release(target)
    for o in written:
        print(f"installed /{o.path}")
    print(f"recorded release {key}")
    return 0
