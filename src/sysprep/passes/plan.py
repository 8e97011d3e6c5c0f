"""The plan of a sysprep run: what it will do (phases, providers, settings, reseal, the
state it ends in and the passes left for the next boot), decided before anything changes."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from sysprep.answer import customize
from sysprep.answer.model import Answer
from sysprep.answer.overlay import collisions, overlay
from sysprep.answer.passwords import Hasher
from sysprep.answer.types import ResealMode
from sysprep.errors import UsageError
from sysprep.log import RunLog
from sysprep.passes import rearm
from sysprep.passes.state import ImageState, State
from sysprep.providers.base import Phase, Provider, Settings
from sysprep.request import Request, Reseal
from sysprep.target.confined import Confined


@dataclass(frozen=True)
class Plan:
    """What a run will do, decided (and validated) before anything changes."""

    phases: tuple[Phase, ...]
    providers: tuple[Provider, ...]
    skipped: tuple[tuple[Provider, str], ...]
    settings: Settings
    reseal: Reseal
    final: ImageState
    pending: tuple[str, ...]
    runtime: bytes | None = None  # the bundle to install (built while validating)
    cycle: str = ""  # identifies this run in the state until it finishes
    answer: Answer | None = None  # the answer file of the run, validated
    license: rearm.License | None = None  # set when this run rearms
    release_note: str = ""  # how the release record changed (a point release)
    welcome: bool = True  # oobeSystem shows the welcome; False: headless
    boot_passes: bool = True  # False: --no-boot-passes (asked for, or no usable python3)
    notes: tuple[str, ...] = ()  # warnings about how the plan was chosen, logged by the run
    # --generalize whose selection resets no identity (only cleanup operations): the image is
    # not recorded as generalized, and nothing is installed for its next boot
    cleanup_only: bool = False
    kept_state: State | None = None  # cleanup_only: the image's state before, put back at the end

    @property
    def action(self) -> str:
        what = "generalize, " if Phase.GENERALIZE in self.phases else "cleanup, "
        if self.cleanup_only:
            return (
                "cleanup only (no operation of the selection resets the identity: the image "
                "is not recorded as generalized)"
            )
        if not self.boot_passes:
            return f"{what}no boot-time passes ({self.final.value})"
        if self.reseal is Reseal.OOBE and not self.welcome:
            return (
                f"{what}reseal headless ({self.final.value}: the next boot runs "
                f"{' and '.join(self.pending)} unattended, no welcome)"
            )
        return f"{what}reseal to {self.reseal.value.upper()} ({self.final.value})"


BOOT_PASSES = ("specialize", "oobeSystem", "auditSystem", "auditUser")


def boot_passes_needed(answer: Answer | None) -> tuple[str, ...]:
    """The passes of the answer file that only a boot of the clone can run."""
    return () if answer is None else tuple(p for p in answer.passes() if p in BOOT_PASSES)


def no_boot_passes(plan: Plan, note: str = "") -> Plan:
    """The plan without boot-time passes: nothing is pending, so the image is complete as it
    is (its clones get machine-id and SSH host keys from systemd and the key unit)."""
    return replace(
        plan,
        boot_passes=False,
        final=ImageState.COMPLETE,
        pending=(),
        welcome=False,
        notes=(*plan.notes, note) if note else plan.notes,
        settings=replace(plan.settings, boot_passes=False),
    )


def answer_settings(answer: Answer | None) -> dict[str, object]:
    """What the answer file's settings change in the plan of a sysprep run."""
    if answer is None:
        return {}
    extra: dict[str, object] = {"answer": answer, "skip_rearm": answer.skip_rearm("generalize")}
    persist = answer.persist_all_device_installs("generalize")
    if persist is not None:
        extra["persist_devices"] = persist
    # Reseal Mode=Audit in oobeSystem sends the image to audit mode instead of the welcome
    reseal = answer.reseal("oobeSystem")
    if reseal is not None and reseal.mode is ResealMode.AUDIT:
        extra["reseal"] = Reseal.AUDIT
    # an OOBE section that does not skip the machine OOBE asks for the welcome's pages
    oobe = answer.oobe("oobeSystem")
    if oobe is not None and not oobe.skip_machine_oobe:
        extra["welcome"] = True
    return extra


def with_options(req: Request, fs: Confined, answer: Answer | None, log: RunLog) -> Answer | None:
    """The virt-customize spellings compiled into an answer, over the answer file (a setting
    both give is refused: which one was meant cannot be guessed). A random password is shown
    once, on the terminal, and is a secret of the run's log like every other."""
    if not req.customize:
        return answer
    top, shown = customize.answer(
        req.customize, Hasher.for_target(fs), strict=req.strict, after=answer
    )
    if answer is not None and req.unattend is not None:
        both = collisions(answer, top)
        if both:
            raise UsageError(
                f"the answer file {req.unattend} and the command line's options "
                f"both set {', '.join(both)}: give each setting once"
            )
    for line in shown:
        log.add_secret(line.split(": ", 1)[1])
        if not req.dry_run:
            sys.stderr.write(f"sysprep: random password of {line} (shown once, never logged)\n")
    return top if answer is None else overlay(answer, top)
