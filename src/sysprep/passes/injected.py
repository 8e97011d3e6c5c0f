"""The steps a run adds to the catalogue's providers: the answer file cached in the image,
its generalize-pass commands, the rearm and secret scrubbing once the run is done, and the
runtime and boot-time units that make the next boot run the pending passes."""

from __future__ import annotations

from sysprep.answer import cache as answer_cache
from sysprep.answer.model import Answer
from sysprep.firstboot import bundle, keygen, units
from sysprep.log import PANTHER, RunLog
from sysprep.passes import progress, rearm, runsync
from sysprep.passes.plan import Plan
from sysprep.providers.base import Context, Phase, Provider
from sysprep.request import Reseal
from sysprep.target import Target


def use_answer(target: Target, plan: Plan, log: RunLog) -> None:
    """Log what the answer file brings, and cache it in the target (passwords hashed)."""
    answer = plan.answer
    assert answer is not None
    log.step(f"answer file {answer.source}" + (" (cached in the image)" if answer.cached else ""))
    for w in answer.warnings:
        log.warning(w.render(severity=False))
    stored, retired = answer_cache.adopt(target.fs, answer)
    if stored is not None:
        log.record({"provider": "unattend", **stored.record()})
        verb = "would cache" if target.fs.dry_run else "cached"
        log.info(
            f"{verb} the answer file in /{answer_cache.CACHE} (mode 0600; passwords hashed)",
            "unattend",
        )
    for r in retired:
        for o in r.outcomes:
            log.record({"provider": "unattend", **o.record()})
        log.warning(r.warning(), "unattend")


def generalize_commands(answer: Answer) -> Provider:
    """The answer file's RunSynchronous of the generalize pass, run by the RunSynchronous
    engine (in Order, the seed's return-code rules, progress recorded, the error handler);
    in the sandbox when the target is offline; each command's output in the panther folder.
    The generalize run cannot reboot half-way: a command that asks for a reboot fails it."""
    commands = answer.run_synchronous("generalize")

    def run(ctx: Context) -> None:
        if ctx.dry_run:
            for c in commands:
                ctx.info(f"would run Order {c.order}: {c.label}")
            return
        fs = ctx.fs
        record = progress.read(fs)
        if record is not None and record.pass_name == "generalize" and record.finished:
            fs.remove(progress.PROGRESS_FILE)  # an earlier run's: this run runs them all again
        runner = runsync.target_runner(ctx.target, ctx.log, "generalize")
        res = runsync.run_pass(fs, ctx.log, "generalize", commands, runner, log_dir=PANTHER)
        if res.outcome is runsync.Outcome.FATAL:
            runsync.run_errorhandler(ctx.target, ctx.log, "generalize", res.item)
            ctx.fail(res.message)
        elif res.outcome is runsync.Outcome.REBOOT:
            ctx.fail(
                f"{res.message}, asking for a reboot: the generalize pass cannot reboot "
                "half-way (use WillReboot Never, or reboot from the specialize pass)"
            )

    return Provider(
        name="runsynchronous",
        heading="Run the answer file's RunSynchronous commands of the generalize pass",
        description="",
        phase=Phase.GENERALIZE,
        run=run,
        order=0,
    )


def finish_answer(target: Target, plan: Plan, log: RunLog) -> int | None:
    """After the run finished: count the rearm, and delete the generalize pass's secrets.
    Returns the rearms counted on the image after a generalize run (None otherwise)."""
    fs = target.fs
    rearms = None
    if plan.license is not None:
        if plan.license.unreadable:
            log.warning(
                f"/{rearm.LICENSE_FILE} is malformed ({plan.license.problem}): the rearm "
                "count starts again"
            )
        lic = rearm.record(fs, plan.license, rearmed=True, cycle=plan.cycle)
        verb = "would be" if fs.dry_run else "is"
        log.step(f"rearm {lic.rearms} {verb} counted ({lic.describe_limit()})")
        rearms = lic.rearms
    elif Phase.GENERALIZE in plan.phases:
        rearms = rearm.read(fs).rearms
        log.step(f"SkipRearm: registrations kept, no rearm counted ({rearms} so far)")
    if plan.answer is not None and not fs.dry_run:
        n = answer_cache.scrub_secrets(fs, "generalize")
        if n:
            log.info(
                f"deleted {n} password(s) of the generalize pass from the cached answer file",
                "unattend",
            )
    return rearms


def boot_passes_provider(plan: Plan) -> Provider:
    """The last step of every run: sysprep and its boot-time units go into the image, so the
    next boot runs the pending passes. Not selectable: without it nothing would specialize."""

    def run(ctx: Context) -> None:
        fs = ctx.fs
        if not plan.boot_passes:
            for o in units.remove_boot_units(fs):  # an earlier run's would run at boot
                ctx.note(o)
            made = keygen.install(fs)
            for o in made:
                ctx.note(o)
            if not made and keygen.needed(fs):
                ctx.warning(
                    "the image has neither systemd, OpenRC nor SysV init: nothing makes "
                    "the clone's SSH host keys at boot; run ssh-keygen -A there before "
                    "sshd starts"
                )
            ctx.log.step(
                "no boot-time passes: nothing of sysprep runs at the next boot"
                + (" but the one that makes the SSH host keys" if made else "")
            )
            return
        if not units.has_systemd(fs):
            ctx.warning(
                "the image has no systemd: the boot-time passes are not installed, so "
                "the clone will not specialize itself at boot"
            )
            return
        for o in bundle.install(fs, plan.runtime):
            ctx.note(o)
        if not ctx.dry_run:
            problem = bundle.precompile(ctx.target, fs)
            if problem:
                ctx.info(
                    f"the image's python3 did not compile the runtime ({problem}): each "
                    "boot stage compiles it from source"
                )
        for o in units.install(
            fs,
            audit_autologin=plan.reseal is Reseal.AUDIT,
            person=plan.welcome or plan.reseal is Reseal.AUDIT,
        ):
            ctx.note(o)
        if plan.reseal is Reseal.OOBE:
            for o in units.set_audit_autologin(fs, False):
                ctx.note(o)
        ctx.log.step(f"the next boot runs: {', '.join(plan.pending)}")

    return Provider(
        name="boot-passes",
        heading="Install sysprep and its boot-time units into the image",
        description="",
        phase=Phase.GENERALIZE,
        run=run,
        order=1000,
    )
