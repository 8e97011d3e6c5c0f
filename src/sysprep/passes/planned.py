"""Identity a clone would share: what the enabled providers would remove or reset.

This is exactly the plan of `sysprep --generalize --dry-run` (the same selection, the same
providers run against the read-only target): no second list of paths to keep in step.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sysprep.log import RunLog
from sysprep.passes.prepare import make_plan, run_providers
from sysprep.passes.report import Report
from sysprep.providers import external
from sysprep.providers.registry import Registry
from sysprep.request import Request, Selection
from sysprep.scan.findings import IDENTITY, Finding, Severity
from sysprep.target import Target

# operations that take something away; a write or a mkdir is planned on every image
_TAKES = ("remove", "clean", "truncate")


@dataclass(frozen=True)
class Planned:
    provider: str
    phase: str
    op: str
    path: str  # relative to the root
    # the operation would take content away (an empty file left by a run, like the empty
    # process accounting log, holds nothing of the template; a name that does is found by
    # the walk)
    something: bool


def planned(target: Target, selection: Selection) -> list[Planned]:
    """Every action the providers of a generalize run would take on this target. Its dry run
    hides what it would remove from later reads of `target`: walk the tree before."""
    req = Request(generalize=True, target=target.spec, dry_run=True, selection=selection)
    registry = Registry.load(extra=external.discover(target.fs))
    plan = make_plan(req, target, registry, {})
    log = RunLog(quiet=True, console=io.StringIO())
    report = Report(target=target.spec.describe(), dry_run=True, action=plan.action)
    phases = {p.name: p.phase.value for p in plan.providers}
    for p in plan.providers:  # one at a time: a provider that fails must not hide the others
        run_providers(target, [p], plan.settings, log, report, dry_run=True)
    out = []
    for rec in log.take_records():
        op, path, name = rec.get("op"), rec.get("path"), rec.get("provider")
        if isinstance(path, str) and isinstance(name, str):
            out.append(
                Planned(
                    name, phases.get(name, ""), str(op), path.lstrip("/"), bool(rec.get("bytes"))
                )
            )
    return out


def owners(items: list[Planned]) -> dict[str, str]:
    """path -> the provider that removes, resets or rewrites it."""
    return {p.path: p.provider for p in items}


def findings(items: list[Planned]) -> list[Finding]:
    out = []
    for p in items:
        if p.op not in _TAKES or not p.something:
            continue
        # generalize-phase state is the identity of the machine; cleanup-phase state (logs,
        # histories, caches) is what a clone would inherit of its past
        severity = Severity.HIGH if p.phase == "generalize" else Severity.MEDIUM
        out.append(
            Finding(
                IDENTITY,
                f"identity.provider.{p.provider}",
                severity,
                "/" + p.path,
                f"the {p.provider} provider would {p.op} it",
                f"removed by the {p.provider} provider",
            )
        )
    return out
