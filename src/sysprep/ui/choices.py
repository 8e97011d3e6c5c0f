"""What the welcome offers and checks, read from the target: its locales, keymaps, time zones,
accounts and current settings; and the password-strength rating shown while typing."""

from __future__ import annotations

import re
from dataclasses import dataclass

# the forms the welcome accepts are those its choices are applied with (re-exported)
from sysprep.firstboot.apply import KEYMAP as KEYMAP
from sysprep.firstboot.apply import LOCALE as LOCALE
from sysprep.firstboot.apply import ZONE as ZONE
from sysprep.rules import passwd
from sysprep.rules.names import ACCOUNT as ACCOUNT
from sysprep.rules.names import hostname_problem as _hostname_problem
from sysprep.target.confined import Confined

# Offered when the image does not list its own (checked only for their form then).
COMMON_LOCALES = (
    "C.UTF-8",
    "en_US.UTF-8",
    "en_GB.UTF-8",
    "de_DE.UTF-8",
    "fr_FR.UTF-8",
    "es_ES.UTF-8",
    "it_IT.UTF-8",
    "nl_NL.UTF-8",
    "pt_BR.UTF-8",
    "pl_PL.UTF-8",
    "sv_SE.UTF-8",
    "ja_JP.UTF-8",
    "zh_CN.UTF-8",
    "ru_RU.UTF-8",
)
COMMON_KEYMAPS = (
    "us",
    "gb",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "br",
    "pl",
    "se",
    "no",
    "dk",
    "fi",
    "ch",
    "be",
    "jp",
    "ru",
    "cz",
    "hu",
)
WEAK = frozenset(
    {
        "password",
        "passw0rd",
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty",
        "qwertyuiop",
        "letmein",
        "welcome",
        "admin",
        "changeme",
        "iloveyou",
        "abc123",
        "111111",
        "000000",
        "secret",
        "linux",
        "root",
        "toor",
        "default",
    }
)


@dataclass(frozen=True)
class Option:
    value: str
    description: str = ""


@dataclass(frozen=True)
class Catalog:
    """The choices of one page; `known` when they come from the image (then they are the
    only values accepted)."""

    options: tuple[Option, ...]
    known: bool

    def has(self, value: str) -> bool:
        return any(o.value == value for o in self.options)

    def find(self, value: str) -> str | None:
        """The option spelled like `value` ignoring case, if any."""
        low = value.lower()
        return next((o.value for o in self.options if o.value.lower() == low), None)


def _keyvalues(text: str | None) -> dict[str, str]:
    out = {}
    for line in (text or "").splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip().strip('"').strip("'")
    return out


def locales(fs: Confined) -> Catalog:
    text = fs.read_text("usr/share/i18n/SUPPORTED", limit=1024 * 1024)
    if text is None:
        return Catalog(tuple(Option(v) for v in COMMON_LOCALES), False)
    names = ["C.UTF-8"]
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "UTF-8" and parts[0] not in names:
            names.append(parts[0])
    return Catalog(tuple(Option(n) for n in names), True)


def keymaps(fs: Confined) -> Catalog:
    """XKB layouts (what Debian's console-setup and systemd's localed use), with their names;
    else the console keymaps of kbd."""
    found: dict[str, str] = {}
    text = fs.read_text("usr/share/X11/xkb/rules/base.lst", limit=4 * 1024 * 1024)
    if text is not None:
        section = ""
        for line in text.splitlines():
            if line.startswith("!"):
                section = line[1:].strip()
                continue
            if section == "layout":
                m = re.match(r"^\s+(\S+)\s+(.*)$", line)
                if m:
                    found[m.group(1)] = m.group(2).strip()
    for base in ("usr/share/keymaps", "usr/share/kbd/keymaps", "usr/lib/kbd/keymaps"):
        if not fs.is_dir(base):
            continue
        for pattern in ("*/*.map.gz", "*/*/*.map.gz", "*/*/*.kmap.gz", "*/*.kmap.gz"):
            for path in fs.glob(f"{base}/{pattern}"):
                name = path.rsplit("/", 1)[1].split(".")[0]
                found.setdefault(name, "")
    if not found:
        return Catalog(tuple(Option(v) for v in COMMON_KEYMAPS), False)
    return Catalog(tuple(Option(k, v) for k, v in sorted(found.items())), True)


def time_zones(fs: Confined) -> Catalog:
    names: set[str] = set()
    for line in (
        fs.read_text("usr/share/zoneinfo/tzdata.zi", limit=4 * 1024 * 1024) or ""
    ).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Z", "Zone", "L", "Link"):
            names.add(parts[1] if parts[0] in ("Z", "Zone") else parts[-1])
    for tab in ("usr/share/zoneinfo/zone1970.tab", "usr/share/zoneinfo/zone.tab"):
        text = fs.read_text(tab, limit=1024 * 1024)
        for line in (text or "").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and not line.startswith("#"):
                names.add(parts[2].strip())
    names = {n for n in names if ZONE.match(n) and fs.is_file(f"usr/share/zoneinfo/{n}")}
    if fs.is_file("usr/share/zoneinfo/UTC"):
        names.add("UTC")
    return Catalog(tuple(Option(n) for n in sorted(names)), bool(names))


def valid_zone(fs: Confined, zone: str) -> str | None:
    """Why `zone` cannot be this machine's time zone, or None."""
    if not ZONE.match(zone) or ".." in zone:
        return f"{zone!r} is not a time-zone name like Europe/Berlin"
    if not fs.is_file(f"usr/share/zoneinfo/{zone}"):
        return f"unknown time zone {zone}: it is not in this system's time-zone database"
    return None


def current_locale(fs: Confined) -> str:
    for path in ("etc/default/locale", "etc/locale.conf"):
        lang = _keyvalues(fs.read_text(path)).get("LANG")
        if lang:
            return lang
    return "C.UTF-8"


def current_keymap(fs: Confined) -> str:
    return (
        _keyvalues(fs.read_text("etc/vconsole.conf")).get("KEYMAP")
        or _keyvalues(fs.read_text("etc/default/keyboard")).get("XKBLAYOUT", "").split(",")[0]
        or "us"
    )


def current_zone(fs: Confined) -> str:
    text = (fs.read_text("etc/timezone") or "").strip()
    if text:
        return text
    link = fs.readlink("etc/localtime") or ""
    if "zoneinfo/" in link:
        return link.split("zoneinfo/", 1)[1]
    return "UTC"


def current_hostname(fs: Confined) -> str:
    return (fs.read_text("etc/hostname") or "").strip() or "localhost"


def _names(fs: Confined, path: str) -> set[str]:
    return passwd.names(fs.read_text(path) or "")


def account_problem(fs: Confined, name: str) -> str | None:
    """Why useradd would refuse `name` on this system (or it would clash), or None."""
    if not name:
        return "type a user name"
    if not ACCOUNT.match(name):
        return (
            "a user name is lower-case letters, digits, '_' and '-', starts with a letter "
            "or '_', and has at most 32 characters"
        )
    if name in _names(fs, "etc/passwd"):
        return f"the account {name} already exists on this system: choose another name"
    if name in _names(fs, "etc/group"):
        return f"a group named {name} already exists on this system: choose another name"
    return None


def hostname_problem(name: str) -> str | None:
    if not name:
        return "type a host name"
    if _hostname_problem(name) is not None:
        return (
            "a host name is letters, digits and '-' (not at either end), at most 63 per "
            "dot-separated part and 64 in all"
        )
    return None


LEVELS = ("very weak", "weak", "fair", "good", "strong")


def strength(password: str, user: str = "") -> int:
    """0 (very weak) to 4 (strong): length, kinds of characters, no common or user-derived
    password."""
    if not password:
        return 0
    low = password.lower()
    if low in WEAK or len(set(password)) <= 2 or (user and user.lower() in low):
        return 0
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    score = 0
    if len(password) >= 8:
        score += 1
    if len(password) >= 12:
        score += 1
    if kinds >= 3:
        score += 1
    if len(password) >= 16 or (kinds == 4 and len(password) >= 10):
        score += 1
    return min(score, 4)


def password_problem(password: str, again: str, user: str = "") -> str | None:
    if not password:
        return "type a password"
    if strength(password, user) == 0:
        return (
            "this password is too easy to guess: make it longer, or mix letters, digits and signs"
        )
    if password != again:
        return "the two passwords differ: type the same password twice"
    return None
