"""The boot-time half: run the pending passes of state.ini, resumably, at the clone's boots.

    GENERALIZE_RESEAL_TO_OOBE  --specialize-->  SPECIALIZE_RESEAL_TO_OOBE  --oobeSystem-->  COMPLETE
    GENERALIZE_RESEAL_TO_AUDIT --specialize-->  SPECIALIZE_RESEAL_TO_AUDIT --auditSystem, auditUser-->
        SPECIALIZE_RESEAL_TO_AUDIT (audit mode; `sysprep --oobe` or the answer file's Reseal ends it)

While a pass runs the state is UNDEPLOYABLE (its pending list kept, so the pass resumes after
a reboot or a crash); a fatal error leaves it UNDEPLOYABLE with LastError and stops. The
systemd units (sysprep.firstboot.units) call this in two stages: `specialize` early (the
specialize pass's providers and settings: the clone's identity), `passes` later, once the
network is up and units can be started (the specialize pass's RunSynchronous commands, then
the other passes). A headless image (`Welcome = false` in the state) finishes oobeSystem
without the welcome.
"""

from __future__ import annotations

import enum
import os
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sysprep.answer import cache as answer_cache
from sysprep.answer import credentials, in_image
from sysprep.answer.model import Answer, generate_computer_name
from sysprep.answer.overlay import collisions, overlay
from sysprep.answer.passwords import Hasher
from sysprep.answer.types import SyncCommand
from sysprep.errors import RunError, SysprepError
from sysprep.firstboot import apply, units
from sysprep.log import BOOT_LOGS, UNATTEND_LOGS, RunLog
from sysprep.passes import progress as prog
from sysprep.passes import runsync, state
from sysprep.passes.bootui import BootUI, Outcome, Viewer
from sysprep.passes.checkpoint import checkpoint
from sysprep.passes.report import Report
from sysprep.passes.state import ImageState, State
from sysprep.passes.steps import Steps
from sysprep.passes.switches import boot_switches
from sysprep.providers import external
from sysprep.providers.base import HARDWARE, Context, Phase, Provider, Settings
from sysprep.providers.builtin import new_ssh_hostkeys
from sysprep.providers.registry import Registry
from sysprep.request import TargetSpec
from sysprep.run import CLEAN_PATH, run
from sysprep.target import Target, open_target
from sysprep.target.confined import Refused
from sysprep.target.sandbox import run_in_target

STAGES = {
    "specialize": ("specialize",),
    "passes": ("specialize", "oobeSystem", "auditSystem", "auditUser"),
}
COMMAND_LOGS = f"{BOOT_LOGS}/commands"
CREDENTIALS_STEP = "credentials"
HOST_KEYS_STEP = "host-keys-after-cloud-init"


class Result(str, enum.Enum):
    IDLE = "idle"  # nothing pending for this stage
    DONE = "done"  # the stage's passes finished
    REBOOT = "reboot"  # a reboot is needed; the next boot continues
    SHUTDOWN = "shutdown"  # Reseal ForceShutdownNow
    FAILED = "failed"
    WAITING = "waiting"  # the welcome had nobody to ask: oobeSystem stays pending, the boot goes on
    LATER = "later"  # the early stage did its part: the rest of the pass runs in the later stage


@dataclass
class BootRun:
    target: Target
    log: RunLog
    unattend: RunLog
    answer: Answer | None
    st: State
    ui: BootUI  # the console UI, handed in by the command layer
    boot_id: str = ""  # this boot: the kernel's boot id; for an offline root, each run is a boot
    stage: str = "passes"


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


def load_answer(target: Target, log: RunLog) -> Answer | None:
    """The cached answer file, or the one the implicit search finds (None without one)."""
    found = answer_cache.find(target.fs, live=target.live)
    if found is None:
        return None
    if found.cached:
        log.info("using the answer file cached in the image")
    else:  # cache it, so later boots (and their passes) do not depend on where it was found
        log.step(f"using the answer file {found.source} ({found.origin}); caching it in the image")
        _, retired = answer_cache.adopt(target.fs, found)
        for r in retired:
            log.warning(r.warning())
    return found


def with_credentials(target: Target, log: RunLog, answer: Answer | None) -> Answer | None:
    """Once per clone, at the start of the specialize pass: the answer the systemd
    credentials pass (sysprep.answer.credentials) laid over `answer`, per setting, checked
    against the image and cached with its passwords hashed; `answer` when there is none."""
    fs = target.fs
    steps = Steps(fs)
    if steps.is_done(CREDENTIALS_STEP):
        return answer
    found = credentials.located(credentials.places(os.environ, live=target.live))
    top = credentials.answer({name: data for name, (_, data) in found.items()})
    if top is None:
        steps.mark(CREDENTIALS_STEP)
        return answer
    for secret in top.secrets:  # before anything about it is logged
        log.add_secret(secret)
    top = in_image.enforce(replace(top, hasher=Hasher.for_target(fs)), fs)
    merged = top if answer is None else overlay(answer, top)
    won = collisions(answer, top) if answer is not None else []
    log.step(
        f"using the systemd credential(s) {', '.join(f'{n} ({p})' for n, (p, _) in found.items())}"
        + (f"; they replace the cached answer file's {', '.join(won)}" if won else "")
    )
    _, retired = answer_cache.adopt(fs, merged)
    for r in retired:
        log.warning(r.warning())
    steps.mark(CREDENTIALS_STEP)
    return merged


def run_stage(
    spec: TargetSpec, stage: str, log: RunLog, *, ui: BootUI, retry: bool = False
) -> Result:
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
                    log.error(
                        f"the {st.running or st.pending[0]} pass failed earlier: {st.last_error}. "
                        f"Fix the cause, then run: sysprep boot --retry --stage {stage}"
                    )
                    return Result.FAILED
                st = _clear_failure(fs, st)
            answer = load_answer(target, log)
            if stage == "specialize" and st.pending[0] == "specialize":
                try:
                    answer = with_credentials(target, log, answer)
                except SysprepError as e:  # nothing applied yet: the clone waits for a fix
                    br = BootRun(target, log, unattend, None, st, ui, "", stage)
                    return _fail(br, "specialize", "; ".join(str(e).splitlines()), None)
            for secret in answer.secrets if answer is not None else ():  # as prepare does
                log.add_secret(secret)
                unattend.add_secret(secret)
            # An offline root is "booted" by each run of this engine: a reboot a command asked
            # for has happened by the next run.
            this_boot = runsync.boot_id() if target.live else uuid.uuid4().hex
            br = BootRun(target, log, unattend, answer, st, ui, this_boot, stage)
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
    if stage == "passes" and br.st.pending[0] == "specialize" and br.st.running != "specialize":
        return Result.IDLE  # the early stage has not begun the pass: the identity comes first
    failed = _missing_host_keys(br) if stage == "passes" else None
    if failed:
        return _fail(br, "specialize", failed, None)
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
        if result is Result.LATER:
            return Result.DONE
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
        for o in units.disable(fs):
            br.log.info(f"removed /{o.path}")
        br.log.step(
            f"no pass pending: the boot-time units are disabled ({br.st.image_state.value})"
        )
        return Result.DONE
    return Result.DONE


def _run_pass(br: BootRun, name: str) -> Result:
    if name == "specialize":  # each step once per cycle: the later stage skips what is done
        failed = _specialize_providers(br)
        if failed:
            return _fail(br, name, failed, None)
    _apply_settings(br, name)
    commands = _commands(br.answer, name)
    if commands and br.stage == "specialize":
        # early in the boot, a command that needs the network or starts a unit would wait
        # for what waits for this stage: they run in the later stage, still before logins
        br.log.step(
            f"the specialize pass's {len(commands)} command(s) run later in this boot, "
            "once the network is up"
        )
        return Result.LATER
    result = _run_commands(br, name, commands)
    if result is not Result.DONE:
        return result
    if name == "oobeSystem":
        result = _oobe(br)
        if result is not Result.DONE:
            return result
        # FirstLogonCommands: logins wait for this unit, so they run before the first logon
        first = tuple(br.answer.first_logon_commands(name)) if br.answer is not None else ()
        result = _run_commands(br, name, first)
        if result is Result.DONE:
            _setup_complete(br)
        return result
    return Result.DONE


def _run_commands(br: BootRun, name: str, commands: tuple[Any, ...]) -> Result:
    """RunSynchronous (or FirstLogonCommands) of a pass, shown in the AuditUI on the console."""
    if not commands:
        return Result.DONE
    runner = runsync.target_runner(br.target, br.log, name, env=_command_env(br))
    viewer = _audit_ui(br, name)
    try:
        res = runsync.run_pass(
            br.target.fs, br.log, name, commands, runner, log_dir=COMMAND_LOGS, this_boot=br.boot_id
        )
    finally:
        if viewer is not None:
            time.sleep(AUDIT_UI_LINGER)  # let the last check or cross be seen
            viewer.stop()
    if res.outcome is runsync.Outcome.FATAL:
        return _fail(br, name, res.message, res.item)
    if res.outcome is runsync.Outcome.REBOOT:
        checkpoint("before-reboot")
        br.log.step(
            f"rebooting as {res.item.label if res.item else 'a command'} asked; "
            f"the {name} pass continues at the next boot"
        )
        return Result.REBOOT
    return Result.DONE


AUDIT_UI_LINGER = 2.0
# not in /run: Debian's initramfs mounts it noexec (the shell would then run the real one)
SHIM = units.SYSTEMCTL_SHIM
SYSTEMCTL_SHIM = """\
#!/bin/sh
# sysprep's boot-time passes run before the units a command starts (gettys, services ordered
# after sysprep's units): waiting for such a unit would wait for sysprep itself. The start is
# queued (--no-block) and happens as soon as the pass is done.
exec {systemctl} --no-block "$@"
"""


def _command_env(br: BootRun) -> dict[str, str]:
    """The environment of the commands of a boot-time pass on the live system: systemctl that
    queues starts instead of waiting (`systemctl enable --now X` would deadlock otherwise)."""
    fs = br.target.fs
    systemctl = next((p for p in ("usr/bin/systemctl", "bin/systemctl") if fs.is_file(p)), None)
    if not br.target.live or systemctl is None:
        return {}
    folder = SHIM.rsplit("/", 1)[0]
    fs.mkdir(folder, 0o755)
    fs.write(SHIM, SYSTEMCTL_SHIM.format(systemctl="/" + systemctl).encode(), mode=0o755)
    return {"PATH": f"/{folder}:{CLEAN_PATH}"}


def _audit_ui(br: BootRun, name: str) -> Viewer | None:
    """The AuditUI on the console while the pass's commands run (None without a console)."""
    try:
        return br.ui.show_commands(br.target, br.log, name)
    except OSError as e:
        br.log.info(f"no AuditUI: {e}")
        return None


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
        br.log.error(
            "sysprep cannot complete the installation of this clone: see "
            f"/{BOOT_LOGS}/setuperr.log ({'no' if not handled else 'the'} error handler "
            f"/{runsync.ERRORHANDLER})"
        )
    return Result.FAILED


def _specialize_providers(br: BootRun) -> str | None:
    """The specialize phase's providers, each run once per cycle (a pass resumed after a
    reboot or a crash skips those that finished)."""
    from sysprep.passes.prepare import run_providers

    fs = br.target.fs
    registry = Registry.load(
        extra=[p for p in external.discover(fs) if p.phase is Phase.SPECIALIZE]
    )
    settings = Settings(
        persist_devices=br.st.persist_devices, mode_vm=br.st.mode_vm, answer=br.answer
    )
    steps = Steps(fs)
    report = Report(target=br.target.spec.describe(), dry_run=False, action="specialize")
    for p in registry.providers:
        if p.phase is not Phase.SPECIALIZE:
            continue
        if HARDWARE in p.tags and br.st.persist_devices:
            br.log.info("skipped: devices persisted", p.name)
            continue
        if steps.is_done(f"provider:{p.name}"):
            br.log.info("already done in this cycle", p.name)
            continue
        checkpoint("before-provider")
        failed = run_providers(
            br.target, [p], settings, br.log, report, dry_run=False, announce=True
        )
        if failed:
            return failed
        steps.mark(f"provider:{p.name}")
    return None


def _missing_host_keys(br: BootRun) -> str | None:
    """Once per cycle, after cloud-init's turn (this stage is ordered after it): the host key
    types the specialize pass left to cloud-init and it did not make."""
    from sysprep.passes.prepare import run_providers

    steps = Steps(br.target.fs)
    if not steps.is_done(f"provider:{new_ssh_hostkeys.PROVIDER.name}") or steps.is_done(
        HOST_KEYS_STEP
    ):
        return None
    net = replace(new_ssh_hostkeys.PROVIDER, run=new_ssh_hostkeys.make_missing)
    report = Report(target=br.target.spec.describe(), dry_run=False, action="specialize")
    failed = run_providers(br.target, [net], Settings(), br.log, report, dry_run=False)
    if not failed:
        steps.mark(HOST_KEYS_STEP)
    return failed


def _context(br: BootRun, name: str) -> Context:
    p = Provider(
        name=f"unattend-{name}".lower(),
        heading=f"Apply the {name} settings of the answer file",
        description="",
        phase=Phase.SPECIALIZE,
        run=lambda ctx: None,
    )
    return Context(br.target, br.unattend, p, Settings(answer=br.answer), dry_run=False)


def _apply_settings(br: BootRun, name: str) -> None:
    """The answer file's settings of this pass (host name, zone, locale, keyboard, accounts),
    once per cycle; a generated host name (ComputerName "*") is made once and kept."""
    a = br.answer
    steps = Steps(br.target.fs)
    if a is None or steps.is_done(f"settings:{name}"):
        return
    ctx = _context(br, name)
    computer = a.computer_name(name) if name == "specialize" else None
    if computer == "*":
        computer = steps.value("ComputerName", generate_computer_name)
    if computer:
        apply.set_hostname(ctx, computer)
    zone = a.time_zone(name)
    if zone:
        apply.set_timezone(ctx, zone)
    locale = a.system_locale(name) or a.ui_language(name)
    if locale:
        apply.set_locale(ctx, locale, a.ui_language(name))
    keymap = a.keymap(name)
    if keymap:
        apply.set_keymap(ctx, keymap)
    root_hash = a.administrator_password(name)
    if root_hash:
        apply.set_root_password(ctx, root_hash)
    for account in a.local_accounts(name):
        apply.ensure_account(ctx, account)
    auto = a.auto_logon(name)
    if auto is not None:
        apply.set_autologon(ctx, auto)
    if ctx.errors:
        raise RunError(f"applying the {name} settings failed: {ctx.errors[0]}")
    _scrub(br, name)
    steps.mark(f"settings:{name}")


def _commands(answer: Answer | None, name: str) -> tuple[SyncCommand, ...]:
    return () if answer is None else tuple(answer.run_synchronous(name))


def _scrub(br: BootRun, name: str) -> None:
    answer_cache.scrub_secrets(br.target.fs, name)


def _oobe(br: BootRun) -> Result:
    """The OOBE hand-off: the welcome, unless the answer file skips it or answers every page.

    `sysprep.audit` on the kernel command line, or Ctrl+Shift+F3 / F12 on the welcome's first
    page, reseals to audit mode instead (the seed's "Booting to Audit Mode")."""
    if "audit" in boot_switches(br.target.live):
        br.log.step("sysprep.audit is on the kernel command line: entering audit mode")
        return _reseal_to_audit(br)
    oobe = br.answer.oobe("oobeSystem") if br.answer is not None else None
    if oobe is not None and oobe.skip_machine_oobe:
        br.log.step("SkipMachineOOBE: the welcome is skipped")
        return Result.DONE
    if not br.st.welcome:
        br.log.step("resealed headless (no --oobe): no welcome, nothing waits at the console")
        return Result.DONE
    outcome = br.ui.welcome(br.target, br.answer, br.log)
    if outcome is None:
        br.log.step("no interactive welcome in this runtime: finishing unattended")
        return Result.DONE
    if outcome is Outcome.AUDIT:
        return _reseal_to_audit(br)
    if outcome is Outcome.NO_CONSOLE:
        br.st = br.st.but(
            image_state=ImageState.SPECIALIZE_RESEAL_TO_OOBE,
            running="",
            last_error="the welcome had no console to ask on; it runs again at the next boot",
        )
        state.write(br.target.fs, br.st)
        return Result.WAITING
    return Result.DONE


def _reseal_to_audit(br: BootRun) -> Result:
    """What `sysprep --audit` does on the live system, then reboot into audit mode."""
    from sysprep.passes.prepare import reseal_in_place
    from sysprep.request import Reseal as R

    reseal_in_place(br.target, R.AUDIT, br.log)
    br.st = state.read(br.target.fs) or br.st
    br.log.step(f"resealed to audit mode ({br.st.image_state.value}): rebooting")
    return Result.REBOOT


def _reseal_after(br: BootRun, name: str) -> Result | None:
    """Reseal (Microsoft-Windows-Deployment) in auditUser/oobeSystem: go to OOBE or audit."""
    if br.answer is None or name not in ("auditUser", "oobeSystem"):
        return None
    reseal = br.answer.reseal(name)
    if reseal is None:
        return None
    mode = reseal.mode.value
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
    return Result.SHUTDOWN if reseal.force_shutdown_now else Result.REBOOT


def _setup_complete(br: BootRun) -> None:
    """etc/sysprep/scripts/setupcomplete runs once, at the end of setup, before the state says
    COMPLETE (a crash before its completion is recorded runs it again, like any command)."""
    script = runsync.SETUPCOMPLETE
    fs = br.target.fs
    steps = Steps(fs)
    if not fs.is_file(script) or steps.is_done("setupcomplete"):
        return
    fd = fs.open_append(f"{COMMAND_LOGS}/setupcomplete.log", 0o600)
    try:
        done = run_in_target(br.target, ["/" + script], output_fd=fd)
    finally:
        os.close(fd)
    steps.mark("setupcomplete")
    br.log.step(f"/{script} exited with status {done.returncode}")


def power(result: Result, target_live: bool, log: RunLog) -> None:
    """Reboot or power off the live system after a pass asked for it (never offline)."""
    if not target_live or result not in (Result.REBOOT, Result.SHUTDOWN):
        return
    verb = "reboot" if result is Result.REBOOT else "poweroff"
    log.step(f"{verb} now")
    os.sync()
    run(["systemctl", verb, "--no-block"], check=False, timeout=30)


def record_failure(spec: TargetSpec, stage: str, result: str, status: str, log: RunLog) -> bool:
    """ExecStopPost of a stage's unit: when the unit did not succeed (a timeout, a signal, a
    crash of the engine) and the state does not say why yet, record it (UNDEPLOYABLE with
    LastError, the pending passes kept for `sysprep boot --retry`). True when recorded."""
    if result in ("", "success"):
        return False
    if not spec.offline and _shutting_down():
        return False  # a shutdown stopped the stage: it resumes at the next boot, as after a crash
    with open_target(spec, dry_run=False) as target:
        fs = target.fs
        st = state.read(fs)
        if (
            st is None
            or not st.pending
            or (st.image_state is ImageState.UNDEPLOYABLE and st.last_error)
        ):
            return False  # nothing was under way, or the engine recorded the failure itself
        unit = units.SPECIALIZE_UNIT if stage == "specialize" else units.PASSES_UNIT
        why = {
            "timeout": "timed out (TimeoutStartSec; a drop-in can raise it)",
            "signal": f"was killed (signal {status})",
            "core-dump": f"crashed (signal {status})",
            "exit-code": f"exited with status {status}",
        }.get(result, f"failed ({result})")
        message = f"{unit} {why} during the {st.running or st.pending[0]} pass"
        state.write(
            fs,
            st.but(
                image_state=ImageState.UNDEPLOYABLE,
                running=st.running or st.pending[0],
                last_error=message,
            ),
        )
        log.attach(fs, BOOT_LOGS, journal=target.live)
        log.error(
            f"{message}: see /{BOOT_LOGS}/setupact.log; fix the cause, then run: "
            f"sysprep boot --retry --stage {stage}"
        )
        return True


def _shutting_down() -> bool:
    done = run(["systemctl", "is-system-running"], check=False, timeout=30)
    return done.stdout.strip() == "stopping"
