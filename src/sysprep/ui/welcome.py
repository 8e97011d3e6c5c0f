"""The first-boot welcome (the seed's "Windows Welcome", machine OOBE) on the console.

Pages: language and region, keyboard, time zone, license terms (when the OEM supplied them),
host name, a user account, then finish. Every page the answer file already answers is
skipped; with nothing left to ask, nothing is shown. On the first page Ctrl+Shift+F3 (as in
Windows) or F12 (the fallback every console delivers; it asks first) reseals the machine to
audit mode; `sysprep.audit` on the kernel command line does it without a key.

The welcome only collects: `run_welcome` shows it on the console (sysprep.ui.console),
gets back the choices (the password already hashed) and applies them through the same
functions as the answer file (sysprep.firstboot.apply). When there is no console, the
oobeSystem pass stays pending and the boot goes on (Outcome.NO_CONSOLE); when
`sysprep.welcome_timeout=SECONDS` is on the kernel command line and nobody touched a key
for that long, the welcome gives up and setup finishes with the answer file's values only.
"""

from __future__ import annotations

import enum
import getpass
import hashlib
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable, ClassVar, TextIO, cast

from sysprep.answer.types import LocalAccount
from sysprep.errors import RunError
from sysprep.ui import choices
from sysprep.ui.choices import Catalog
from sysprep.ui.terminal import Terminal, boot_switches, detect, kernel_cmdline

if TYPE_CHECKING:
    from sysprep.log import RunLog
    from sysprep.target import Target
    from sysprep.target.confined import Confined

EULA_DEFAULT = "etc/sysprep/eula.txt"
EULA_RECORD = "var/lib/sysprep/eula-accepted"
AUDIT_HINT = "Ctrl+Shift+F3 or F12: audit mode"
LOCALE, KEYBOARD, TIME_ZONE, LICENSE, HOST_NAME, ACCOUNT = (
    "locale", "keyboard", "time-zone", "license", "host-name", "account")
PAGE_TITLES = {LOCALE: "Language and region", KEYBOARD: "Keyboard", TIME_ZONE: "Time zone",
               LICENSE: "License terms", HOST_NAME: "Computer name", ACCOUNT: "User account"}
# what xterm (and our patched console keymap) sends for Ctrl+Shift+F3, and what F12 sends
AUDIT_SEQUENCES = ("\x1b[1;6R", "\x1b[24~")

Hasher = Callable[[str], str]


class Outcome(str, enum.Enum):
    DONE = "done"  # finished (or nothing to ask): the oobeSystem pass completes
    AUDIT = "audit"  # Ctrl+Shift+F3 / F12 / sysprep.audit: reseal to audit mode and reboot
    NO_CONSOLE = "no-console"  # nobody can be asked: the pass stays pending, the boot goes on
    TIMED_OUT = "timed-out"  # sysprep.welcome_timeout passed untouched: answer-file values only


@dataclass
class Account:
    name: str
    password_hash: str
    admin: bool = True
    display_name: str = ""


@dataclass
class Result:
    """What the person chose (only the pages shown are filled in)."""

    audit: bool = False
    timed_out: bool = False
    locale: str | None = None
    keymap: str | None = None
    time_zone: str | None = None
    eula_accepted: bool = False
    hostname: str | None = None
    account: Account | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        acc = data.get("account")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "account"}
        return cls(**fields, account=Account(**acc) if isinstance(acc, dict) else None)


@dataclass
class Plan:
    """The pages to show, with what each offers and starts from."""

    pages: list[str]
    locales: Catalog = field(default_factory=lambda: Catalog((), False))
    keymaps: Catalog = field(default_factory=lambda: Catalog((), False))
    zones: Catalog = field(default_factory=lambda: Catalog((), False))
    locale: str = "C.UTF-8"
    keymap: str = "us"
    zone: str = "UTC"
    hostname: str = "localhost"
    eula: str = ""  # the license text
    eula_path: str = ""


# -- what to ask ---------------------------------------------------------------------------


def _value(answer: Any, getter: str, passes: tuple[str, ...] = ("oobeSystem", "specialize")) -> Any:
    """The first value the answer file gives for a setting in these passes (None if none)."""
    if answer is None:
        return None
    fn = getattr(answer, getter)
    for p in passes:
        value = fn(p)
        if value:
            return value
    return None


def make_plan(fs: Confined, answer: Any) -> Plan:
    """Skip every page the answer file answers; read the rest's choices from the target."""
    oobe = _value(answer, "oobe", ("oobeSystem",))
    plan = Plan(pages=[])
    if not (_value(answer, "system_locale") or _value(answer, "ui_language")):
        plan.pages.append(LOCALE)
        plan.locales, plan.locale = choices.locales(fs), choices.current_locale(fs)
    if not _value(answer, "keymap"):
        plan.pages.append(KEYBOARD)
        plan.keymaps, plan.keymap = choices.keymaps(fs), choices.current_keymap(fs)
    if not _value(answer, "time_zone"):
        plan.pages.append(TIME_ZONE)
        plan.zones, plan.zone = choices.time_zones(fs), choices.current_zone(fs)
    if not getattr(oobe, "hide_eula_page", False):
        path = (getattr(oobe, "eula_file", None) or EULA_DEFAULT).lstrip("/")
        text = fs.read_text(path, limit=1024 * 1024)
        if text and text.strip():
            plan.pages.append(LICENSE)
            plan.eula, plan.eula_path = text, path
    if not _value(answer, "computer_name", ("specialize", "oobeSystem")):
        plan.pages.append(HOST_NAME)
        plan.hostname = choices.current_hostname(fs)
    if not _value(answer, "local_accounts", ("oobeSystem",)):
        plan.pages.append(ACCOUNT)
    return plan


def timeout_from_cmdline(cmdline: dict[str, str] | None = None) -> float | None:
    value = (kernel_cmdline() if cmdline is None else cmdline).get("welcome_timeout", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


# -- full screen ---------------------------------------------------------------------------


def _app_class() -> Any:
    from textual import events
    from textual.app import ComposeResult
    from textual.binding import Binding, BindingType
    from textual.containers import Horizontal, Vertical, VerticalScroll
    from textual.message import Message
    from textual.screen import ModalScreen
    from textual.widgets import Button, ContentSwitcher, Input, OptionList, Static
    from textual.widgets.option_list import Option as ListOption

    from sysprep.ui.base import Check, Secret, SysprepApp

    class FilterInput(Input):
        """The search field of a pick list: Up/Down move in the list below it."""

        class Move(Message):
            def __init__(self, step: int) -> None:
                super().__init__()
                self.step = step

        BINDINGS: ClassVar[list[BindingType]] = [Binding("down", "move(1)", show=False), Binding("up", "move(-1)", show=False),
                    Binding("pagedown", "move(10)", show=False), Binding("pageup", "move(-10)", show=False)]

        def action_move(self, step: int) -> None:
            self.post_message(self.Move(step))

    class PickList(Vertical):
        """Type to narrow the list, arrows to move, Enter to take the highlighted entry."""

        DEFAULT_CSS = """
        PickList { height: 1fr; }
        PickList FilterInput { margin: 0 0 1 0; }
        PickList OptionList { height: 1fr; }
        PickList .chosen { height: 1; color: $text-muted; }
        """

        def __init__(self, catalog: Catalog, value: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.catalog, self.initial = catalog, value
            self.shown_values: list[str] = []

        def compose(self) -> ComposeResult:
            yield FilterInput(placeholder="type to search", compact=True)
            yield OptionList(compact=True)
            yield Static("", classes="chosen", markup=False)

        def on_mount(self) -> None:
            self._fill("")
            self._highlight(self.initial)

        def _fill(self, text: str) -> None:
            low = text.lower()
            opts = [o for o in self.catalog.options
                    if not low or low in o.value.lower() or low in o.description.lower()]
            if text and not self.catalog.find(text) and not self.catalog.known:
                opts.insert(0, choices.Option(text, "(typed)"))
            ol = self.query_one(OptionList)
            ol.clear_options()
            ol.add_options([ListOption(f"{o.value}  {o.description}".rstrip(), id=o.value) for o in opts])
            self.shown_values = [o.value for o in opts]
            exact = self.catalog.find(text) if text else None
            if self.shown_values:
                ol.highlighted = self.shown_values.index(exact) if exact in self.shown_values else 0
            self._show()

        def _highlight(self, value: str) -> None:
            if value in self.shown_values:
                self.query_one(OptionList).highlighted = self.shown_values.index(value)
            self._show()

        def _show(self) -> None:
            v = self.value
            self.query_one(".chosen", Static).update(f"Chosen: {v}" if v else "Nothing matches")

        @property
        def value(self) -> str:
            ol = self.query_one(OptionList)
            if ol.highlighted is not None and ol.highlighted < len(self.shown_values):
                return self.shown_values[ol.highlighted]
            return ""

        def on_input_changed(self, event: Input.Changed) -> None:
            event.stop()
            self._fill(event.value.strip())

        def on_filter_input_move(self, event: FilterInput.Move) -> None:
            ol = self.query_one(OptionList)
            if not self.shown_values:
                return
            current = ol.highlighted or 0
            ol.highlighted = max(0, min(len(self.shown_values) - 1, current + event.step))
            self._show()

        def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
            event.stop()
            self._show()

        def focus_input(self) -> None:
            self.query_one(FilterInput).focus()

    class ConfirmAudit(ModalScreen[bool]):
        DEFAULT_CSS = """
        ConfirmAudit { align: center middle; }
        ConfirmAudit > Vertical { width: 64; height: auto; border: solid $warning; padding: 0 1;
                                   background: $surface; }
        ConfirmAudit Horizontal { height: 1; margin: 1 0 0 0; align-horizontal: right; }
        ConfirmAudit Button { margin: 0 0 0 2; }
        """
        BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "no", show=False)]

        def compose(self) -> ComposeResult:
            with Vertical():
                yield Static("Enter audit mode?\n\nThe machine restarts into audit mode, where its "
                             "builder customises and tests it (root is logged in on the console). "
                             "This is not for the person who will use this computer.", markup=False)
                with Horizontal():
                    yield Button("Audit mode", id="yes", variant="warning", compact=True)
                    yield Button("Cancel", id="no", compact=True)

        def on_mount(self) -> None:
            self.query_one("#no", Button).focus()

        def on_button_pressed(self, event: Button.Pressed) -> None:
            self.dismiss(event.button.id == "yes")

        def action_no(self) -> None:
            self.dismiss(False)

    class WelcomeApp(SysprepApp[Result]):
        CSS = SysprepApp.CSS + """
        #body { padding: 0 2; height: 1fr; }
        #pages { height: 1fr; }
        .page { height: 1fr; }
        .page Input { margin: 0 0 1 0; }
        .label { height: 1; }
        #eula-text { height: 1fr; border: solid $primary; padding: 0 1; }
        #error { height: auto; min-height: 1; }
        #nav { height: 1; align-horizontal: right; margin: 0 0 1 0; }
        #nav Button { margin: 0 0 0 2; min-width: 10; }
        #strength { height: 1; }
        #summary { height: auto; }
        """
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("ctrl+f15", "audit", show=False, priority=True),
            Binding("ctrl+shift+f3", "audit", show=False, priority=True),
            Binding("f12", "ask_audit", show=False, priority=True),
            Binding("escape", "prev_page", show=False),
        ]

        def __init__(self, plan: Plan, hasher: Hasher, fs: Confined | None, *, console: bool = False,
                     idle_timeout: float | None = None,
                     on_ready: Callable[[], None] | None = None) -> None:
            super().__init__(console=console)
            self.plan, self.hasher, self.fs = plan, hasher, fs
            self.idle_timeout, self.on_ready = idle_timeout, on_ready
            self.result = Result()
            self.steps = [*plan.pages, "finish"]
            self.index = 0
            self.touched = False

        # -- layout --------------------------------------------------------------------

        def compose(self) -> ComposeResult:
            yield self.title_bar("Welcome")
            yield self.key_bar("")
            p = self.plan
            with Vertical(id="body"):
                with ContentSwitcher(initial=self.steps[0], id="pages"):
                    for page, label, catalog, value, list_id in (
                            (LOCALE, "Choose the language and region of this computer.", p.locales,
                             p.locale, "locale-list"),
                            (KEYBOARD, "Choose the keyboard layout.", p.keymaps, p.keymap, "keymap-list"),
                            (TIME_ZONE, "Choose the time zone.", p.zones, p.zone, "zone-list")):
                        if page in p.pages:
                            with Vertical(id=page, classes="page"):
                                yield Static(label, classes="label")
                                yield PickList(catalog, value, id=list_id)
                    if LICENSE in p.pages:
                        with Vertical(id=LICENSE, classes="page"):
                            yield Static("Read the license terms (PgUp/PgDn to scroll).", classes="label")
                            with VerticalScroll(id="eula-text"):
                                yield Static(p.eula, markup=False)
                            yield Check("I accept the license terms", id="eula-accept",
                                        ascii=self.console_mode, compact=True)
                    if HOST_NAME in p.pages:
                        with Vertical(id=HOST_NAME, classes="page"):
                            yield Static("Type a name for this computer (its host name).", classes="label")
                            yield Input(value=p.hostname, id="hostname", compact=True)
                            yield Static("Letters, digits and '-'; e.g. office-pc-7.", classes="hint")
                    if ACCOUNT in p.pages:
                        with Vertical(id=ACCOUNT, classes="page"):
                            yield Static("Create a user account for this computer.", classes="label")
                            yield Static("User name", classes="label")
                            yield Input(id="user", compact=True, placeholder="e.g. anna")
                            yield Static("Full name (optional)", classes="label")
                            yield Input(id="fullname", compact=True)
                            yield Static("Password", classes="label")
                            yield Secret(id="password", compact=True)
                            yield Static("Type the password again", classes="label")
                            yield Secret(id="again", compact=True)
                            yield Static("", id="strength", markup=False)
                            yield Check("Administrator (may use sudo)", value=True, id="admin",
                                        ascii=self.console_mode, compact=True)
                    with Vertical(id="finish", classes="page"):
                        yield Static("", id="summary", markup=False)
                yield Static("", id="error", classes="error", markup=False)
                with Horizontal(id="nav"):
                    yield Button("Back", id="back", compact=True)
                    yield Button("Next", id="next", variant="primary", compact=True)

        def on_mount(self) -> None:
            super().on_mount()
            self._enter(0)
            if self.idle_timeout:
                self.set_timer(self.idle_timeout, self._idle)
            if self.on_ready is not None:
                self.call_after_refresh(self.on_ready)

        def on_event(self, event: events.Event) -> Any:
            if isinstance(event, events.Key):
                self.touched = True
            return super().on_event(event)

        def _idle(self) -> None:
            if not self.touched:
                self.exit(Result(timed_out=True))

        # -- navigation ----------------------------------------------------------------

        def _enter(self, index: int) -> None:
            self.index = index
            step = self.steps[index]
            self.query_one("#pages", ContentSwitcher).current = step
            shown = len(self.steps)
            name = PAGE_TITLES.get(step, "Finish")
            self.query_one("#title", Static).update(f"Welcome - {name} (step {index + 1} of {shown})")
            keys = "Enter: next  Esc: back  Tab: next field"
            if index == 0:
                keys += "  |  " + AUDIT_HINT
            self.query_one("#keys", Static).update(keys)
            self.query_one("#error", Static).update("")
            self.query_one("#back", Button).disabled = index == 0
            self.query_one("#next", Button).label = "Finish" if step == "finish" else "Next"
            if step == "finish":
                self.query_one("#summary", Static).update(self._summary())
                self.query_one("#next", Button).focus()
            elif step in (LOCALE, KEYBOARD, TIME_ZONE):
                self.query_one(f"#{step}", Vertical).query_one(PickList).focus_input()
            elif step == LICENSE:
                self.query_one("#eula-text").focus()
            elif step == HOST_NAME:
                self.query_one("#hostname", Input).focus()
            elif step == ACCOUNT:
                self.query_one("#user", Input).focus()

        def _summary(self) -> str:
            r = self.result
            lines = ["Ready to finish setting up this computer:", ""]
            for label, value in (("Language and region", r.locale), ("Keyboard", r.keymap),
                                 ("Time zone", r.time_zone), ("Computer name", r.hostname)):
                if value:
                    lines.append(f"  {label}: {value}")
            if r.eula_accepted:
                lines.append("  License terms: accepted")
            if r.account:
                kind = "administrator" if r.account.admin else "standard user"
                lines.append(f"  Account: {r.account.name} ({kind})")
            lines += ["", "Press Enter (Finish) to apply these settings and start the computer."]
            return "\n".join(lines)

        def action_next(self) -> None:
            step = self.steps[self.index]
            if step == "finish":
                self.exit(self.result)
                return
            problem = self._check(step)
            if problem:
                self.query_one("#error", Static).update(problem)
                return
            self._enter(self.index + 1)

        def action_prev_page(self) -> None:
            if self.index > 0:
                self._enter(self.index - 1)

        def on_button_pressed(self, event: Button.Pressed) -> None:
            if event.button.id == "next":
                self.action_next()
            elif event.button.id == "back":
                self.action_prev_page()

        def on_input_submitted(self, event: Input.Submitted) -> None:
            step = self.steps[self.index]
            if step == ACCOUNT and event.input.id != "again":
                self.screen.focus_next()
                return
            self.action_next()

        def on_input_changed(self, event: Input.Changed) -> None:
            if event.input.id in ("password", "again", "user"):
                pw = self.query_one("#password", Input).value
                level = choices.strength(pw, self.query_one("#user", Input).value.strip())
                bar = "#" * (level + 1) + "-" * (4 - level)
                self.query_one("#strength", Static).update(
                    f"Strength: [{bar}] {choices.LEVELS[level]}" if pw else "")

        def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
            self.action_next()

        def key_enter(self) -> None:
            if self.steps[self.index] in (LICENSE, "finish"):
                self.action_next()

        # -- the pages' checks ---------------------------------------------------------

        def _check(self, step: str) -> str | None:
            fs_problem: str | None = None
            r = self.result
            if step in (LOCALE, KEYBOARD, TIME_ZONE):
                value = self.query_one(f"#{step}", Vertical).query_one(PickList).value
                if not value:
                    return "nothing matches what you typed: clear it and choose from the list"
                if step == LOCALE:
                    if not choices.LOCALE.match(value):
                        return f"{value!r} is not a locale name like en_US.UTF-8"
                    r.locale = value
                elif step == KEYBOARD:
                    if not choices.KEYMAP.match(value):
                        return f"{value!r} is not a keyboard layout name like us or de"
                    r.keymap = value
                else:
                    fs_problem = self.zone_problem(value)
                    if fs_problem:
                        return fs_problem
                    r.time_zone = value
            elif step == LICENSE:
                if not self.query_one("#eula-accept", Check).value:
                    return "To use this computer you must accept the license terms (Space ticks the box)."
                r.eula_accepted = True
            elif step == HOST_NAME:
                name = self.query_one("#hostname", Input).value.strip()
                problem = choices.hostname_problem(name)
                if problem:
                    return problem
                r.hostname = name
            elif step == ACCOUNT:
                return self._check_account()
            return None

        def zone_problem(self, zone: str) -> str | None:
            known = self.plan.zones
            if known.known and not known.has(zone):
                return f"unknown time zone {zone}: choose one from the list"
            return choices.valid_zone(self.fs, zone) if self.fs is not None else None

        def _check_account(self) -> str | None:
            name = self.query_one("#user", Input).value.strip()
            problem = self.account_problem(name)
            if problem:
                self.query_one("#user", Input).focus()
                return problem
            pw, again = self.query_one("#password", Input), self.query_one("#again", Input)
            problem = choices.password_problem(pw.value, again.value, name)
            if problem:
                again.value = ""
                (pw if "again" not in problem and "differ" not in problem else again).focus()
                return problem
            try:
                hashed = self.hasher(pw.value)
            except RunError as e:
                return f"the password cannot be stored: {e}"
            finally:
                pw.value, again.value = "", ""  # the plain password lives no longer than this
            self.result.account = Account(name, hashed, self.query_one("#admin", Check).value,
                                          self.query_one("#fullname", Input).value.strip())
            return None

        def account_problem(self, name: str) -> str | None:
            if self.fs is not None:
                return choices.account_problem(self.fs, name)
            if not choices.ACCOUNT.match(name):
                return "type a user name" if not name else "not a user name useradd accepts"
            return None

        # -- audit mode ----------------------------------------------------------------

        def on_cursor_position(self, event: events.CursorPosition) -> None:
            # textual reads xterm's Ctrl+Shift+F3, ESC [1;6R, as a cursor position report
            # (row 1, column 6); a full-screen app never asks for one.
            if (event.x, event.y) == (5, 0):
                self.action_audit()

        def action_audit(self) -> None:
            if self.index == 0:
                self.exit(Result(audit=True))

        def action_ask_audit(self) -> None:
            if self.index != 0:
                return

            def done(yes: bool | None) -> None:
                if yes:
                    self.exit(Result(audit=True))

            self.push_screen(ConfirmAudit(), done)

    return WelcomeApp


def make_app(plan: Plan, hasher: Hasher, fs: Confined | None = None, *, console: bool = False,
             idle_timeout: float | None = None, on_ready: Callable[[], None] | None = None) -> Any:
    """The welcome app; with `fs`, the account and time-zone pages check against the target."""
    return _app_class()(plan, hasher, fs, console=console, idle_timeout=idle_timeout, on_ready=on_ready)


# -- plain ---------------------------------------------------------------------------------


class _Audit(Exception):
    pass


def _line(out: IO[str], inp: IO[str], prompt: str, *, first: bool = False) -> str:
    out.write(prompt)
    out.flush()
    line = inp.readline()
    if not line:
        raise EOFError
    if first and (any(s in line for s in AUDIT_SEQUENCES) or line.strip() == "!audit"):
        raise _Audit
    return line.strip()


def _secret(out: IO[str], inp: IO[str], prompt: str) -> str:
    if inp.isatty():
        return getpass.getpass(prompt, stream=cast(TextIO, out))
    return _line(out, inp, prompt)


def _choose(out: IO[str], inp: IO[str], title: str, catalog: Catalog, default: str, *,
            first: bool, check: Callable[[str], str | None]) -> str:
    out.write(f"\n{title}\n")
    while True:
        answer = _line(out, inp, f"  [{default}] (part of a name and ? lists matches): ", first=first)
        if answer.endswith("?"):
            part = answer[:-1].lower()
            hits = [o.value for o in catalog.options if part in o.value.lower() or part in o.description.lower()]
            out.write("  " + (", ".join(hits[:60]) or "nothing matches") + (" ..." if len(hits) > 60 else "") + "\n")
            continue
        value = answer or default
        hits = [o.value for o in catalog.options if value.lower() in o.value.lower()]
        value = catalog.find(value) or (hits[0] if len(hits) == 1 else value)
        problem = check(value)
        if problem is None:
            return value
        out.write(f"  {problem}\n")


def _offered(form: re.Pattern[str], catalog: Catalog, what: str) -> Callable[[str], str | None]:
    """The check of a page: `form`, and one of the catalog's values when they are the image's."""
    def check(value: str) -> str | None:
        if form.match(value) and (not catalog.known or catalog.has(value)):
            return None
        return f"{value!r} is not {what} of this system"
    return check


def ask_plain(plan: Plan, hasher: Hasher, fs: Confined, out: IO[str], inp: IO[str]) -> Result:
    """The welcome as line prompts (a serial console, TERM=dumb, SYSPREP_UI=plain)."""
    r = Result()
    out.write("Welcome. A few questions set up this computer.\n"
              f"(On this first question, {AUDIT_HINT}; on a line-mode console type !audit.)\n")
    try:
        for i, page in enumerate(plan.pages):
            first = i == 0
            if page == LOCALE:
                r.locale = _choose(out, inp, "Language and region (locale)", plan.locales, plan.locale,
                                   first=first, check=_offered(choices.LOCALE, plan.locales, "a locale"))
            elif page == KEYBOARD:
                r.keymap = _choose(out, inp, "Keyboard layout", plan.keymaps, plan.keymap, first=first,
                                   check=_offered(choices.KEYMAP, plan.keymaps, "a keyboard layout"))
            elif page == TIME_ZONE:
                r.time_zone = _choose(out, inp, "Time zone", plan.zones, plan.zone, first=first,
                                      check=lambda v: choices.valid_zone(fs, v))
            elif page == LICENSE:
                out.write("\nLicense terms\n\n" + plan.eula.rstrip() + "\n\n")
                while True:
                    a = _line(out, inp, "Do you accept the license terms? (yes/no): ", first=first)
                    if a.lower() in ("yes", "y"):
                        r.eula_accepted = True
                        break
                    out.write("  To use this computer you must accept the license terms.\n")
            elif page == HOST_NAME:
                out.write("\nComputer name\n")
                while True:
                    name = _line(out, inp, f"  [{plan.hostname}]: ", first=first) or plan.hostname
                    problem = choices.hostname_problem(name)
                    if problem is None:
                        r.hostname = name
                        break
                    out.write(f"  {problem}\n")
            elif page == ACCOUNT:
                out.write("\nUser account\n")
                while True:
                    name = _line(out, inp, "  User name: ", first=first)
                    problem = choices.account_problem(fs, name)
                    if problem is None:
                        break
                    out.write(f"  {problem}\n")
                full = _line(out, inp, "  Full name (optional): ")
                while True:
                    pw = _secret(out, inp, "  Password: ")
                    level = choices.strength(pw, name)
                    out.write(f"  strength: {choices.LEVELS[level]}\n")
                    again = _secret(out, inp, "  Password again: ")
                    problem = choices.password_problem(pw, again, name)
                    if problem is None:
                        break
                    out.write(f"  {problem}\n")
                admin = _line(out, inp, "  Administrator (may use sudo)? [Y/n]: ").lower() not in ("n", "no")
                r.account = Account(name, hasher(pw), admin, full)
                del pw, again
    except _Audit:
        return Result(audit=True)
    out.write("\nSetting up this computer...\n")
    out.flush()
    return r


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
                raise RunError("this runtime cannot hash passwords (sysprep.answer.passwords "
                               "is missing)") from e
            hasher = CryptHasher.for_target(fs)
        return hasher(password)

    return hash_password


def _no_hasher(password: str) -> str:
    raise RunError("no account page: nothing to hash")


def collect(plan: Plan, hasher: Hasher, fs: Confined, terminal: Terminal, *,
            idle_timeout: float | None = None, on_ready: Callable[[], None] | None = None) -> Result:
    """Ask on this process's terminal: full screen when it can, line prompts otherwise."""
    if terminal.full:
        try:
            app = make_app(plan, hasher, fs, console=terminal.console, idle_timeout=idle_timeout,
                           on_ready=on_ready)
            result: Result | None = app.run()
            if result is not None:
                return result
        except Exception as e:  # the terminal could not run textual: ask line by line
            sys.stdout.write(f"(the full-screen welcome could not start: {type(e).__name__}; "
                             "asking line by line)\n")
    if on_ready is not None:
        on_ready()
    return ask_plain(plan, hasher, fs, sys.stdout, sys.stdin)


def apply_result(target: Target, log: RunLog, result: Result, plan: Plan | None = None) -> None:
    """Apply what the person chose, as the answer file's settings are applied."""
    from sysprep.firstboot import apply
    from sysprep.providers.base import Context, Phase, Provider, Settings

    p = Provider(name="oobe-welcome", heading="Apply the choices made in the welcome",
                 description="", phase=Phase.SPECIALIZE, run=lambda ctx: None)
    ctx = Context(target, log, p, Settings(), dry_run=False)
    if result.locale:
        apply.set_locale(ctx, result.locale)
    if result.keymap:
        apply.set_keymap(ctx, result.keymap)
    if result.time_zone:
        apply.set_timezone(ctx, result.time_zone)
    if result.eula_accepted and plan is not None:
        digest = hashlib.sha256(plan.eula.encode()).hexdigest()
        ctx.mkdir(EULA_RECORD.rsplit("/", 1)[0])
        ctx.write(EULA_RECORD, f"accepted={time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
                               f"file=/{plan.eula_path}\nsha256={digest}\n")
    if result.hostname:
        apply.set_hostname(ctx, result.hostname)
    if result.account:
        a = result.account
        apply.ensure_account(ctx, LocalAccount(name=a.name, password_hash=a.password_hash,
                                               display_name=a.display_name, sudo=a.admin))
    if ctx.errors:
        raise RunError(f"applying the welcome's choices failed: {ctx.errors[0]}")


def run_welcome(target: Target, answer: Any, log: RunLog, *, hasher: Hasher | None = None) -> Outcome:
    """Show the welcome on the console (if anything is left to ask), then apply the choices."""
    from sysprep.cli import stdin_is_terminal
    from sysprep.ui import console

    plan = make_plan(target.fs, answer)
    if not plan.pages:
        log.step("the answer file answers every page of the welcome: nothing to ask")
        return Outcome.DONE
    where = console.console_path(interactive=stdin_is_terminal(), live=target.live)
    asked = ", ".join(PAGE_TITLES[p] for p in plan.pages)
    if where is None and not target.live:
        log.step(f"no terminal to show the welcome on for an offline target: {asked} keep what "
                 "the image has")
        return Outcome.DONE
    if where is None:
        log.warning(f"the welcome has no console to ask on ({asked}): the oobeSystem pass stays "
                    "pending and runs again at the next boot (or answer these in the answer file)")
        return Outcome.NO_CONSOLE
    timeout = timeout_from_cmdline(boot_switches(target.live))
    hash_fn = hasher or (default_hasher(target.fs) if ACCOUNT in plan.pages else _no_hasher)
    shown = "this terminal" if where == console.HERE else where
    log.step(f"the welcome is waiting on {shown} ({asked}); {AUDIT_HINT} on its first page"
             + (f"; it gives up after {timeout:g} s untouched" if timeout else ""))

    def work(channel: console.Channel) -> dict[str, Any]:
        def ready() -> None:
            channel.send({"event": "ready"})

        result = collect(plan, hash_fn, target.fs, detect(0, 1), idle_timeout=timeout, on_ready=ready)
        return result.to_json()

    def event(message: dict[str, Any]) -> None:
        say = log.info if where == console.HERE else log.step  # not over the welcome itself
        if message.get("event") == "ready":
            say(f"the welcome is shown on {shown}")
        elif message.get("event") == "chord":
            say(f"Ctrl+Shift+F3 on this console's keymap: {message.get('before')}; it is "
                     "mapped to ESC [1;6R while the welcome shows")

    child = console.ConsoleChild(where, work, on_event=event)
    try:
        child.start()
        raw = child.wait()
    except OSError as e:
        log.warning(f"the welcome could not open {shown}: {e}; the oobeSystem pass stays pending")
        return Outcome.NO_CONSOLE
    if raw is None:
        log.warning(f"the welcome ended without an answer ({child.error.strip().splitlines()[-1:] or 'no reason'}); "
                    "the oobeSystem pass stays pending")
        return Outcome.NO_CONSOLE
    result = Result.from_json(raw)
    if result.audit:
        log.step("audit mode was asked for on the welcome's first page")
        return Outcome.AUDIT
    if result.timed_out:
        log.warning(f"nobody answered the welcome within {timeout:g} s: finishing with the answer "
                    f"file's settings only ({asked} left as the image has them)")
        return Outcome.TIMED_OUT
    apply_result(target, log, result, plan)
    log.step("the welcome's choices are applied")
    return Outcome.DONE

