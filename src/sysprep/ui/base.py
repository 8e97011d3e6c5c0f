"""What the full-screen UIs share: the title and key-hint lines, and widgets that the Linux
console can draw (ASCII toggles, masks and scroll bars; ANSI colours; no half-block borders)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static

from sysprep.ui.terminal import ASCII, UNICODE, Glyphs

T = TypeVar("T")

BASE_CSS = """
Screen { background: $background; }
#title { dock: top; height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
#keys { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
.error { color: $error; text-style: bold; height: auto; }
.hint { color: $text-muted; height: auto; }
.heading { text-style: bold; height: auto; margin: 1 0 0 0; }
"""


class PlainScrollBarRender(ScrollBarRender):
    """Scroll bars drawn with spaces and colour only (no eighth-blocks: not in console fonts)."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


class SysprepApp(App[T]):
    """A sysprep UI: compact widgets, console-safe glyphs when `console` is set."""

    CSS = BASE_CSS
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, *, console: bool = False, **kwargs: Any) -> None:
        super().__init__(ansi_color=True if console else None, **kwargs)
        self.console_mode = console
        self.glyphs: Glyphs = ASCII if console else UNICODE
        if console:
            ScrollBar.renderer = PlainScrollBarRender

    def on_mount(self) -> None:
        if self.console_mode:
            self.theme = "ansi-dark"

    def title_bar(self, text: str) -> Static:
        return Static(text, id="title", markup=False)

    def key_bar(self, text: str) -> Static:
        return Static(text, id="keys", markup=False)

    def compose_bars(self, title: str, keys: str) -> ComposeResult:
        yield self.title_bar(title)
        yield self.key_bar(keys)


class Radio(RadioButton):
    def __init__(
        self, label: str, *, value: bool = False, ascii: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(label, value=value, **kwargs)
        if ascii:
            self.BUTTON_LEFT, self.BUTTON_INNER, self.BUTTON_RIGHT = "(", "*", ")"


class Choices(RadioSet, inherit_bindings=False):
    """Radio buttons where the arrows choose at once (like a drop-down) and Enter is left to
    the dialog's default button."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "step(1)", "Next option", show=False),
        Binding("up,left", "step(-1)", "Previous option", show=False),
        Binding("space", "toggle_button", "Choose", show=False),
    ]

    def action_step(self, direction: int) -> None:
        if self.pressed_index >= 0:
            self._selected = self.pressed_index  # step from the chosen one, not the first
        if direction > 0:
            self.action_next_button()
        else:
            self.action_previous_button()
        self.action_toggle_button()


class Check(Checkbox, inherit_bindings=False):
    """A check box toggled by Space (Enter is left to the dialog's default button)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False)
    ]

    def __init__(
        self, label: str, *, value: bool = False, ascii: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(label, value=value, **kwargs)
        if ascii:
            self.BUTTON_LEFT, self.BUTTON_INNER, self.BUTTON_RIGHT = "[", "X", "]"


class Secret(Input):
    """A password field; masked with '*' (the console font has no bullet)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(password=True, **kwargs)

    @property
    def _value(self) -> Text:
        return Text("*" * len(self.value), no_wrap=True, overflow="ignore", end="")
