"""The first-boot welcome (the seed's "Windows Welcome", machine OOBE) on the console.

Pages: language and region, keyboard, time zone, license terms (when the OEM supplied them),
host name, a user account, then finish. Every page the answer file already answers is
skipped; with nothing left to ask, nothing is shown. On the first page Ctrl+Shift+F3 (as in
Windows) or F12 (the fallback every console delivers; it asks first) reseals the machine to
audit mode; `sysprep.audit` on the kernel command line does it without a key.

The welcome only collects: `run_welcome` shows it on the console (sysprep.ui.console),
gets back the choices (the password already hashed) and applies them through the same
functions as the answer file (sysprep.firstboot.choices). The plan (welcome_plan), the
full-screen app (welcome_app) and the line prompts (welcome_plain) are modules of their own;
their public names are importable from here. When there is no console, the
oobeSystem pass stays pending and the boot goes on (Outcome.NO_CONSOLE); when
`sysprep.welcome_timeout=SECONDS` is on the kernel command line and nobody touched a key
for that long, the welcome gives up and setup finishes with the answer file's values only.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from sysprep.answer.types import LocalAccount
from sysprep.cli import stdin_is_terminal
from sysprep.errors import RunError
from sysprep.firstboot.choices import Choices, apply_choices
from sysprep.passes.bootui import Outcome as Outcome
from sysprep.passes.switches import boot_switches
from sysprep.ui.terminal import Terminal, detect
from sysprep.ui.welcome_plain import ask_plain as ask_plain
from sysprep.ui.welcome_plan import ACCOUNT as ACCOUNT
from sysprep.ui.welcome_plan import AUDIT_HINT as AUDIT_HINT
from sysprep.ui.welcome_plan import AUDIT_SEQUENCES as AUDIT_SEQUENCES
from sysprep.ui.welcome_plan import EULA_DEFAULT as EULA_DEFAULT
from sysprep.ui.welcome_plan import EULA_RECORD as EULA_RECORD
from sysprep.ui.welcome_plan import HOST_NAME as HOST_NAME
from sysprep.ui.welcome_plan import KEYBOARD as KEYBOARD
from sysprep.ui.welcome_plan import LICENSE as LICENSE
from sysprep.ui.welcome_plan import LOCALE as LOCALE
from sysprep.ui.welcome_plan import PAGE_TITLES as PAGE_TITLES
from sysprep.ui.welcome_plan import TIME_ZONE as TIME_ZONE
from sysprep.ui.welcome_plan import Account as Account
from sysprep.ui.welcome_plan import Hasher as Hasher
from sysprep.ui.welcome_plan import Plan as Plan
from sysprep.ui.welcome_plan import Result as Result
from sysprep.ui.welcome_plan import make_plan as make_plan
from sysprep.ui.welcome_plan import timeout_from_cmdline as timeout_from_cmdline

if TYPE_CHECKING:
    from sysprep.log import RunLog
    from sysprep.target import Target
    from sysprep.target.confined import Confined
    from sysprep.ui.welcome_app import WelcomeApp


def make_app(
    plan: Plan,
    hasher: Hasher,
    fs: Confined | None = None,
    *,
    console: bool = False,
    idle_timeout: float | None = None,
    on_ready: Callable[[], None] | None = None,
) -> WelcomeApp:
    """The welcome app; with `fs`, the account and time-zone pages check against the target.
    textual is imported here, when the terminal can show it."""
    from sysprep.ui.welcome_app import WelcomeApp

    return WelcomeApp(
        plan, hasher, fs, console=console, idle_timeout=idle_timeout, on_ready=on_ready
    )


# -- running it at boot --------------------------------------------------------------------


def default_hasher(fs: Confined) -> Hasher:
    """crypt(3) hashes by the host's libcrypt, in the method the target's login.defs asks for
    (sysprep.answer.passwords); loaded when the first password is hashed, so that a runtime
    without it still shows the welcome and says so on the account page."""
    hasher: Hasher | None = None

    def hash_password(password: str) -> str:
        nonlocal hasher
        if hasher is None:
            try:
                from sysprep.answer.passwords import Hasher as CryptHasher  # type: ignore[import-not-found,unused-ignore]
            except ImportError as e:
                raise RunError(
                    "this runtime cannot hash passwords (sysprep.answer.passwords is missing)"
                ) from e
            hasher = CryptHasher.for_target(fs)
        return hasher(password)

    return hash_password


def _no_hasher(password: str) -> str:
    raise RunError("no account page: nothing to hash")


def collect(
    plan: Plan,
    hasher: Hasher,
    fs: Confined,
    terminal: Terminal,
    *,
    idle_timeout: float | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Result:
    """Ask on this process's terminal: full screen when it can, line prompts otherwise."""
    if terminal.full:
        try:
            app = make_app(
                plan,
                hasher,
                fs,
                console=terminal.console,
                idle_timeout=idle_timeout,
                on_ready=on_ready,
            )
            result: Result | None = app.run()
            if result is not None:
                return result
        except Exception as e:  # the terminal could not run textual: ask line by line
            sys.stdout.write(
                f"(the full-screen welcome could not start: {type(e).__name__}; "
                "asking line by line)\n"
            )
    if on_ready is not None:
        on_ready()
    return ask_plain(plan, hasher, fs, sys.stdout, sys.stdin)


def apply_result(target: Target, log: RunLog, result: Result, plan: Plan | None = None) -> None:
    """Apply what the person chose, as the answer file's settings are applied."""
    a = result.account
    account = (
        None
        if a is None
        else LocalAccount(
            name=a.name, password_hash=a.password_hash, display_name=a.display_name, sudo=a.admin
        )
    )
    accepted = result.eula_accepted and plan is not None
    apply_choices(
        target,
        log,
        Choices(
            locale=result.locale,
            keymap=result.keymap,
            time_zone=result.time_zone,
            hostname=result.hostname,
            account=account,
            eula=plan.eula if accepted and plan else None,
            eula_path=plan.eula_path if plan else "",
        ),
    )


def run_welcome(
    target: Target, answer: Any, log: RunLog, *, hasher: Hasher | None = None
) -> Outcome:
    """Show the welcome on the console (if anything is left to ask), then apply the choices."""
    from sysprep.ui import console

    plan = make_plan(target.fs, answer)
    if not plan.pages:
        log.step("the answer file answers every page of the welcome: nothing to ask")
        return Outcome.DONE
    where = console.console_path(interactive=stdin_is_terminal(), live=target.live)
    asked = ", ".join(PAGE_TITLES[p] for p in plan.pages)
    if where is None and not target.live:
        log.step(
            f"no terminal to show the welcome on for an offline target: {asked} keep what "
            "the image has"
        )
        return Outcome.DONE
    if where is None:
        log.warning(
            f"the welcome has no console to ask on ({asked}): the oobeSystem pass stays "
            "pending and runs again at the next boot (or answer these in the answer file)"
        )
        return Outcome.NO_CONSOLE
    timeout = timeout_from_cmdline(boot_switches(target.live))
    hash_fn = hasher or (default_hasher(target.fs) if ACCOUNT in plan.pages else _no_hasher)
    shown = "this terminal" if where == console.HERE else where
    log.step(
        f"the welcome is waiting on {shown} ({asked}); {AUDIT_HINT} on its first page"
        + (f"; it gives up after {timeout:g} s untouched" if timeout else "")
    )

    def work(channel: console.Channel) -> dict[str, Any]:
        def ready() -> None:
            channel.send({"event": "ready"})

        result = collect(
            plan, hash_fn, target.fs, detect(0, 1), idle_timeout=timeout, on_ready=ready
        )
        return result.to_json()

    def event(message: dict[str, Any]) -> None:
        say = log.info if where == console.HERE else log.step  # not over the welcome itself
        if message.get("event") == "ready":
            say(f"the welcome is shown on {shown}")
        elif message.get("event") == "chord":
            say(
                f"Ctrl+Shift+F3 on this console's keymap: {message.get('before')}; it is "
                "mapped to ESC [1;6R while the welcome shows"
            )

    child = console.ConsoleChild(where, work, on_event=event)
    try:
        child.start()
        raw = child.wait()
    except OSError as e:
        log.warning(f"the welcome could not open {shown}: {e}; the oobeSystem pass stays pending")
        return Outcome.NO_CONSOLE
    if raw is None:
        log.warning(
            f"the welcome ended without an answer ({child.error.strip().splitlines()[-1:] or 'no reason'}); "
            "the oobeSystem pass stays pending"
        )
        return Outcome.NO_CONSOLE
    result = Result.from_json(raw)
    if result.audit:
        log.step("audit mode was asked for on the welcome's first page")
        return Outcome.AUDIT
    if result.timed_out:
        log.warning(
            f"nobody answered the welcome within {timeout:g} s: finishing with the answer "
            f"file's settings only ({asked} left as the image has them)"
        )
        return Outcome.TIMED_OUT
    apply_result(target, log, result, plan)
    log.step("the welcome's choices are applied")
    return Outcome.DONE
