"""Run providers directly on a fixture root, in-process, and see what they recorded."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sysprep.log import RunLog
from sysprep.providers.base import Context, Settings
from sysprep.providers.registry import Registry
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target
from sysprep.testing.dirty_root import build


@dataclass
class Applied:
    records: list[dict[str, object]]
    errors: list[str]
    warnings: int


def apply(
    root: str,
    *names: str,
    dry_run: bool = False,
    options: dict[str, tuple[str, ...]] | None = None,
    settings: Settings | None = None,
) -> Applied:
    """Run the named providers, in the order given, on `root`; what they recorded."""
    reg = Registry.load()
    log = RunLog(quiet=True, console=open("/dev/null", "w"))
    settings = settings or Settings(options=options or {})
    errors: list[str] = []
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=dry_run) as target:
        for name in names:
            p = reg.get(name)
            ctx = Context(target, log, p, settings, dry_run=dry_run)
            p.perform(ctx)
            for f in p.followups:  # what run_providers does once after the last of a run
                if f in ctx.due:
                    f.run(ctx)
            errors += ctx.errors
    log.console.close()
    return Applied(log.take_records(), errors, log.warnings)


@pytest.fixture
def flavoured(tmp_path):
    """build() for a given flavour, in this test's folder."""
    count = [0]

    def make(flavour: str = "debian", **kw):
        count[0] += 1
        return build(str(tmp_path / f"root{count[0]}"), flavour=flavour, **kw)

    return make
