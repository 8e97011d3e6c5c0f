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
import uuid
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Callable, Sequence

from sysprep.answer import cache as answer_cache
from sysprep.answer import in_image
from sysprep.errors import RunError, SysprepError, UsageError, reason
from sysprep.firstboot import bundle, units
from sysprep.log import PANTHER, RunLog
from sysprep.passes import preflight, progress, rearm, state
from sysprep.passes.checkpoint import checkpoint
from sysprep.passes.followups import Due
from sysprep.passes.injected import (
    boot_passes_provider,
    finish_answer,
    generalize_commands,
    use_answer,
)
from sysprep.passes.plan import (
    Plan,
    answer_settings,
    boot_passes_needed,
    no_boot_passes,
    with_options,
)
from sysprep.passes.report import ProviderResult, Report
from sysprep.passes.state import ImageState, State
from sysprep.passes.steps import STEPS_FILE
from sysprep.providers import external
from sysprep.providers.base import ACTIVATION, HARDWARE, IMAGE, Context, Phase, Provider, Settings
from sysprep.providers.registry import Registry
from sysprep.request import Power, Request, Reseal
from sysprep.run import run
from sysprep.target import Target, open_target
from sysprep.target.confined import Confined, Refused
from sysprep.target.image.cleanup import shielded
from sysprep.target.sandbox import bwrap
from sysprep.target.temps import TempJournal

if TYPE_CHECKING:  # the proof scan is generalize's: the boot engine, which imports this
    from sysprep.scan.tokens import Token  # module for run_providers, does not load it

GENERALIZE_PASSES = {
    Reseal.OOBE: ("specialize", "oobeSystem"),
    Reseal.AUDIT: ("specialize", "auditSystem", "auditUser"),
}
# the temp files a run makes, for a rerun after a crash to remove (target.temps)
TEMP_FILES = f"{state.STATE_DIR}/temp-files"
RESEAL_PASSES = {Reseal.OOBE: ("oobeSystem",), Reseal.AUDIT: ("auditSystem", "auditUser")}


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
    _check_selection(req, chosen)
    _check_options(req, registry, chosen)
    # a --generalize whose selection resets no identity (only cleanup operations) must not
    # record a generalized image: with --oobe/--audit it reseals as they do alone; else it
    # only cleans up (nothing for the next boot, the image state kept or COMPLETE)
    generalize = req.generalize and any(p.phase is Phase.GENERALIZE for p in chosen)
    cleanup_only = req.generalize and not generalize
    if cleanup_only:
        phases = (Phase.CLEANUP,)
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
    if generalize:
        final = (
            ImageState.GENERALIZE_RESEAL_TO_OOBE
            if reseal is Reseal.OOBE
            else ImageState.GENERALIZE_RESEAL_TO_AUDIT
        )
        pending = GENERALIZE_PASSES[reseal]
    else:
        final = (
            ImageState.SPECIALIZE_RESEAL_TO_OOBE
            if reseal is Reseal.OOBE
            else ImageState.SPECIALIZE_RESEAL_TO_AUDIT
        )
        pending = RESEAL_PASSES[reseal]
    # --generalize alone is headless: the welcome only when asked for (--oobe, the answer
    # file's OOBE section); resealing without generalize (--oobe) always asks for it
    welcome = reseal is Reseal.OOBE and (
        req.reseal is Reseal.OOBE or not req.generalize or bool(extra.get("welcome"))
    )
    plan = Plan(
        phases, tuple(run_list), tuple(skipped), settings, reseal, final, pending, welcome=welcome
    )
    if cleanup_only and (req.reseal or extra.get("reseal")):
        plan = replace(
            plan,
            notes=(
                "no operation of the selection resets the identity: "
                f"resealing to {reseal.value.upper()} without generalizing "
                f"(as --{reseal.value} alone)",
            ),
        )
    elif cleanup_only:
        return replace(no_boot_passes(plan), cleanup_only=True)
    return no_boot_passes(plan) if req.no_boot_passes else plan


def _check_selection(req: Request, chosen: Sequence[Provider]) -> None:
    """Refused: a selection that gives the run no work at all (an empty `--operations ""`
    from an unset shell variable, `all,-all`), rather than record a state for nothing done."""
    if not chosen:
        phases = "cleanup or generalize" if req.generalize else "cleanup"
        raise UsageError(
            f"the selection of operations leaves no {phases} operation to run: "
            "name at least one (sysprep --list-operations), or leave out "
            "--operations for the defaults"
        )


def _check_options(req: Request, registry: Registry, chosen: Sequence[Provider]) -> None:
    """An option meant for a provider that does not run is a mistake (as in virt-sysprep)."""
    for key in dict.fromkeys(k for k, _ in req.options):
        owners = [p for p in registry.providers if key in p.options]
        if owners and not any(p in chosen for p in owners):
            name = owners[0].name
            selected = owners[0] in registry.select(req.selection, tuple(Phase))
            how = (
                f"enable it with --enable {name}"
                if not selected
                else "it runs only with --generalize"
                if owners[0].phase is Phase.GENERALIZE
                else f"it runs only in the {owners[0].phase.value} pass"
            )
            raise UsageError(
                f"--{key} is an option of the {name} operation, which this run "
                f"does not include: {how}"
            )


def prepare(req: Request, log: RunLog) -> Report:
    preflight.require_root()
    with open_target(req.target, dry_run=req.dry_run) as target:
        registry = Registry.load(extra=external.discover(target.fs))
        answer = answer_cache.for_run(target.fs, req.unattend, strict=req.strict)
        answer = with_options(req, target.fs, answer, log)
        if answer is not None:  # what it names must exist in this image: checked before any change
            answer = in_image.enforce(answer, target.fs)
        for secret in answer.secrets if answer is not None else ():
            log.add_secret(secret)
        plan = make_plan(req, target, registry, answer_settings(answer))
        previous = state.read(target.fs)
        # a rerun after a crash continues the interrupted run (its rearm is counted once)
        cycle = (
            previous.cycle
            if previous is not None
            and previous.image_state is ImageState.UNDEPLOYABLE
            and previous.cycle
            else uuid.uuid4().hex
        )
        license = None
        if Phase.GENERALIZE in plan.phases and not plan.settings.skip_rearm:
            license = rearm.for_run(target.fs, answer)
            rearm.check(
                license, cycle
            )  # past the answer file's RearmLimit: refused, nothing changed
        plan = replace(plan, answer=answer, license=license, cycle=cycle)
        if not req.dry_run and not target.live:
            # the image's own code (its providers, answer-file commands, the tools providers
            # run: update-initramfs, restorecon...) runs only in the sandbox: fail now, not
            # half-way through the run
            bwrap()
        plan = _choose_boot_passes(req, target, plan)
        preflight.require_writable(target)
        preflight.require_same_release(target)
        # validation done: from here on, changes (the temp files a killed run left, then the
        # release record)
        temps = None if req.dry_run else TempJournal(target.fs, TEMP_FILES)
        try:
            if temps is not None:
                left = temps.start()
                target.fs.checkpoint = checkpoint
                if left:
                    log.step(
                        f"removed {len(left)} temp file(s) left by an interrupted run: "
                        + ", ".join("/" + p for p in left)
                    )
            plan = replace(plan, release_note=preflight.check_release(target, log))
            report = _execute(req, target, plan, log)
        finally:
            if temps is not None:
                temps.finish()
            if target.image is not None:
                log.close()  # the log files are in the image: let it be unmounted
        if target.image is not None:
            _finish_image(target, report, log)
        return report


def _choose_boot_passes(req: Request, target: Target, plan: Plan) -> Plan:
    """Validate the boot-time half of the plan: the runtime when the image can run it, else
    (nothing asking for the passes) no boot-time passes, with a warning; else exit 2."""
    needed = boot_passes_needed(plan.answer)
    if not plan.boot_passes:
        if needed and plan.cleanup_only:
            raise UsageError(
                f"the selection resets no identity (cleanup only: nothing runs at "
                f"the next boot), but the answer file sets the {', '.join(needed)} "
                "pass: select generalize operations too, or drop those settings"
            )
        if needed:
            raise UsageError(
                f"--no-boot-passes: the answer file sets the {', '.join(needed)} "
                "pass, which only runs at the clone's boot; drop --no-boot-passes "
                "or those settings"
            )
        return plan
    if not units.has_systemd(target.fs):
        if needed or req.reseal is not None:
            return plan  # boot_passes_provider warns that nothing will run them
        return no_boot_passes(
            plan,
            "the image has no systemd: generalizing without boot-time passes (as --no-boot-passes)",
        )
    problem = bundle.python_problem(target.fs)
    if problem is None:
        return replace(plan, runtime=bundle.build())  # refuses unbundlable plugins now
    if needed or req.reseal is not None or not req.generalize:
        wanted = (
            f"the answer file's {', '.join(needed)} pass" if needed else f"--{plan.reseal.value}"
        )
        raise UsageError(f"{problem}; {wanted} needs it at the clone's boot")
    return no_boot_passes(
        plan,
        f"{problem}: generalizing without boot-time passes (as "
        "--no-boot-passes); the clones get their machine-id from systemd "
        "and their SSH host keys from a small unit",
    )


def _finish_image(target: Target, report: Report, log: RunLog) -> None:
    """Unmount the image and do the work that waited for that (new file system UUIDs). When
    it fails, the run fails: the image is left UNDEPLOYABLE with the reason (written by the
    recorder `_work` handed over), and the report, still printed, says so too."""
    img = target.image
    assert img is not None
    recording = img.recording
    target.fs.close()  # nothing may keep the root busy
    done = img.finish()
    if not done.failure:
        return
    if done.error and not done.recorded:  # else the recorder said it, in the image's log too
        log.error(done.error)
    if done.problem:
        log.error(done.problem)
    report.error = done.failure
    report.errors = log.errors
    if recording and (done.error or not done.recorded):
        report.image_state = ImageState.UNDEPLOYABLE.value  # as the image's state says


def _execute(req: Request, target: Target, plan: Plan, log: RunLog) -> Report:
    fs = target.fs
    report = Report(
        target=req.target.describe(),
        dry_run=req.dry_run,
        action=plan.action,
        release=plan.release_note,
    )
    tokens: list[Token] = []
    if Phase.GENERALIZE in plan.phases:  # before the first change, and before any log line
        from sysprep.scan import proof

        os_id = target.os_release.id if target.os_release else ""
        tokens = proof.start(fs, os_id, log, record=not req.dry_run)
    fs.mkdir(state.STATE_DIR, 0o755)  # in a dry run, only in its overlay
    fs.protect(state.STATE_DIR)
    if not req.dry_run:
        if log.folder is None:
            log.attach(fs, PANTHER, journal=target.live)
        if target.image is not None:  # its mount point is gone when the report is read
            report.log_folder = f"/{PANTHER} in {req.target.describe()}"
        else:
            report.log_folder = ("/" if target.live else fs.host_path + "/") + PANTHER
    for rel, why in fs.skipped_mounts:
        log.info(f"not entering /{rel}: {why}")
    for note in (*target.notes, *plan.notes):
        log.warning(note)
    log.info(
        f"sysprep {plan.action} on {req.target.describe()}"
        f"{' (dry run)' if req.dry_run else ''}; release {target.os_release.key if target.os_release else '?'}"
    )
    running = "generalize" if Phase.GENERALIZE in plan.phases else "cleanup"
    previous = state.read(fs)
    if plan.cleanup_only:
        # a cleanup resets no identity: the image's state stays what it was (none, a
        # generalized image's, or an earlier failure's UNDEPLOYABLE), recorded again at the end
        plan = replace(plan, kept_state=previous)
    undeployable = State(
        ImageState.UNDEPLOYABLE,
        running=running,
        cycle=plan.cycle,
        persist_devices=plan.settings.persist_devices,
        mode_vm=plan.settings.mode_vm,
    )
    state.write(fs, undeployable)
    try:
        failed = _work(req, target, plan, log, report, undeployable, tokens)
    except (
        SysprepError,
        OSError,
        KeyboardInterrupt,
    ) as e:  # whatever stopped the run is in the state
        with shielded():
            log.error(reason(e), console=False)  # the final message says it on the terminal
            try:
                state.write(fs, undeployable.but(last_error=log.redact(reason(e))))
            except (SysprepError, OSError):
                pass
        raise
    if failed is not None:
        state.write(fs, undeployable.but(last_error=log.redact(failed)))
        report.error = report.error or failed  # the report says what failed, as the state does
        report.image_state = ImageState.UNDEPLOYABLE.value
        return report
    now = previous.image_state.value if previous else "none (sysprep has not run here)"
    if plan.cleanup_only:
        report.image_state = f"{now} (unchanged: a cleanup resets no identity)"
    elif req.dry_run:
        report.image_state = f"{now}; would become {plan.final.value}"
    else:
        report.image_state = plan.final.value
    if req.dry_run:
        report.plan = log.take_records()
    elif plan.cleanup_only:
        log.info(f"image state unchanged: {now}")
    elif target.image is not None and target.image.recording:
        log.step(
            f"image state becomes {plan.final.value} once the work that waits for the "
            "file systems to be unmounted is done"
        )
    else:
        log.info(f"image state is now {plan.final.value}")  # the summary's last lines say it
        os.sync()
    return report


def _work(
    req: Request,
    target: Target,
    plan: Plan,
    log: RunLog,
    report: Report,
    undeployable: State,
    tokens: list[Token],
) -> str | None:
    """The run proper, once the state says UNDEPLOYABLE: the failure of a provider, or None
    when everything is done and the final state is recorded (or, for work that waits until
    the image is unmounted, handed to the image session to record after it)."""
    fs = target.fs
    failed = None
    if plan.answer is not None:
        use_answer(target, plan, log)
        if Phase.GENERALIZE in plan.phases and plan.answer.run_synchronous("generalize"):
            # first, so that the generalization then removes what the commands leave behind
            failed = run_providers(
                target,
                [generalize_commands(plan.answer)],
                plan.settings,
                log,
                report,
                dry_run=req.dry_run,
            )
    if failed is None:
        failed = run_providers(
            target, plan.providers, plan.settings, log, report, dry_run=req.dry_run
        )
    for p, why in plan.skipped:
        report.providers.append(
            ProviderResult(p.name, p.heading, p.phase.value, "skipped", note=why)
        )
        log.info(f"skipped: {why}", p.name)
    if failed is None and not plan.cleanup_only:
        failed = run_providers(
            target, [boot_passes_provider(plan)], plan.settings, log, report, dry_run=req.dry_run
        )
    if failed is None and target.image is not None:
        target.image.finalize(log)
    # generalize proves itself: no copy of the old identity left (a dry run changed nothing
    # to search)
    if failed is None and tokens and not req.dry_run:
        from sysprep.scan import proof

        hits = proof.leftovers(fs, tokens)
        report.leftovers = proof.report(log, hits)
        if hits and req.strict:
            failed = (
                f"the template's identity is left in {len(hits)} place(s) (--strict): "
                + ", ".join(f.path for f in hits[:5])
                + (", ..." if len(hits) > 5 else "")
            )
            log.error(failed)
            report.error = failed  # no provider failed: the report must still say the run did
    report.warnings, report.errors = log.warnings, log.errors
    if failed is not None:
        return failed
    # everything the run does is done before the state says so (each step is idempotent, and
    # the rearm is counted once per run: a crash here and a rerun count it once)
    if plan.cleanup_only:  # the image's identity and its passes are as they were
        report.rearms = finish_answer(target, plan, log)
        if plan.kept_state is None:
            fs.remove(state.STATE_FILE)
        else:
            state.write(fs, plan.kept_state)
        return None
    if not req.dry_run:  # a new cycle of passes starts: every step and command runs again
        for record in (progress.PROGRESS_FILE, STEPS_FILE):
            fs.remove(record)
    report.rearms = finish_answer(target, plan, log)
    report.warnings = log.warnings
    checkpoint("before-state")
    final = State(
        plan.final,
        pending=plan.pending,
        persist_devices=plan.settings.persist_devices,
        mode_vm=plan.settings.mode_vm,
        welcome=plan.welcome,
        boot_passes=plan.boot_passes,
    )
    if target.image is not None and target.image.has_deferred:
        # new UUIDs are given once the file systems are unmounted: until that is done too, the
        # image stays UNDEPLOYABLE (its fstab already names them)
        target.image.record_when_done(state.STATE_DIR, _recorder(log, final, undeployable))
    else:
        state.write(fs, final)
    return None


def _recorder(log: RunLog, final: State, undeployable: State) -> Callable[[Confined, str], None]:
    """The last step of an image run whose work went on after unmounting: record `final`, or
    UNDEPLOYABLE with what failed, in the image's root mounted again; the log goes in too."""

    def record(fs: Confined, error: str) -> None:
        try:
            try:  # with what was logged since the image was unmounted
                log.attach(fs, PANTHER)
            except (OSError, SysprepError) as e:  # the state matters more than the log
                log.warning(f"cannot write the log into the image again: {reason(e)}")
            if error:
                state.write(fs, undeployable.but(last_error=log.redact(error)))
                log.error(error)
            else:
                state.write(fs, final)
                log.step(f"image state is now {final.image_state.value}")
        finally:
            log.close()

    return record


def reseal_in_place(target: Target, reseal: Reseal, log: RunLog) -> None:
    """The answer file's Reseal at boot: the cleanup phase, then reseal to OOBE or audit
    (what `sysprep --oobe` / `--audit` does on the live system)."""
    req = Request(reseal=reseal, target=target.spec)
    plan = make_plan(req, target, Registry.load(extra=external.discover(target.fs)), {})
    if units.has_systemd(target.fs):
        plan = replace(plan, runtime=bundle.build())
    log.step(
        f"resealing to {reseal.value.upper()}: the cleanup phase runs now; its log is in /{PANTHER}"
    )
    cleanup_log = RunLog(quiet=log.quiet)  # cleanup empties var/log: log where generalize logs
    try:
        report = _execute(req, target, plan, cleanup_log)
    finally:
        cleanup_log.close()
    if report.failed:
        raise RunError(f"resealing to {reseal.value.upper()} failed: see /{PANTHER}/setuperr.log")


def run_providers(
    target: Target,
    providers: Sequence[Provider],
    settings: Settings,
    log: RunLog,
    report: Report,
    *,
    dry_run: bool,
    announce: bool = False,
) -> str | None:
    """Run providers in order; stops at the first failure and returns its message.

    A follow-up (the CA store rebuild) that some of them call for runs once, in the context
    of the last provider that declares it; before returning, whatever is still due runs (see
    sysprep.passes.followups)."""
    last = {f: p.name for p in providers for f in p.followups}
    due = Due(target.fs)
    for p in providers:
        result = ProviderResult(p.name, p.heading, p.phase.value)
        report.providers.append(result)
        ctx = Context(target, log, p, settings, dry_run=dry_run)
        if announce:  # the boot console shows each step of a pass
            log.step(p.heading, p.name)
        else:
            log.info(p.heading, p.name)  # on the screen with -v; the summary says what it did
        start = time.monotonic()
        try:
            p.perform(ctx)
            due.add(ctx.due)
            for f in p.followups:
                if f in due.pending and last[f] == p.name:
                    due.run(f, ctx)
        except Refused as r:
            ctx.fail(f"refused to touch /{r.path}: {r.reason}")
        except SysprepError as e:
            ctx.fail(str(e))
        except OSError as e:  # the system refused (a full disk, a read-only folder): no bug
            ctx.fail(reason(e))
        except Exception as e:  # a provider's bug must leave the image marked undeployable
            for line in "".join(
                traceback.format_exception(type(e), e, e.__traceback__)
            ).splitlines():
                log.info(line, p.name)  # a log line holds one line
            ctx.fail(f"internal error: {type(e).__name__}: {e}")
        result.seconds = round(time.monotonic() - start, 3)
        result.actions, result.files, result.bytes = ctx.actions, ctx.files, ctx.bytes
        result.errors = list(ctx.errors)
        due.add(ctx.due)  # also what it removed before it failed
        if ctx.errors:
            result.status = "failed"
            due.run_left(partial(Context, target, log, p, settings, dry_run=dry_run))
            return f"{p.name}: {ctx.errors[0]}"
        result.status = "planned" if dry_run else "ok"
    if due.pending and providers:
        return due.run_left(partial(Context, target, log, providers[-1], settings, dry_run=dry_run))
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
