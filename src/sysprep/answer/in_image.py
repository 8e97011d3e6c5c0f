"""The answer file checked against the image it is applied to, before anything changes.

The schema says a value is well formed; this says the image can honour it: every time zone
is installed, every locale is compiled or can be generated (locale-gen, as the boot
generates it), every keyboard has a console keymap or an XKB layout, every account's groups
exist and the tools that make accounts are there, and every command's program is present
(an absolute path, or a name found in the directories of the PATH commands run with).
What a command needs may come from an earlier step: a program, a group or an account that
an earlier command (in the order the passes run) mentions is a warning, not an error.
Everything is read through the confined layer.
"""

from __future__ import annotations

import re
import shlex
import stat
import struct
from dataclasses import dataclass, replace
from typing import Iterator

from sysprep.answer import checks, locales, schema
from sysprep.answer.model import DEPLOYMENT, INTERNATIONAL, SHELL, Answer
from sysprep.answer.problems import Problem, Severity, fail
from sysprep.answer.tree import Pos
from sysprep.rules import passwd
from sysprep.target.confined import Confined
from sysprep.target.sandbox import SANDBOX_PATH

ZONEINFO = "usr/share/zoneinfo"
LOCALE_DIR = "usr/lib/locale"
LOCALE_ARCHIVE = f"{LOCALE_DIR}/locale-archive"
SUPPORTED = "usr/share/i18n/SUPPORTED"
LOCALE_GEN = "etc/locale.gen"
LOCALE_GEN_PROGRAM = "usr/sbin/locale-gen"
BUILTIN_LOCALES = ("C", "POSIX", "C.UTF-8", "C.utf8")
KEYMAP_DIRS = (
    "usr/share/kbd/keymaps",
    "usr/lib/kbd/keymaps",
    "lib/kbd/keymaps",
    "usr/share/keymaps",
)
KEYMAP_SUFFIXES = re.compile(r"\.k?map(\.(gz|bz2|xz|zst))?$")
XKB_SYMBOLS = "usr/share/X11/xkb/symbols"
PATH_DIRS = tuple(d.lstrip("/") for d in SANDBOX_PATH.split(":"))
SHELLS = ("bin/bash", "usr/bin/bash", "bin/sh")  # what useradd is given (firstboot.apply)
TOOL_PACKAGES = {
    "useradd": "passwd (shadow-utils)",
    "chpasswd": "passwd (shadow-utils)",
    "runuser": "util-linux",
}

# What /bin/sh runs without looking for a program: POSIX keywords and builtins.
_SHELL_WORDS = (
    "! { } ( ) if then else elif fi case esac for while until do done in function "
    "select . : [ alias bg break cd command continue echo eval exec exit export "
    "false fg getopts hash jobs kill local printf pwd read readonly return set shift "
    "source test times trap true type ulimit umask unalias unset wait"
)
SHELL_WORDS = frozenset(_SHELL_WORDS.split(" "))
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_DYNAMIC = re.compile(r"[$`*?\[\]{}~<>|;&()]")
ARCHIVE_MAGIC = 0xDE020109


@dataclass(frozen=True)
class Command:
    """A command of the answer file where it runs: its pass, Order, text and place."""

    pass_name: str
    order: int
    text: str
    user: str | None
    pos: Pos


def check(answer: Answer, fs: Confined) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
    """(errors, warnings) of the answer file against the image in `fs`."""
    c = _Checker(answer, fs)
    c.run()
    return _in_file_order(c.errors), _in_file_order(c.warnings)


def _in_file_order(problems: list[Problem]) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=lambda p: (p.line, p.col)))


def enforce(answer: Answer, fs: Confined) -> Answer:
    """The answer file checked against the image: every error at once as FILE:LINE:COL
    lines (exit 2, nothing changed); its warnings joined to the answer file's own."""
    errors, warnings = check(answer, fs)
    if errors:
        fail(errors)
    return replace(answer, warnings=answer.warnings + warnings)


# -- reading the image ---------------------------------------------------------------------


def normalized_locale(name: str) -> str:
    """A locale name as glibc files it: the codeset lower-case, letters and digits only
    (de_DE.UTF-8 -> de_DE.utf8)."""
    m = re.match(r"^([^.@]+)(?:\.([^@]*))?(?:@(.*))?$", name)
    if not m:
        return name
    base, codeset, modifier = m.groups()
    out = base
    if codeset is not None:
        cs = "".join(ch for ch in codeset.lower() if ch.isalnum())
        out += "." + ("iso" + cs if cs.isdigit() else cs)
    return out + (f"@{modifier}" if modifier else "")


def archive_names(data: bytes) -> set[str]:
    """The locales compiled into a glibc locale-archive (its name table), in either byte
    order; an unknown or truncated file gives what could be read."""
    order = next(
        (
            o
            for o in "<>"
            if len(data) >= 20 and struct.unpack_from(o + "I", data)[0] == ARCHIVE_MAGIC
        ),
        None,
    )
    if order is None:
        return set()
    _, _, table, _, size = struct.unpack_from(order + "5I", data)
    names = set()
    for i in range(size):
        at = table + 12 * i
        if at + 12 > len(data):
            break
        _, name_at, record_at = struct.unpack_from(order + "3I", data, at)
        end = data.find(b"\0", name_at) if name_at else -1
        if record_at and end > name_at:
            names.add(data[name_at:end].decode("ascii", "replace"))
    return names


def _archive_head(fs: Confined) -> bytes:
    """The part of the locale archive that holds its name table (the archive itself may be
    hundreds of MB: every language of a distribution)."""
    head = fs.read_bytes(LOCALE_ARCHIVE, head=20) or b""
    order = next(
        (
            o
            for o in "<>"
            if len(head) == 20 and struct.unpack_from(o + "I", head)[0] == ARCHIVE_MAGIC
        ),
        None,
    )
    if order is None:
        return b""
    header = fs.read_bytes(LOCALE_ARCHIVE, head=56) or b""
    if len(header) < 56:
        return b""
    _, _, table, _, size, strings, used = struct.unpack_from(order + "7I", header)
    end = min(max(table + 12 * size, strings + used), 64 * 1024 * 1024)
    return fs.read_bytes(LOCALE_ARCHIVE, head=end) or b""


def _listed(text: str) -> set[str]:
    """The locales of a SUPPORTED or locale.gen file ("de_DE.UTF-8 UTF-8", "de_DE ISO-8859-1",
    commented or not), normalized with their charset."""
    out = set()
    for line in text.splitlines():
        fields = line.lstrip("#").split()
        if len(fields) != 2 or not re.match(r"^[a-zA-Z]{2,3}(_|\.|@|$)", fields[0]):
            continue
        name, charset = fields
        if "." not in name.split("@")[0]:
            at = name.find("@")
            name = f"{name}.{charset}" if at < 0 else f"{name[:at]}.{charset}{name[at:]}"
        out.add(normalized_locale(name))
    return out


class _Image:
    """What the checks read from the image, each read once."""

    def __init__(self, fs: Confined) -> None:
        self.fs = fs
        self._compiled: set[str] | None = None
        self._generable: set[str] | None = None
        self._keymaps: set[str] | None = None
        self._groups: set[str] | None = None
        self._accounts: set[str] | None = None

    def compiled_locales(self) -> set[str]:
        if self._compiled is None:
            found = {
                normalized_locale(n)
                for n in self.fs.listdir(LOCALE_DIR)
                if self.fs.is_dir(f"{LOCALE_DIR}/{n}")
            }
            self._compiled = found | {
                normalized_locale(n) for n in archive_names(_archive_head(self.fs))
            }
        return self._compiled

    def generable_locales(self) -> set[str]:
        """What the boot can generate: it enables the locale in etc/locale.gen and runs
        locale-gen (firstboot.apply), which needs both and the locale's sources."""
        if self._generable is None:
            self._generable = set()
            if self.fs.is_file(LOCALE_GEN) and self.fs.is_file(LOCALE_GEN_PROGRAM):
                for path in (SUPPORTED, LOCALE_GEN):
                    self._generable |= _listed(self.fs.read_text(path, limit=1 << 20) or "")
        return self._generable

    def keymaps(self) -> set[str]:
        if self._keymaps is None:
            self._keymaps = set()
            for top in KEYMAP_DIRS:
                if self.fs.is_dir(top):
                    for path, _ in self.fs.walk_files(top):
                        name = path.rsplit("/", 1)[-1]
                        if KEYMAP_SUFFIXES.search(name):
                            self._keymaps.add(KEYMAP_SUFFIXES.sub("", name))
        return self._keymaps

    def debian_keyboard(self) -> bool:
        """Whether the boot writes the XKB layout to etc/default/keyboard (firstboot.apply)."""
        return self.fs.exists("etc/default/keyboard") or self.fs.exists("etc/debian_version")

    def groups(self) -> set[str]:
        if self._groups is None:
            self._groups = passwd.names(self.fs.read_text("etc/group") or "")
        return self._groups

    def accounts(self) -> set[str]:
        if self._accounts is None:
            self._accounts = passwd.names(self.fs.read_text("etc/passwd") or "")
        return self._accounts

    def program(self, name: str) -> str | None:
        """Where the command `name` is in the image: itself when it holds a '/', else the
        first PATH directory that has it; None when it is not an executable file there."""
        places = [name.lstrip("/")] if "/" in name else [f"{d}/{name}" for d in PATH_DIRS]
        for place in places:
            st = self.fs.stat(place)
            if st is not None and stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
                return "/" + place
        return None


def program_of(command: str) -> str | None:
    """The program a /bin/sh command line runs first: its first word after variable
    assignments; None for a shell keyword or builtin, or a word the shell computes."""
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        words = list(lex)
    except ValueError:
        return None  # the shell will say what is wrong with it
    first = next((w for w in words if not _ASSIGNMENT.match(w)), None)
    if first is None or first in SHELL_WORDS or _DYNAMIC.search(first):
        return None
    return first


def mentions(text: str, name: str) -> bool:
    """Whether a command line names `name` (a path, or a word of its own)."""
    if "/" in name and name in text:
        return True
    word = name.rsplit("/", 1)[-1]
    return re.search(rf"(?<![\w.+-]){re.escape(word)}(?![\w+-]|\.\w)", text) is not None


# -- the checks ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, answer: Answer, fs: Confined) -> None:
        self.answer = answer
        self.image = _Image(fs)
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.commands = list(self._commands())

    def run(self) -> None:
        for p in schema.APPLICABLE:
            self.time_zone(p)
            self.locales(p)
            self.keyboard(p)
            self.accounts(p)
        for i, cmd in enumerate(self.commands):
            self.command(cmd, self.commands[:i])

    def problem(self, pos: Pos, message: str, hint: str, *, earlier: Command | None = None) -> None:
        """An error; a warning when an earlier command mentions what is missing."""
        if earlier is None:
            self.errors.append(Problem(self.answer.source, pos.line, pos.col, message, hint))
            return
        self.warnings.append(
            Problem(
                self.answer.source,
                pos.line,
                pos.col,
                message,
                f"expected from {earlier.pass_name} Order {earlier.order}, which mentions it",
                Severity.WARNING,
            )
        )

    def earlier_mention(self, name: str, before: list[Command]) -> Command | None:
        return next((c for c in reversed(before) if mentions(c.text, name)), None)

    def before_pass(self, pass_name: str) -> list[Command]:
        """The commands that run before the settings of a pass are applied."""
        index = schema.APPLICABLE.index(pass_name)
        return [c for c in self.commands if schema.APPLICABLE.index(c.pass_name) < index]

    # -- settings

    def time_zone(self, p: str) -> None:
        node = self.answer.setting(p, SHELL, "TimeZone")
        zone = self.answer.time_zone(p)
        if node is None or not zone or self.image.fs.is_file(f"{ZONEINFO}/{zone}"):
            return
        named = "" if zone == (node.text or "").strip() else f" ({(node.text or '').strip()})"
        self.problem(
            node.pos,
            f"TimeZone {zone}{named} is not installed in the image (/{ZONEINFO}/{zone})",
            "install tzdata in the image, or name a zone it has",
        )

    def locales(self, p: str) -> None:
        for name in ("SystemLocale", "UILanguage", "UserLocale"):
            node = self.answer.setting(p, INTERNATIONAL, name)
            if node is None or node.text is None:
                continue
            locale = locales.to_linux_locale(node.text)
            if locale in BUILTIN_LOCALES:
                continue
            wanted = normalized_locale(locale)
            if wanted in self.image.compiled_locales() or wanted in self.image.generable_locales():
                continue
            self.problem(
                node.pos,
                f"{name}: the locale {locale} is not in the image and cannot "
                f"be generated there (not in /{LOCALE_DIR}, nor listed in /{SUPPORTED} "
                f"with /{LOCALE_GEN} and /{LOCALE_GEN_PROGRAM})",
                "install the locale in the image (Debian: locales; Fedora: "
                "glibc-langpack-*), or name one it has",
            )

    def keyboard(self, p: str) -> None:
        keymap = self.answer.keymap(p)
        node = self.answer.setting(p, INTERNATIONAL, "Keymap") or self.answer.setting(
            p, INTERNATIONAL, "InputLocale"
        )
        if not keymap or node is None or keymap in self.image.keymaps():
            return
        layout = locales.xkb_layout(keymap)
        debian = self.image.debian_keyboard()
        if debian and self.image.fs.is_file(f"{XKB_SYMBOLS}/{layout}"):
            return
        where = f"console keymap {keymap} (kbd)" + (
            f" nor XKB layout {layout} (/{XKB_SYMBOLS}/{layout})" if debian else ""
        )
        self.problem(
            node.pos,
            f"{node.name}: the image has no {where}",
            "install kbd (or console-setup) in the image, or name a keymap it has",
        )

    def accounts(self, p: str) -> None:
        ua = self.answer.setting(p, SHELL, "UserAccounts")
        lst = ua.child("LocalAccounts") if ua is not None else None
        before = self.before_pass(p)
        for item in lst.children if lst is not None else ():
            name = (item.value("Name") or "").strip()
            if name not in self.image.accounts():
                self.tools(item.pos, f"LocalAccount {name}", ("useradd",), before)
                if not any(self.image.fs.is_file(s) for s in SHELLS):
                    self.problem(
                        item.pos,
                        f"LocalAccount {name}: the image has no login shell "
                        "(/bin/bash or /bin/sh) for it",
                        "install bash or dash",
                    )
            group = item.child("Group")
            pos = group.pos if group is not None else item.pos
            for g in checks.linux_groups(item.value("Group") or ""):
                if g not in self.image.groups():
                    self.problem(
                        pos,
                        f"LocalAccount {name}: group {g} does not exist in the image",
                        "create it with an earlier command (groupadd), or leave it out",
                        earlier=self.earlier_mention(g, before),
                    )
            if item.child("Password") is not None:
                self.tools(item.pos, f"LocalAccount {name}", ("chpasswd",), before)
        admin = ua.child("AdministratorPassword") if ua is not None else None
        if admin is not None:
            self.tools(admin.pos, "AdministratorPassword", ("chpasswd",), before)
        auto = self.answer.auto_logon(p)
        node = self.answer.setting(p, SHELL, "AutoLogon")
        if auto is not None and node is not None and auto.enabled:
            self.account(node.pos, "AutoLogon", auto.username, self.commands)

    def tools(self, pos: Pos, what: str, programs: tuple[str, ...], before: list[Command]) -> None:
        """The tools the boot runs for a setting (firstboot.apply, passes.runsync)."""
        for prog in programs:
            if self.image.program(prog) is None:
                self.problem(
                    pos,
                    f"{what}: {prog} is not in the image",
                    f"install {TOOL_PACKAGES[prog]} in the image",
                    earlier=self.earlier_mention(prog, before),
                )

    def account(self, pos: Pos, what: str, user: str, before: list[Command]) -> None:
        """An account that must exist: in the image, made by LocalAccounts, or by a command."""
        if user in self.image.accounts() or user in self._made_accounts():
            return
        self.problem(
            pos,
            f"{what}: the account {user} does not exist in the image and the "
            "answer file does not create it",
            "add it to LocalAccounts",
            earlier=self.earlier_mention(user, before),
        )

    def _made_accounts(self, until: str = "oobeSystem") -> set[str]:
        out = set()
        for p in schema.APPLICABLE[: schema.APPLICABLE.index(until) + 1]:
            ua = self.answer.setting(p, SHELL, "UserAccounts")
            lst = ua.child("LocalAccounts") if ua is not None else None
            items = lst.children if lst is not None else ()
            out |= {(i.value("Name") or "").strip() for i in items}
        return out

    # -- commands

    def _commands(self) -> Iterator[Command]:
        """Every command, in the order the passes run them."""
        for p in schema.APPLICABLE:
            lists = [(self.answer.setting(p, DEPLOYMENT, "RunSynchronous"), "Path")]
            lists.append((self.answer.setting(p, SHELL, "FirstLogonCommands"), "CommandLine"))
            for lst, field in lists:
                items = sorted(
                    lst.children if lst is not None else (),
                    key=lambda n: int((n.value("Order") or "0").strip()),
                )
                for item in items:
                    path = item.child(field)
                    cred = item.child("Credentials")
                    user = (cred.value("Username") or "").strip() if cred is not None else ""
                    yield Command(
                        p,
                        int((item.value("Order") or "0").strip()),
                        path.text or "" if path is not None else "",
                        user or None,
                        path.pos if path is not None else item.pos,
                    )

    def command(self, cmd: Command, before: list[Command]) -> None:
        what = f"{cmd.pass_name} Order {cmd.order}"
        if self.image.program("/bin/sh") is None:
            self.problem(
                cmd.pos,
                f"{what}: the image has no /bin/sh to run the command",
                "install a shell (dash or bash)",
            )
            return
        if cmd.user:
            self.tools(cmd.pos, what, ("runuser",), before)
            made = self._made_accounts(cmd.pass_name)
            if cmd.user not in self.image.accounts() and cmd.user not in made:
                self.problem(
                    cmd.pos,
                    f"{what}: the account {cmd.user} it runs as does not "
                    "exist in the image by then",
                    "create it in LocalAccounts of an earlier pass",
                    earlier=self.earlier_mention(cmd.user, before),
                )
        program = program_of(cmd.text)
        if program is None or self.image.program(program) is not None:
            return
        where = "" if "/" in program else f" (looked in {', '.join('/' + d for d in PATH_DIRS)})"
        self.problem(
            cmd.pos,
            f"{what}: {program} is not in the image{where}",
            "install it in the image, or have an earlier command provide it",
            earlier=self.earlier_mention(program, before),
        )
