"""The Sysprep dialog (the seed's "Sysprep window"): `sysprep` with no action on a terminal.

System Cleanup Action (OOBE or audit), Generalize, Shutdown Options (Quit, Reboot,
Shutdown), OK and Cancel. The dialog only chooses: its answer is the command-line options
that mean the same, and the caller runs them exactly as if they had been typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, ClassVar

from sysprep.request import Power, Reseal
from sysprep.ui.terminal import Terminal, detect

TITLE = "System Preparation Tool (sysprep)"
INTRO = (
    "sysprep prepares this installation for imaging or delivery: it can generalize it "
    "(remove what makes it one particular machine) and reseal it, so that the next boot "
    "runs the welcome (OOBE) or audit mode."
)
ACTIONS = {
    Reseal.OOBE: "Enter System Out-of-Box Experience (OOBE)",
    Reseal.AUDIT: "Enter System Audit Mode",
}
POWERS = {Power.QUIT: "Quit", Power.REBOOT: "Reboot", Power.SHUTDOWN: "Shutdown"}


@dataclass(frozen=True)
class Choice:
    reseal: Reseal = Reseal.OOBE
    generalize: bool = False
    power: Power = Power.REBOOT

    def argv(self) -> list[str]:
        """The command-line options that ask for exactly this."""
        out = ["--generalize"] if self.generalize else []
        out.append("--oobe" if self.reseal is Reseal.OOBE else "--audit")
        out.append("--" + self.power.value)
        return out


def default_choice(offline: bool, power: Power | None = None) -> Choice:
    """Windows' defaults: OOBE, not generalized, reboot (an offline target only quits)."""
    return Choice(power=Power.QUIT if offline else power or Power.REBOOT)


def command_line(choice: Choice, base: list[str]) -> str:
    return " ".join(["sysprep", *choice.argv(), *base])


# -- full screen ---------------------------------------------------------------------------


def _app_class() -> Any:
    from textual.app import ComposeResult
    from textual.binding import Binding, BindingType
    from textual.containers import Horizontal, Vertical
    from textual.widgets import Button, RadioSet, Static

    from sysprep.ui.base import Check, Choices, Radio, SysprepApp

    class DialogApp(SysprepApp[Choice]):
        CSS = (
            SysprepApp.CSS
            + """
        #body { padding: 0 2; height: 1fr; }
        #intro { height: auto; margin: 1 0 0 0; }
        RadioSet { width: 100%; height: auto; }
        #buttons { height: 1; margin: 1 0 0 0; align-horizontal: right; }
        #buttons Button { margin: 0 0 0 2; min-width: 12; }
        #command { height: auto; margin: 1 0 0 0; color: $text-muted; }
        #target { height: auto; color: $text-muted; }
        """
        )
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("escape", "cancel", "Cancel", show=False),
            Binding("enter", "ok", "OK", show=False),
        ]

        def __init__(
            self,
            target: str,
            offline: bool,
            base: list[str],
            *,
            console: bool = False,
            power: Power | None = None,
        ) -> None:
            super().__init__(console=console)
            self.target, self.offline, self.base = target, offline, base
            self.choice = default_choice(offline, power)

        def compose(self) -> ComposeResult:
            yield from self.compose_bars(
                TITLE, "Tab: next field  Arrows: choose  Space: tick  Enter: OK  Esc: Cancel"
            )
            ascii = self.console_mode
            with Vertical(id="body"):
                yield Static(INTRO, id="intro")
                yield Static(f"Target: {self.target}", id="target", markup=False)
                yield Static("System Cleanup Action", classes="heading")
                with Choices(id="action", compact=True):
                    for r, label in ACTIONS.items():
                        yield Radio(
                            label,
                            value=r is self.choice.reseal,
                            ascii=ascii,
                            id=f"action-{r.value}",
                        )
                yield Check(
                    "Generalize",
                    value=self.choice.generalize,
                    ascii=ascii,
                    id="generalize",
                    compact=True,
                )
                yield Static("Shutdown Options", classes="heading")
                with Choices(id="power", compact=True):
                    for p, label in POWERS.items():
                        disabled = self.offline and p is not Power.QUIT
                        yield Radio(
                            label + (" (live system only)" if disabled else ""),
                            value=p is self.choice.power,
                            ascii=ascii,
                            id=f"power-{p.value}",
                            disabled=disabled,
                        )
                yield Static("", id="command", markup=False)
                with Horizontal(id="buttons"):
                    yield Button("OK", id="ok", variant="primary", compact=True)
                    yield Button("Cancel", id="cancel", compact=True)

        def on_mount(self) -> None:
            super().on_mount()
            self.query_one("#action", RadioSet).focus()
            self._show_command()

        def _show_command(self) -> None:
            self.query_one("#command", Static).update(
                "Runs: " + command_line(self.choice, self.base)
            )

        def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
            pressed = event.pressed.id or ""
            if pressed.startswith("action-"):
                self.choice = Choice(
                    Reseal(pressed[len("action-") :]), self.choice.generalize, self.choice.power
                )
            elif pressed.startswith("power-"):
                self.choice = Choice(
                    self.choice.reseal, self.choice.generalize, Power(pressed[len("power-") :])
                )
            self._show_command()

        def on_checkbox_changed(self, event: Check.Changed) -> None:
            self.choice = Choice(self.choice.reseal, event.value, self.choice.power)
            self._show_command()

        def on_button_pressed(self, event: Button.Pressed) -> None:
            if event.button.id == "ok":
                self.exit(self.choice)
            else:
                self.exit(None)

        def action_ok(self) -> None:
            self.exit(self.choice)

        def action_cancel(self) -> None:
            self.exit(None)

    return DialogApp


def make_app(
    target: str,
    offline: bool,
    base: list[str],
    *,
    console: bool = False,
    power: Power | None = None,
) -> Any:
    return _app_class()(target, offline, base, console=console, power=power)


# -- plain ---------------------------------------------------------------------------------


def _ask(out: IO[str], inp: IO[str], prompt: str) -> str | None:
    out.write(prompt)
    out.flush()
    line = inp.readline()
    if not line:
        return None
    return line.strip()


def _pick(out: IO[str], inp: IO[str], title: str, options: list[str], default: int) -> int | None:
    out.write(f"{title}:\n")
    for i, o in enumerate(options, 1):
        out.write(f"  {i}) {o}\n")
    while True:
        answer = _ask(out, inp, f"Choose 1-{len(options)} [{default + 1}]: ")
        if answer is None:
            return None
        if answer == "":
            return default
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return int(answer) - 1
        out.write("  please type one of the numbers shown\n")


def _yes(out: IO[str], inp: IO[str], prompt: str, default: bool) -> bool | None:
    while True:
        answer = _ask(out, inp, f"{prompt} [{'Y/n' if default else 'y/N'}]: ")
        if answer is None:
            return None
        if answer == "":
            return default
        if answer.lower() in ("y", "yes"):
            return True
        if answer.lower() in ("n", "no"):
            return False
        out.write("  please answer y or n\n")


def ask_plain(
    target: str,
    offline: bool,
    base: list[str],
    out: IO[str],
    inp: IO[str],
    power: Power | None = None,
) -> Choice | None:
    """The dialog as line prompts (EOF or 'n' at the end: cancelled)."""
    out.write(f"{TITLE}\n{INTRO}\nTarget: {target}\n\n")
    d = default_choice(offline, power)
    actions = list(ACTIONS)
    a = _pick(
        out, inp, "System Cleanup Action", [ACTIONS[r] for r in actions], actions.index(d.reseal)
    )
    if a is None:
        return None
    g = _yes(out, inp, "Generalize", d.generalize)
    if g is None:
        return None
    powers = [Power.QUIT] if offline else list(POWERS)
    p = _pick(
        out,
        inp,
        "Shutdown Options" + (" (an offline target only quits)" if offline else ""),
        [POWERS[x] for x in powers],
        powers.index(d.power),
    )
    if p is None:
        return None
    choice = Choice(actions[a], g, powers[p])
    ok = _yes(out, inp, f"Run: {command_line(choice, base)} ?", False)
    return choice if ok else None


# -- entry point ---------------------------------------------------------------------------


def ask(
    target: str,
    offline: bool,
    base: list[str],
    terminal: Terminal | None = None,
    out: IO[str] | None = None,
    inp: IO[str] | None = None,
    power: Power | None = None,
) -> Choice | None:
    """Show the dialog on this terminal (full screen or plain); the choice, or None (Cancel)."""
    import sys

    terminal = terminal or detect()
    if terminal.full:
        try:
            app = make_app(target, offline, base, console=terminal.console, power=power)
            result: Choice | None = app.run()
            return result
        except Exception as e:  # textual could not drive this terminal: ask line by line
            (out or sys.stdout).write(
                f"(the full-screen dialog could not start: {e}; asking line by line)\n"
            )
    return ask_plain(target, offline, base, out or sys.stdout, inp or sys.stdin, power)
