"""The welcome's plan: which pages to ask (every page the answer file answers is skipped),
what each offers and starts from, and what the person chose (Result)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sysprep.firstboot.choices import EULA_RECORD as EULA_RECORD
from sysprep.passes.switches import kernel_cmdline
from sysprep.ui import choices
from sysprep.ui.choices import Catalog

if TYPE_CHECKING:
    from sysprep.target.confined import Confined

EULA_DEFAULT = "etc/sysprep/eula.txt"
AUDIT_HINT = "Ctrl+Shift+F3 or F12: audit mode"
LOCALE, KEYBOARD, TIME_ZONE, LICENSE, HOST_NAME, ACCOUNT = (
    "locale",
    "keyboard",
    "time-zone",
    "license",
    "host-name",
    "account",
)
PAGE_TITLES = {
    LOCALE: "Language and region",
    KEYBOARD: "Keyboard",
    TIME_ZONE: "Time zone",
    LICENSE: "License terms",
    HOST_NAME: "Computer name",
    ACCOUNT: "User account",
}
# what xterm (and our patched console keymap) sends for Ctrl+Shift+F3, and what F12 sends
AUDIT_SEQUENCES = ("\x1b[1;6R", "\x1b[24~")

Hasher = Callable[[str], str]


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
