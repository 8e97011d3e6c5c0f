"""`sysprep --generalize / --oobe / --audit`: the seed's Sysprep process on one target.

1. verify it can run (root, lock, release), 2. logging (started by the caller), 3. the
request was parsed by the caller, 4. run each provider of the phases in order, logging every
action, 5. only when all finished, record the new image state; then quit, reboot or shut down.
Everything the request names is validated before the first change.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Sequence

from sysprep.errors import RunError, SysprepError
from sysprep.log import PANTHER, RunLog
from sysprep.passes import preflight, state
from sysprep.passes.report import ProviderResult, Report
from sysprep.passes.state import ImageState, State
from sysprep.providers import external
from sysprep.providers.base import ACTIVATION, HARDWARE, IMAGE, Context, Phase, Provider, Settings
from sysprep.providers.registry import Registry
from sysprep.request import Power, Request, Reseal
from sysprep.run import run
from sysprep.target import Target, open_target
from sysprep.target.confined import Refused
from sysprep.target.sandbox import bwrap

GENERALIZE_PASSES = {Reseal.OOBE: ("specialize", "oobeSystem"),
                     Reseal.AUDIT: ("specialize", "auditSystem", "auditUser")}
RESEAL_PASSES = {Reseal.OOBE: ("oobeSystem",), Reseal.AUDIT: ("auditSystem", "auditUser")}


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

    @property
    def action(self) -> str:
        what = "generalize, " if Phase.GENERALIZE in self.phases else "cleanup, "
        return f"{what}reseal to {self.reseal.value.upper()} ({self.final.value})"


# Hooks later stages plug into, so that this module does not reach up the chain:
# answer-file loading (returns settings overrides) and the boot-time installation.
AnswerLoader = Callable[[Request, Target, RunLog], "dict[str, object]"]
BootInstaller = Callable[[Target, Plan, RunLog], None]
answer_loader: AnswerLoader | None = None
boot_installer: BootInstaller | None = None


def make_plan(req: Request, target: Target, registry: Registry, extra: dict[str, object]) -> Plan:
    chosen_reseal = req.reseal or extra.get("reseal") or Reseal.OOBE
    assert isinstance(chosen_reseal, Reseal)
    reseal: Reseal = chosen_reseal
    phases = (Phase.CLEANUP, Phase.GENERALIZE) if req.generalize else (Phase.CLEANUP,)
    options: dict[str, tuple[str, ...]] = {}
    for key, value in req.options:
        options[key] = (*options.get(key, ()), value)
    settings = Settings(
        persist_devices=req.mode_vm or bool(extra.get("persist_devices", False)),
        mode_vm=req.mode_vm,
        skip_rearm=bool(extra.get("skip_rearm", False)),
        options=options,
        answer=extra.get("answer"),
    )
    chosen = registry.select(req.selection, phases)
    run_list, skipped = [], []
    for p in chosen:
        if HARDWARE in p.tags and settings.persist_devices:
            skipped.append((p, "devices persisted (PersistAllDeviceInstalls or /mode:vm)"))
        elif ACTIVATION in p.tags and settings.skip_rearm:
            skipped.append((p, "SkipRearm"))
        elif IMAGE in p.tags and target.image is None:
            skipped.append((p, "acts only on disk images (--image)"))
        else:
            run_list.append(p)
    if req.generalize:
        final = ImageState.GENERALIZE_RESEAL_TO_OOBE if reseal is Reseal.OOBE else ImageState.GENERALIZE_RESEAL_TO_AUDIT
        pending = GENERALIZE_PASSES[reseal]
    else:
        final = ImageState.SPECIALIZE_RESEAL_TO_OOBE if reseal is Reseal.OOBE else ImageState.SPECIALIZE_RESEAL_TO_AUDIT
        pending = RESEAL_PASSES[reseal]
    return Plan(phases, tuple(run_list), tuple(skipped), settings, reseal, final, pending)


def prepare(req: Request, log: RunLog) -> Report:
    preflight.require_root()
    with open_target(req.target, dry_run=req.dry_run) as target:
        registry = Registry.load(extra=external.discover(target.fs))
        extra = answer_loader(req, target, log) if answer_loader else {}
        plan = make_plan(req, target, registry, extra)
        if not req.dry_run and not target.live and any(p.source.startswith("target ") for p in plan.providers):
            bwrap()  # the image's own providers need the sandbox: fail now, not half-way
        preflight.check_release(target, log)  # validation done: from here on, changes
        try:
            return _execute(req, target, plan, log)
        finally:
            if target.image is not None:
                log.close()  # the log files are in the image: let it be unmounted


def _execute(req: Request, target: Target, plan: Plan, log: RunLog) -> Report:
    fs = target.fs
    report = Report(target=req.target.describe(), dry_run=req.dry_run, action=plan.action)
    if fs.exists(state.STATE_DIR):
        fs.protect(state.STATE_DIR)
    if not req.dry_run:
        fs.mkdir(state.STATE_DIR, 0o755)
        fs.protect(state.STATE_DIR)
        log.attach(fs, PANTHER, journal=target.live)
        report.log_folder = ("/" if target.live else fs.host_path + "/") + PANTHER
    for rel, why in fs.skipped_mounts:
        log.info(f"not entering /{rel}: {why}")
    for note in target.notes:
        log.warning(note)
    log.info(f"sysprep {plan.action} on {req.target.describe()}"
             f"{' (dry run)' if req.dry_run else ''}; release {target.os_release.key if target.os_release else '?'}")
    running = "generalize" if Phase.GENERALIZE in plan.phases else "cleanup"
    previous = state.read(fs)
    state.write(fs, State(ImageState.UNDEPLOYABLE, running=running,
                          persist_devices=plan.settings.persist_devices, mode_vm=plan.settings.mode_vm))
    failed = run_providers(target, plan.providers, plan.settings, log, report, dry_run=req.dry_run)
    for p, why in plan.skipped:
        report.providers.append(ProviderResult(p.name, p.heading, p.phase.value, "skipped", note=why))
        log.info(f"skipped: {why}", p.name)
    if failed is None and target.image is not None:
        target.image.finalize(log)
    if failed is None and boot_installer is not None:
        try:
            boot_installer(target, plan, log)
        except (SysprepError, OSError, Refused) as e:
            failed = f"installing the boot-time passes failed: {e}"
            log.error(failed)
    report.warnings, report.errors = log.warnings, log.errors
    if failed is not None:
        state.write(fs, State(ImageState.UNDEPLOYABLE, running=running, last_error=failed,
                              persist_devices=plan.settings.persist_devices, mode_vm=plan.settings.mode_vm))
        report.image_state = ImageState.UNDEPLOYABLE.value
        return report
    final = State(plan.final, pending=plan.pending, persist_devices=plan.settings.persist_devices,
                  mode_vm=plan.settings.mode_vm)
    state.write(fs, final)
    if req.dry_run:
        now = previous.image_state.value if previous else "none (sysprep has not run here)"
        report.image_state = f"{now}; would become {plan.final.value}"
    else:
        report.image_state = plan.final.value
    if req.dry_run:
        report.plan = log.take_records()
    else:
        log.step(f"image state is now {plan.final.value}")
        os.sync()
    return report


def run_providers(target: Target, providers: Sequence[Provider], settings: Settings, log: RunLog,
                  report: Report, *, dry_run: bool) -> str | None:
    """Run providers in order; stops at the first failure and returns its message."""
    for p in providers:
        result = ProviderResult(p.name, p.heading, p.phase.value)
        report.providers.append(result)
        ctx = Context(target, log, p, settings, dry_run=dry_run)
        log.step(p.heading, p.name)
        start = time.monotonic()
        try:
            p.run(ctx)
        except Refused as r:
            ctx.fail(f"refused to touch /{r.path}: {r.reason}")
        except SysprepError as e:
            ctx.fail(str(e))
        except Exception as e:  # a provider's bug must leave the image marked undeployable
            log.info("".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip(), p.name)
            ctx.fail(f"internal error: {type(e).__name__}: {e}")
        result.seconds = round(time.monotonic() - start, 3)
        result.actions, result.files, result.bytes = ctx.actions, ctx.files, ctx.bytes
        result.errors = list(ctx.errors)
        if ctx.errors:
            result.status = "failed"
            return f"{p.name}: {ctx.errors[0]}"
        result.status = "planned" if dry_run else "ok"
    return None


def finish(req: Request, log: RunLog) -> None:
    """Reboot or shut down the live system (after everything was recorded and synced)."""
    if req.power is Power.QUIT or req.target.offline:
        return
    if req.dry_run:
        log.step(f"would {req.power.value} now (dry run)")
        return
    log.step(f"{req.power.value} now")
    log.close()
    os.sync()
    verb = "reboot" if req.power is Power.REBOOT else "poweroff"
    try:
        run(["systemctl", verb], timeout=60)
    except RunError as e:
        raise RunError(f"everything is recorded, but {verb} failed: {e}") from None
