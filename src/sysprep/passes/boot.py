"""The boot-time half: run the pending passes of state.ini, resumably, at the clone's boots.

    GENERALIZE_RESEAL_TO_OOBE  --specialize-->  SPECIALIZE_RESEAL_TO_OOBE  --oobeSystem-->  COMPLETE
    GENERALIZE_RESEAL_TO_AUDIT --specialize-->  SPECIALIZE_RESEAL_TO_AUDIT --auditSystem, auditUser-->
        SPECIALIZE_RESEAL_TO_AUDIT (audit mode; `sysprep --oobe` or the answer file's Reseal ends it)

While a pass runs the state is UNDEPLOYABLE (its pending list kept, so the pass resumes after
a reboot or a crash); a fatal error leaves it UNDEPLOYABLE with LastError and stops. The
systemd units (sysprep.firstboot.units) call this in two stages: `specialize` early,
`passes` later.
"""

from __future__ import annotations

import enum
import importlib
import os
from dataclasses import dataclass
from typing import Any

from sysprep.errors import RunError, SysprepError
from sysprep.firstboot import apply, units
from sysprep.log import BOOT_LOGS, UNATTEND_LOGS, RunLog
from sysprep.passes import progress as prog
from sysprep.passes import runsync, state
from sysprep.passes.checkpoint import checkpoint
from sysprep.passes.report import Report
from sysprep.passes.state import ImageState, State
from sysprep.providers import external
from sysprep.providers.base import HARDWARE, Context, Phase, Provider, Settings
from sysprep.providers.registry import Registry
from sysprep.request import TargetSpec
from sysprep.run import run
from sysprep.target import Target, open_target
from sysprep.target.confined import Refused
from sysprep.target.sandbox import run_in_target

STAGES = {"specialize": ("specialize",), "passes": ("oobeSystem", "auditSystem", "auditUser")}
COMMAND_LOGS = f"{BOOT_LOGS}/commands"


class Result(str, enum.Enum):
    IDLE = "idle"  # nothing pending for this stage
    DONE = "done"  # the stage's passes finished
    REBOOT = "reboot"  # a reboot is needed; the next boot continues
    SHUTDOWN = "shutdown"  # Reseal ForceShutdownNow
    FAILED = "failed"


@dataclass
class BootRun:
    target: Target
    log: RunLog
    unattend: RunLog
    answer: Any  # sysprep.answer model, or None
    st: State


def next_state(st: State) -> State:
    """The state after the first pending pass finished."""
    done, rest = st.pending[0], st.pending[1:]
    if done == "oobeSystem":
        image = ImageState.COMPLETE
    elif "oobeSystem" in rest:
        image = ImageState.SPECIALIZE_RESEAL_TO_OOBE
    else:
        image = ImageState.SPECIALIZE_RESEAL_TO_AUDIT
    return st.but(image_state=image, pending=rest, running="", last_error="")


def load_answer(target: Target, log: RunLog) -> Any:
    """The cached answer file, or the one the implicit search finds (None without one)."""
    try:
        cache: Any = importlib.import_module("sysprep.answer.cache")
    except ImportError:
        return None
    found = cache.find(target.fs, live=target.live)
    if found is None:
        return None
    if found.cached:
        log.info("using the answer file cached in the image")
    else:  # cache it, so later boots (and their passes) do not depend on where it was found
        log.step(f"using the answer file {found.source} ({found.origin}); caching it in the image")
        cache.store(target.fs, found)
    return found


def run_stage(spec: TargetSpec, stage: str, log: RunLog, *, retry: bool = False) -> Result:
    with open_target(spec, dry_run=False) as target:
        fs = target.fs
        st = state.read(fs)
        if st is None or not st.pending:
            if fs.exists(units.MARKER):
                units.disable(fs)
            return Result.IDLE
        fs.protect(state.STATE_DIR)
        log.attach(fs, BOOT_LOGS, journal=target.live)
        unattend = RunLog(quiet=True)
        unattend.attach(fs, UNATTEND_LOGS)
        try:
            checkpoint("boot-start")
            if st.last_error and st.image_state is ImageState.UNDEPLOYABLE:
                if not retry:
                    log.error(f"the {st.running or st.pending[0]} pass failed earlier: {st.last_error}. "
                              "Fix the cause, then run: sysprep boot --retry")
                    return Result.FAILED
                st = _clear_failure(fs, st)
            answer = load_answer(target, log)
            br = BootRun(target, log, unattend, answer, st)
            return _run(br, stage)
        finally:
            unattend.close()


def _clear_failure(fs: Any, st: State) -> State:
    record = prog.read(fs)
    if record is not None:
        for item in record.items:
            if item.status == prog.FATAL:
                item.status = prog.PENDING
        record.finished = False
        prog.write(fs, record)
    st = st.but(last_error="")
    state.write(fs, st)
    return st


def _run(br: BootRun, stage: str) -> Result:
    fs = br.target.fs
    while br.st.pending and br.st.pending[0] in STAGES[stage]:
        name = br.st.pending[0]
        running = br.st.but(image_state=ImageState.UNDEPLOYABLE, running=name)
        if running != br.st:
            checkpoint("before-state")
            state.write(fs, running)
            checkpoint("after-state")
        br.st = running
        br.log.step(f"{name} pass")
        try:
            result = _run_pass(br, name)
        except (SysprepError, OSError, Refused) as e:
            result = _fail(br, name, f"{name}: {e}", None)
        if result is not Result.DONE:
            return result
        br.st = next_state(br.st)
        checkpoint("before-state")
        state.write(fs, br.st)
        checkpoint("after-state")
        br.log.step(f"{name} pass finished; image state {br.st.image_state.value}")
        checkpoint("pass-done")
        reseal = _reseal_after(br, name)
        if reseal is not None:
            return reseal
    if not br.st.pending:
        if br.st.image_state is ImageState.COMPLETE:
            _setup_complete(br)
        for o in units.disable(fs):
            br.log.info(f"removed /{o.path}")
        br.log.step(f"no pass pending: the boot-time units are disabled ({br.st.image_state.value})")
        return Result.DONE
    return Result.DONE


def _run_pass(br: BootRun, name: str) -> Result:
    if name == "specialize":
        failed = _specialize_providers(br)
        if failed:
            return _fail(br, name, failed, None)
    _apply_settings(br, name)
    result = _run_commands(br, name, _commands(br.answer, name))
    if result is not Result.DONE:
        return result
    if name == "oobeSystem":
        _oobe(br)
        # FirstLogonCommands: logins wait for this unit, so they run before the first logon
        first = tuple(br.answer.first_logon_commands(name)) if br.answer is not None else ()
        return _run_commands(br, name, first)
    return Result.DONE


def _run_commands(br: BootRun, name: str, commands: tuple[Any, ...]) -> Result:
    if not commands:
        return Result.DONE
    runner = runsync.target_runner(br.target, br.log, name)
    res = runsync.run_pass(br.target.fs, br.log, name, commands, runner, log_dir=COMMAND_LOGS)
    if res.outcome is runsync.Outcome.FATAL:
        return _fail(br, name, res.message, res.item)
    if res.outcome is runsync.Outcome.REBOOT:
        checkpoint("before-reboot")
        br.log.step(f"rebooting as {res.item.label if res.item else 'a command'} asked; "
                    f"the {name} pass continues at the next boot")
        return Result.REBOOT
    return Result.DONE


def _fail(br: BootRun, name: str, message: str, item: prog.Item | None) -> Result:
    br.log.error(f"the {name} pass failed: {message}")
    handled = False
    try:
        handled = runsync.run_errorhandler(br.target, br.log, name, item)
    except (SysprepError, OSError) as e:
        br.log.error(f"the error handler could not run: {e}")
    br.st = br.st.but(image_state=ImageState.UNDEPLOYABLE, running=name, last_error=message)
    state.write(br.target.fs, br.st)
    if not handled:
        br.log.error("sysprep cannot complete the installation of this clone: see "
                     f"/{BOOT_LOGS}/setuperr.log ({'no' if not handled else 'the'} error handler "
                     f"/{runsync.ERRORHANDLER})")
    return Result.FAILED


def _specialize_providers(br: BootRun) -> str | None:
    from sysprep.passes.prepare import run_providers

    fs = br.target.fs
    registry = Registry.load(extra=[p for p in external.discover(fs) if p.phase is Phase.SPECIALIZE])
    settings = Settings(persist_devices=br.st.persist_devices, mode_vm=br.st.mode_vm, answer=br.answer)
    chosen: list[Provider] = []
    for p in registry.providers:
        if p.phase is not Phase.SPECIALIZE:
            continue
        if HARDWARE in p.tags and br.st.persist_devices:
            br.log.info("skipped: devices persisted", p.name)
            continue
        chosen.append(p)
    report = Report(target=br.target.spec.describe(), dry_run=False, action="specialize")
    for p in chosen:
        checkpoint("before-provider")
        failed = run_providers(br.target, [p], settings, br.log, report, dry_run=False)
        if failed:
            return failed
    return None


def _context(br: BootRun, name: str) -> Context:
    p = Provider(name=f"unattend-{name}".lower(), heading=f"Apply the {name} settings of the answer file",
                 description="", phase=Phase.SPECIALIZE, run=lambda ctx: None)
    return Context(br.target, br.unattend, p, Settings(answer=br.answer), dry_run=False)


def _apply_settings(br: BootRun, name: str) -> None:
    """The answer file's settings of this pass (host name, zone, locale, keyboard, accounts)."""
    a = br.answer
    if a is None:
        return
    ctx = _context(br, name)
    computer = _get(a, "computer_name", name)
    if computer:
        apply.set_hostname(ctx, computer)
    zone = _get(a, "time_zone", name)
    if zone:
        apply.set_timezone(ctx, zone)
    locale = _get(a, "system_locale", name) or _get(a, "ui_language", name)
    if locale:
        apply.set_locale(ctx, locale, _get(a, "ui_language", name))
    keymap = _get(a, "keymap", name)
    if keymap:
        apply.set_keymap(ctx, keymap)
    for account in _get(a, "local_accounts", name) or ():
        apply.ensure_account(ctx, account)
    auto = _get(a, "auto_logon", name)
    if auto is not None:
        apply.set_autologon(ctx, auto)
    if ctx.errors:
        raise RunError(f"applying the {name} settings failed: {ctx.errors[0]}")
    _scrub(br, name)


def _get(answer: Any, getter: str, pass_name: str) -> Any:
    fn = getattr(answer, getter, None)
    if fn is None:
        return None
    try:
        return fn(pass_name)
    except TypeError:
        return fn()


def _commands(answer: Any, name: str) -> tuple[Any, ...]:
    if answer is None or not hasattr(answer, "run_synchronous"):
        return ()
    return tuple(answer.run_synchronous(name))


def _scrub(br: BootRun, name: str) -> None:
    try:
        cache: Any = importlib.import_module("sysprep.answer.cache")
    except ImportError:
        return
    cache.scrub_secrets(br.target.fs, name)


def _oobe(br: BootRun) -> None:
    """The OOBE hand-off: unattended when the answer file says so or answers every page."""
    oobe = _get(br.answer, "oobe", "oobeSystem") if br.answer is not None else None
    if oobe is not None and getattr(oobe, "skip_machine_oobe", False):
        br.log.step("SkipMachineOOBE: the welcome is skipped")
        return
    try:
        welcome = importlib.import_module("sysprep.ui.welcome")
    except ImportError:
        br.log.step("no interactive welcome in this runtime: finishing unattended")
        return
    welcome.run_welcome(br.target, br.answer, br.log)


def _reseal_after(br: BootRun, name: str) -> Result | None:
    """Reseal (Microsoft-Windows-Deployment) in auditUser/oobeSystem: go to OOBE or audit."""
    if br.answer is None or name not in ("auditUser", "oobeSystem"):
        return None
    reseal = _get(br.answer, "reseal", name)
    if reseal is None:
        return None
    mode = getattr(getattr(reseal, "mode", None), "value", "")
    fs = br.target.fs
    if mode == "OOBE" and name == "auditUser":
        from sysprep.passes.prepare import reseal_in_place
        from sysprep.request import Reseal as R

        reseal_in_place(br.target, R.OOBE, br.log)
    elif mode == "Audit" and name == "oobeSystem":
        from sysprep.passes.prepare import reseal_in_place
        from sysprep.request import Reseal as R

        reseal_in_place(br.target, R.AUDIT, br.log)
    else:
        return None
    br.st = state.read(fs) or br.st
    return Result.SHUTDOWN if getattr(reseal, "force_shutdown_now", False) else Result.REBOOT


def _setup_complete(br: BootRun) -> None:
    """etc/sysprep/scripts/setupcomplete runs once, at the end of setup."""
    script = runsync.SETUPCOMPLETE
    if not br.target.fs.is_file(script):
        return
    fd = br.target.fs.open_append(f"{COMMAND_LOGS}/setupcomplete.log", 0o600)
    try:
        done = run_in_target(br.target, ["/" + script], output_fd=fd)
    finally:
        os.close(fd)
    br.log.step(f"/{script} exited with status {done.returncode}")


def power(result: Result, target_live: bool, log: RunLog) -> None:
    """Reboot or power off the live system after a pass asked for it (never offline)."""
    if not target_live or result not in (Result.REBOOT, Result.SHUTDOWN):
        return
    verb = "reboot" if result is Result.REBOOT else "poweroff"
    log.step(f"{verb} now")
    os.sync()
    run(["systemctl", verb, "--no-block"], check=False, timeout=30)
