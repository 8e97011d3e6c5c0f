"""The full-screen welcome (textual): one page per question, pick lists with a filter, the
account page checked against the target, Ctrl+Shift+F3 / F12 for audit mode. Imported only
when the terminal can show it (a runtime without textual asks line by line)."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Input, OptionList, Static
from textual.widgets.option_list import Option as ListOption

from sysprep.errors import RunError
from sysprep.target.confined import Confined
from sysprep.ui import choices
from sysprep.ui.base import Check, Secret, SysprepApp
from sysprep.ui.choices import Catalog
from sysprep.ui.welcome_plan import (
    ACCOUNT,
    AUDIT_HINT,
    HOST_NAME,
    KEYBOARD,
    LICENSE,
    LOCALE,
    PAGE_TITLES,
    TIME_ZONE,
    Account,
    Hasher,
    Plan,
    Result,
)


class FilterInput(Input):
    """The search field of a pick list: Up/Down move in the list below it."""

    class Move(Message):
        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

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
        opts = [
            o
            for o in self.catalog.options
            if not low or low in o.value.lower() or low in o.description.lower()
        ]
        if text and not self.catalog.find(text) and not self.catalog.known:
            opts.insert(0, choices.Option(text, "(typed)"))
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options(
            [ListOption(f"{o.value}  {o.description}".rstrip(), id=o.value) for o in opts]
        )
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
            yield Static(
                "Enter audit mode?\n\nThe machine restarts into audit mode, where its "
                "builder customises and tests it (root is logged in on the console). "
                "This is not for the person who will use this computer.",
                markup=False,
            )
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
    CSS = (
        SysprepApp.CSS
        + """
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
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+f15", "audit", show=False, priority=True),
        Binding("ctrl+shift+f3", "audit", show=False, priority=True),
        Binding("f12", "ask_audit", show=False, priority=True),
        Binding("escape", "prev_page", show=False),
    ]

    def __init__(
        self,
        plan: Plan,
        hasher: Hasher,
        fs: Confined | None,
        *,
        console: bool = False,
        idle_timeout: float | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
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
                    (
                        LOCALE,
                        "Choose the language and region of this computer.",
                        p.locales,
                        p.locale,
                        "locale-list",
                    ),
                    (KEYBOARD, "Choose the keyboard layout.", p.keymaps, p.keymap, "keymap-list"),
                    (TIME_ZONE, "Choose the time zone.", p.zones, p.zone, "zone-list"),
                ):
                    if page in p.pages:
                        with Vertical(id=page, classes="page"):
                            yield Static(label, classes="label")
                            yield PickList(catalog, value, id=list_id)
                if LICENSE in p.pages:
                    with Vertical(id=LICENSE, classes="page"):
                        yield Static(
                            "Read the license terms (PgUp/PgDn to scroll).", classes="label"
                        )
                        with VerticalScroll(id="eula-text"):
                            yield Static(p.eula, markup=False)
                        yield Check(
                            "I accept the license terms",
                            id="eula-accept",
                            ascii=self.console_mode,
                            compact=True,
                        )
                if HOST_NAME in p.pages:
                    with Vertical(id=HOST_NAME, classes="page"):
                        yield Static(
                            "Type a name for this computer (its host name).", classes="label"
                        )
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
                        yield Check(
                            "Administrator (may use sudo)",
                            value=True,
                            id="admin",
                            ascii=self.console_mode,
                            compact=True,
                        )
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
        for label, value in (
            ("Language and region", r.locale),
            ("Keyboard", r.keymap),
            ("Time zone", r.time_zone),
            ("Computer name", r.hostname),
        ):
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
                f"Strength: [{bar}] {choices.LEVELS[level]}" if pw else ""
            )

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
                return (
                    "To use this computer you must accept the license terms (Space ticks the box)."
                )
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
        self.result.account = Account(
            name,
            hashed,
            self.query_one("#admin", Check).value,
            self.query_one("#fullname", Input).value.strip(),
        )
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
