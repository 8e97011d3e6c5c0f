"""The AuditUI (the seed's "Displaying RunSynchronous Actions"), and `sysprep state --follow`.

Both read the progress record the pass engine writes (docs/progress-record.md) and the
command logs it streams, so the UI never drives the commands: the boot engine shows it on
the console while a pass runs its RunSynchronous commands, and `sysprep state --follow`
shows the same from another terminal or an SSH session. The commands are listed in Order by
their Description (else Path), with a spinner on the running one, a check or a cross when
done, the elapsed time, and the tail of the selected command's log. Items processed before
the last reboot are not shown (as in Windows); unlike Windows, a long list scrolls.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, ClassVar

from sysprep import schemas
from sysprep.passes import progress as prog
from sysprep.passes import state as image_state
from sysprep.ui.terminal import Glyphs, Terminal

if TYPE_CHECKING:
    from sysprep.log import RunLog
    from sysprep.target import Target
    from sysprep.target.confined import Confined

TICK = 0.25
LOG_TAIL_BYTES = 16 * 1024


@dataclass
class Snapshot:
    state: image_state.State | None
    record: prog.Progress | None

    @property
    def running(self) -> bool:
        """A pass is under way: the engine marks the image UNDEPLOYABLE with Running=, and
        keeps Running= with LastError= once it failed (nothing runs any more then)."""
        return bool(self.state and self.state.running and not self.state.last_error)

    def key(self) -> str:
        st = self.state
        return json.dumps(
            [
                st.image_state.value if st else None,
                st.running if st else "",
                st.last_error if st else "",
                self.record.to_json() if self.record else None,
            ],
            sort_keys=True,
        )


def snapshot(fs: Confined) -> Snapshot:
    return Snapshot(image_state.read(fs), prog.read(fs))


def visible(record: prog.Progress) -> list[prog.Item]:
    """The items to show: those processed before the last reboot are not."""
    return [i for i in record.items if not i.processed or not i.boot or i.boot == record.boot_id]


def _parse(ts: str) -> float | None:
    try:
        return time.mktime(time.strptime(ts, "%Y-%m-%dT%H:%M:%S%z"))
    except (ValueError, OverflowError):
        return None


def elapsed(item: prog.Item, now: float | None = None) -> str:
    """m:ss from start to finish, or to now while it runs."""
    start = _parse(item.started) if item.started else None
    if start is None:
        return ""
    end = _parse(item.finished) if item.finished else None
    if end is None:
        if item.status != prog.RUNNING:
            return ""
        end = time.time() if now is None else now
    seconds = max(0, int(end - start))
    return f"{seconds // 60}:{seconds % 60:02d}"


def mark(item: prog.Item, glyphs: Glyphs, frame: int = 0) -> str:
    if item.status == prog.RUNNING:
        return glyphs.spinner[frame % len(glyphs.spinner)]
    if item.status == prog.SUCCEEDED:
        return glyphs.ok
    if item.status in (prog.FAILED, prog.FATAL):
        return glyphs.fail
    if item.status == prog.RERUN:
        return glyphs.ok  # checked for now; it runs again after the reboot (the seed's rule)
    return " " * len(glyphs.ok)


STYLE = {
    prog.SUCCEEDED: "green",
    prog.RERUN: "green",
    prog.FAILED: "red",
    prog.FATAL: "bold red",
    prog.RUNNING: "yellow",
}


def summary(snap: Snapshot) -> str:
    st, rec = snap.state, snap.record
    if rec is None:
        if st is None:
            return "sysprep has not run on this system"
        return f"{st.image_state.value}: no RunSynchronous commands recorded"
    items = visible(rec)
    done = sum(1 for i in items if i.processed)
    head = f"{rec.pass_name}: {done} of {len(items)} done"
    running = next((i for i in items if i.status == prog.RUNNING), None)
    fatal = next((i for i in items if i.status == prog.FATAL), None)
    if fatal is not None:
        return (
            f"{head}; Order {fatal.order} failed with status {fatal.exit_code}: the pass stopped "
            "(see /var/log/sysprep/setuperr.log)"
        )
    if rec.reboot_pending:
        return f"{head}; a command asked for a reboot: the pass continues after it"
    if running is not None:
        return f"{head}; running Order {running.order}: {running.label}"
    if rec.finished:
        return f"{head}; finished"
    return head


def log_tail(fs: Confined, item: prog.Item | None, lines: int = 200) -> str:
    if item is None or not item.log:
        return ""
    data = fs.read_bytes(item.log.lstrip("/"), tail=LOG_TAIL_BYTES)
    if data is None:
        return "(no output yet)" if item.status in (prog.RUNNING, prog.PENDING) else "(no output)"
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


# -- full screen ---------------------------------------------------------------------------


def _app_class() -> Any:
    from rich.text import Text
    from textual.app import ComposeResult
    from textual.binding import Binding, BindingType
    from textual.containers import Vertical
    from textual.widgets import OptionList, RichLog, Static
    from textual.widgets.option_list import Option

    from sysprep.ui.base import SysprepApp

    class AuditApp(SysprepApp[None]):
        CSS = (
            SysprepApp.CSS
            + """
        #status { height: auto; padding: 0 1; }
        #items { height: 1fr; min-height: 5; border: solid $primary; }
        #logtitle { height: 1; padding: 0 1; color: $text-muted; }
        #log { height: 9; border: solid $panel; }
        """
        )
        BINDINGS: ClassVar[list[BindingType]] = [
            Binding("q", "quit_if_allowed", "Quit", show=False)
        ]

        def __init__(
            self,
            read: Callable[[], Snapshot],
            tail: Callable[[prog.Item | None], str],
            *,
            console: bool = False,
            can_quit: bool = True,
            stop: Callable[[], bool] | None = None,
            title: str = "Audit mode",
        ) -> None:
            super().__init__(console=console)
            self.read, self.tail, self.can_quit, self.stop = read, tail, can_quit, stop
            self.heading = title
            self.frame = 0
            self.items: list[prog.Item] = []
            self.follow_running = True
            self.last_key = ""
            self.last_log = ""
            self.ticks = 0

        def compose(self) -> ComposeResult:
            yield self.title_bar(self.heading)
            yield self.key_bar(
                "Up/Down: choose a command to see its output"
                + ("  q: quit" if self.can_quit else "")
            )
            with Vertical():
                yield Static("", id="status", markup=False)
                yield OptionList(id="items", compact=True)
                yield Static("", id="logtitle", markup=False)
                yield RichLog(id="log", wrap=True, markup=False, highlight=False, max_lines=500)

        def on_mount(self) -> None:
            super().on_mount()
            self.query_one("#items", OptionList).focus()
            self.update()
            self.set_interval(TICK, self.update)

        def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
            running = next((n for n, i in enumerate(self.items) if i.status == prog.RUNNING), None)
            if event.option_index != running and self.items:
                self.follow_running = False
            self._show_log()

        def _line(self, item: prog.Item) -> Text:
            g = self.glyphs
            width = max(len(g.ok), len(g.fail), 1)
            t = Text()
            t.append(mark(item, g, self.frame).ljust(width), style=STYLE.get(item.status, ""))
            t.append(f" {item.order:>3}  ")
            t.append(item.label)
            extra = elapsed(item)
            if item.exit_code not in (None, 0):
                extra += f"  exit {item.exit_code}"
            if item.status == prog.RERUN:
                extra += "  (runs again after the reboot)"
            if extra:
                t.append(f"  {extra.strip()}", style="dim")
            return t

        def update(self) -> None:
            if self.stop is not None and self.stop():
                self.exit()
                return
            self.frame += 1
            self.ticks += 1
            snap = self.read()
            items = visible(snap.record) if snap.record else []
            ol = self.query_one("#items", OptionList)
            if [i.order for i in items] != [i.order for i in self.items]:
                ol.clear_options()
                ol.add_options([Option(self._line(i)) for i in items])
            else:
                for n, item in enumerate(items):
                    ol.replace_option_prompt_at_index(n, self._line(item))
            self.items = items
            self.query_one("#status", Static).update(summary(snap))
            if self.follow_running and items:
                target = next((n for n, i in enumerate(items) if i.status == prog.RUNNING), None)
                if target is None:
                    target = max((n for n, i in enumerate(items) if i.processed), default=0)
                if ol.highlighted != target:
                    ol.highlighted = target
            self._show_log()
            if self.console_mode and self.ticks % 8 == 0:
                self.refresh(layout=True)  # heal lines the kernel or systemd wrote over us

        def _selected(self) -> prog.Item | None:
            ol = self.query_one("#items", OptionList)
            if ol.highlighted is None or ol.highlighted >= len(self.items):
                return None
            return self.items[ol.highlighted]

        def _show_log(self) -> None:
            item = self._selected()
            text = self.tail(item)
            if text == self.last_log:
                return
            self.last_log = text
            self.query_one("#logtitle", Static).update(
                f"Output of Order {item.order} ({item.log})" if item else ""
            )
            log = self.query_one("#log", RichLog)
            log.clear()
            log.write(text)

        def action_quit_if_allowed(self) -> None:
            if self.can_quit:
                self.exit()

    return AuditApp


def make_app(
    fs: Confined,
    *,
    console: bool = False,
    can_quit: bool = True,
    stop: Callable[[], bool] | None = None,
    title: str = "Audit mode",
) -> Any:
    return _app_class()(
        lambda: snapshot(fs),
        lambda item: log_tail(fs, item),
        console=console,
        can_quit=can_quit,
        stop=stop,
        title=title,
    )


# -- plain and JSON ------------------------------------------------------------------------


def _plain_line(item: prog.Item) -> str:
    word = {
        prog.PENDING: "pending",
        prog.RUNNING: "running",
        prog.SUCCEEDED: "ok",
        prog.FAILED: "failed",
        prog.FATAL: "FATAL",
        prog.RERUN: "ok (runs again after the reboot)",
    }
    code = "" if item.exit_code is None else f", exit {item.exit_code}"
    took = elapsed(item)
    return f"[{word.get(item.status, item.status)}] {item.order:>3} {item.label}" + (
        f" ({took}{code})" if took or code else ""
    )


def follow_plain(
    read: Callable[[], Snapshot],
    out: IO[str],
    *,
    as_json: bool = False,
    interval: float = 0.5,
    until_idle: bool = True,
    stop: Callable[[], bool] | None = None,
    timeout: float | None = None,
) -> Snapshot:
    """One line per change (an item's status, or the record as JSON); ends when nothing is
    under way any more."""
    seen: dict[int, str] = {}
    last_key, last_summary = "", ""
    end = None if timeout is None else time.monotonic() + timeout
    idle_since: float | None = None
    while True:
        snap = read()
        key = snap.key()
        if key != last_key:
            last_key = key
            if as_json:
                out.write(json.dumps(_json(snap)) + "\n")
            elif snap.record is not None:
                for item in visible(snap.record):
                    line = _plain_line(item)
                    if seen.get(item.order) != line and not (
                        item.status == prog.RUNNING
                        and seen.get(item.order, "").startswith("[running]")
                    ):
                        out.write(line + "\n")
                        seen[item.order] = line
            text = summary(snap)
            if not as_json and text != last_summary:
                out.write(f"-- {text}\n")
                last_summary = text
            out.flush()
        if stop is not None and stop():
            return snap
        if until_idle:
            if snap.running:
                idle_since = None
            else:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= 2 * interval:
                    return snap
        if end is not None and time.monotonic() >= end:
            return snap
        time.sleep(interval)


def _json(snap: Snapshot) -> dict[str, Any]:
    st = snap.state
    return {
        "schema_version": schemas.VERSION,
        "image_state": st.image_state.value if st else None,
        "pending": list(st.pending) if st else [],
        "running": st.running if st else "",
        "last_error": st.last_error if st else "",
        "summary": summary(snap),
        "progress": snap.record.to_json() if snap.record else None,
    }


def follow(fs: Confined, terminal: Terminal, out: IO[str], *, as_json: bool = False) -> int:
    """`sysprep state --follow`: the AuditUI read-only, or lines (plain / JSON lines)."""
    if as_json or not terminal.full:
        follow_plain(lambda: snapshot(fs), out, as_json=as_json)
        return 0
    make_app(fs, console=terminal.console, title="sysprep state --follow").run()
    return 0


# -- at boot -------------------------------------------------------------------------------


def show_on_console(target: Target, log: RunLog, pass_name: str) -> Any:
    """Start the AuditUI on the console for a pass's commands; the engine stops it afterwards
    (ConsoleChild.stop). None when there is no console to show it on."""
    from sysprep.ui import console
    from sysprep.ui.terminal import detect

    where = console.console_path(live=target.live)
    if where is None or where == console.HERE:
        return None  # the engine's own lines are the plain AuditUI there

    def work(channel: console.Channel) -> dict[str, Any]:
        term = detect(0, 1)
        if term.full:
            try:
                make_app(
                    target.fs,
                    console=term.console,
                    can_quit=False,
                    stop=channel.stop_requested,
                    title=f"sysprep - {pass_name} - RunSynchronous",
                ).run()
                return {}
            except Exception:  # the console could not run textual: lines instead
                pass
        import sys

        follow_plain(
            lambda: snapshot(target.fs), sys.stdout, until_idle=False, stop=channel.stop_requested
        )
        return {}

    child = console.ConsoleChild(where, work)
    try:
        child.start()
    except OSError as e:
        log.info(f"the AuditUI could not open {where}: {e}")
        return None
    log.info(f"the AuditUI shows the {pass_name} commands on {where}")
    return child
