"""The answer-file model: a validated document and its effective settings, with typed getters.

Windows scopes settings per pass, so do the getters: `answer.time_zone("specialize")`.
A getter returns None (or an empty tuple) when the pass does not set the setting; values
come back in their Linux meaning (IANA time zone, Linux locale, console keymap) and
passwords only as crypt hashes.
"""

from __future__ import annotations

import secrets as random
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from sysprep.answer import checks, passwords, schema
from sysprep.answer.problems import Problem
from sysprep.answer.schema import Kind, Setting
from sysprep.answer.tree import Document, Node
from sysprep.answer.types import (
    AutoLogon,
    LocalAccount,
    Oobe,
    Reseal,
    ResealMode,
    SyncCommand,
    WillReboot,
)

Hash = Callable[[str], str]  # a plain password -> its crypt hash (passwords.Hasher)
# where an answer file came from: named on the command line or read from a host path, the
# target's cache, the image's /etc/sysprep, a medium labelled SYSPREP, systemd credentials
Origin = Literal["file", "cache", "image", "medium", "credential"]

DEPLOYMENT = schema.DEPLOYMENT.name
PNP = schema.PNP.name
LICENSING = schema.LICENSING.name
SHELL = schema.SHELL.name
INTERNATIONAL = schema.INTERNATIONAL.name


@dataclass(frozen=True)
class Answer:
    """A valid answer file. Two answers are equal when their documents are (the XML and the
    YAML form of one file are equal)."""

    document: Document
    effective: dict[tuple[str, str], dict[str, Node]] = field(
        compare=False, repr=False, default_factory=dict
    )
    secrets: frozenset[str] = field(compare=False, repr=False, default=frozenset())
    architecture: str = field(compare=False, default="")
    warnings: tuple[Problem, ...] = field(compare=False, repr=False, default=())
    origin: Origin = field(compare=False, default="file")
    # how the target the answer file was found in hashes passwords (see cache.find)
    hasher: Hash | None = field(compare=False, repr=False, default=None)

    @property
    def source(self) -> str:
        """The file, as messages name it."""
        return self.document.source

    @property
    def cached(self) -> bool:
        return self.origin == "cache"

    def _hash(self, hasher: Hash | None) -> Hash:
        if hasher is not None:
            return hasher
        if self.hasher is not None:
            return self.hasher
        from sysprep.answer.passwords import Hasher, Policy

        return Hasher(Policy())  # no target to ask: SHA-512, which every libcrypt reads

    # -- raw access ----------------------------------------------------------------------

    def passes(self) -> tuple[str, ...]:
        """The applicable passes that set something, in the order they run."""
        have = {p for p, _ in self.effective}
        return tuple(p for p in schema.APPLICABLE if p in have)

    def setting(self, pass_name: str, component: str, name: str) -> Node | None:
        """The effective element of a setting (component by its Linux name)."""
        spec = schema.component(component)
        if spec is None:
            return None
        return self.effective.get((pass_name, spec.name), {}).get(name)

    def _text(self, pass_name: str, component: str, name: str) -> str | None:
        node = self.setting(pass_name, component, name)
        return None if node is None or node.text is None else node.text.strip()

    # -- Linux-Deployment ----------------------------------------------------------------

    def run_synchronous(self, pass_name: str) -> tuple[SyncCommand, ...]:
        """RunSynchronous/RunSynchronousCommand of a pass, sorted by Order."""
        node = self.setting(pass_name, DEPLOYMENT, "RunSynchronous")
        return _commands(node, "Path")

    def first_logon_commands(self, pass_name: str = "oobeSystem") -> tuple[SyncCommand, ...]:
        """FirstLogonCommands/SynchronousCommand (CommandLine as the path), sorted by Order."""
        node = self.setting(pass_name, SHELL, "FirstLogonCommands")
        return _commands(node, "CommandLine")

    def reseal(self, pass_name: str) -> Reseal | None:
        node = self.setting(pass_name, DEPLOYMENT, "Reseal")
        if node is None:
            return None
        mode = _choice(schema.DEPLOYMENT, ("Reseal", "Mode"), node.value("Mode"), "OOBE")
        return Reseal(ResealMode(mode), _bool(node.value("ForceShutdownNow"), False))

    # -- Linux-PnPSysprep and Linux-Security-Licensing -------------------------------------

    def persist_all_device_installs(self, pass_name: str = "generalize") -> bool | None:
        text = self._text(pass_name, PNP, "PersistAllDeviceInstalls")
        return None if text is None else schema.canonical_bool(text)

    def skip_rearm(self, pass_name: str = "generalize") -> bool:
        text = self._text(pass_name, LICENSING, "SkipRearm")
        return text is not None and int(text) == 1

    def rearm_limit(self, pass_name: str = "generalize") -> int | None:
        """RearmLimit: how many rearms in all before /generalize refuses; None: no limit."""
        text = self._text(pass_name, LICENSING, "RearmLimit")
        return None if text is None else int(text)

    # -- Linux-Shell-Setup ---------------------------------------------------------------

    def computer_name(self, pass_name: str = "specialize") -> str | None:
        """The host name; "*" (checks.RANDOM_NAME) asks for a generated one
        (see generate_computer_name)."""
        return self._text(pass_name, SHELL, "ComputerName")

    def time_zone(self, pass_name: str) -> str | None:
        """An IANA name (Windows names are mapped)."""
        return self._meaning(pass_name, SHELL, "TimeZone")

    def local_accounts(
        self, pass_name: str, hasher: Hash | None = None
    ) -> tuple[LocalAccount, ...]:
        """UserAccounts/LocalAccounts with crypt hashes as passwords. A cached answer file
        holds hashes already; a plain password is hashed by `hasher`, else as the target the
        answer file was found in asks (cache.find), else SHA-512."""
        ua = self.setting(pass_name, SHELL, "UserAccounts")
        lst = ua.child("LocalAccounts") if ua is not None else None
        if lst is None:
            return ()
        out = []
        for item in lst.children:
            groups = checks.split_groups(item.value("Group") or "")
            sudo = _bool(item.value("Sudo"), False) or "Administrators" in groups
            keys = item.child("AuthorizedKeys")
            out.append(
                LocalAccount(
                    name=(item.value("Name") or "").strip(),
                    groups=checks.linux_groups(item.value("Group") or ""),
                    password_hash=_password_hash(item.child("Password"), self._hash(hasher)),
                    display_name=(item.value("DisplayName") or "").strip(),
                    authorized_keys=tuple(
                        (k.text or "").strip() for k in keys.children if (k.text or "").strip()
                    )
                    if keys is not None
                    else (),
                    sudo=sudo,
                )
            )
        return tuple(out)

    def administrator_password(self, pass_name: str, hasher: Hash | None = None) -> str | None:
        """root's password hash (UserAccounts/AdministratorPassword); hashed as
        local_accounts does."""
        ua = self.setting(pass_name, SHELL, "UserAccounts")
        return _password_hash(ua.child("AdministratorPassword") if ua else None, self._hash(hasher))

    def auto_logon(self, pass_name: str) -> AutoLogon | None:
        node = self.setting(pass_name, SHELL, "AutoLogon")
        if node is None:
            return None
        count = node.value("LogonCount")
        return AutoLogon(
            username=(node.value("Username") or "").strip(),
            enabled=_bool(node.value("Enabled"), True),
            logon_count=int(count) if count is not None else 1,
        )

    def oobe(self, pass_name: str = "oobeSystem") -> Oobe | None:
        node = self.setting(pass_name, SHELL, "OOBE")
        if node is None:
            return None
        eula = node.value("EulaFile")
        return Oobe(
            hide_eula_page=_bool(node.value("HideEULAPage"), False),
            eula_file=eula.strip() if eula and eula.strip() else None,
            skip_machine_oobe=_bool(node.value("SkipMachineOOBE"), False),
        )

    # -- Linux-International-Core --------------------------------------------------------

    def system_locale(self, pass_name: str) -> str | None:
        return self._meaning(pass_name, INTERNATIONAL, "SystemLocale")

    def ui_language(self, pass_name: str) -> str | None:
        return self._meaning(pass_name, INTERNATIONAL, "UILanguage")

    def user_locale(self, pass_name: str) -> str | None:
        return self._meaning(pass_name, INTERNATIONAL, "UserLocale")

    def keymap(self, pass_name: str) -> str | None:
        """The console keymap: Keymap, else the first InputLocale."""
        return self._meaning(pass_name, INTERNATIONAL, "Keymap") or self._meaning(
            pass_name, INTERNATIONAL, "InputLocale"
        )

    def _meaning(self, pass_name: str, component: str, name: str) -> str | None:
        text = self._text(pass_name, component, name)
        spec = schema.component(component)
        st = spec.setting(name) if spec else None
        if text is None or st is None or st.meaning is None:
            return text
        return st.meaning(text)

    # -- for `sysprep answer show` -------------------------------------------------------

    def show(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The effective settings per pass and component, in their Linux meaning; secrets
        described, never shown."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for p in self.passes():
            for spec in schema.COMPONENTS:
                eff = self.effective.get((p, spec.name))
                if not eff:
                    continue
                out.setdefault(p, {})[spec.name] = {
                    name: _shown(spec.setting(name), node) for name, node in eff.items()
                }
        return out


def generate_computer_name(prefix: str = "linux") -> str:
    """What ComputerName "*" becomes: like Windows' WIN-XXXXXXXXXXX, a prefix and 11 random
    characters, a valid host name."""
    alphabet = string.ascii_lowercase + string.digits
    return f"{prefix}-" + "".join(random.choice(alphabet) for _ in range(11))


def _bool(text: str | None, default: bool) -> bool:
    return default if text is None else schema.canonical_bool(text)


def _choice(
    spec: schema.ComponentSpec, path: tuple[str, ...], text: str | None, default: str
) -> str:
    st = schema.lookup(spec, path)
    if text is None or st is None:
        return default
    return schema.canonical_choice(st, text)


def _commands(node: Node | None, path_field: str) -> tuple[SyncCommand, ...]:
    if node is None:
        return ()
    cmds = []
    for item in node.children:
        user = None
        cred = item.child("Credentials")
        if cred is not None and (cred.value("Username") or "").strip():
            user = (cred.value("Username") or "").strip()
        will = item.value("WillReboot")
        cmds.append(
            SyncCommand(
                order=int((item.value("Order") or "0").strip()),
                path=item.value(path_field) or "",
                description=(item.value("Description") or "").strip(),
                will_reboot=WillReboot(
                    _choice(
                        schema.DEPLOYMENT,
                        ("RunSynchronous", "RunSynchronousCommand", "WillReboot"),
                        will,
                        "Never",
                    )
                ),
                user=user,
            )
        )
    return tuple(sorted(cmds, key=lambda c: c.order))


def password_state(node: Node | None) -> str:
    """How a Password element is given: none, empty, deleted, hash, plain, windows."""
    if node is None:
        return "none"
    hashed = node.value("Hash")
    if hashed is not None:
        return "deleted" if hashed.strip() == passwords.DELETED else "hash"
    value = node.value("Value")
    if value is None or value == "":
        return "empty"
    if value == passwords.DELETED:
        return "deleted"
    return "plain" if _bool(node.value("PlainText"), True) else "windows"


def plain_password(node: Node) -> str:
    """The password in clear of a plain or Windows-encoded Password element."""
    value = node.value("Value") or ""
    if _bool(node.value("PlainText"), True):
        return value
    return passwords.decode_windows(value, node.name)


def _password_hash(node: Node | None, hasher: Hash) -> str | None:
    state = password_state(node)
    if node is None or state in ("none", "empty", "deleted"):
        return None
    if state == "hash":
        return (node.value("Hash") or "").strip()
    return hasher(plain_password(node))


_SECRET_SHOWN = {
    "none": None,
    "empty": "(empty: no password)",
    "deleted": "(used and deleted: " + passwords.DELETED + ")",
    "hash": "(crypt hash)",
    "plain": "(plain text: hashed before use)",
    "windows": "(Windows-encoded: hashed before use)",
}


def _shown(st: Setting | None, node: Node) -> Any:
    if st is None:
        return node.text
    if st.kind is Kind.PASSWORD:
        return _SECRET_SHOWN[password_state(node)]
    if st.kind is Kind.LIST:
        item = schema.item_of(st)
        items = list(node.children)
        key = st.field(st.key) if st.key else None
        if key is not None and key.kind is Kind.INTEGER:  # in the order they run
            items.sort(key=lambda c: int((c.value(st.key) or "0").strip()))
        return [_shown(item, c) for c in items]
    if st.kind is Kind.GROUP:
        out = {}
        for c in node.children:
            f = st.field(c.name)
            out[c.name] = _shown(f, c)
        for f in st.children:  # a choice left out takes its default (WillReboot: Never)
            if f.name not in out and f.default and f.linux and f.kind is Kind.ENUM:
                out[f.name] = _typed(f, f.default)
        return out
    if st.secret:
        return "(hidden)"
    return _typed(st, node.text or "")


def _typed(st: Setting, text: str) -> Any:
    if st.kind is Kind.BOOLEAN:
        return schema.canonical_bool(text)
    if st.kind is Kind.INTEGER:
        return int(text.strip())
    if st.kind is Kind.ENUM:
        return schema.canonical_choice(st, text)
    if st.meaning is not None:
        return st.meaning(text)
    return text.strip() if st.name not in ("Path", "CommandLine") else text
