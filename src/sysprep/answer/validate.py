"""The whole answer file checked against the schema, then merged into effective settings.

Every mistake is collected (file, line, column, hint) before anything is reported, so one
run shows them all. Settings without a Linux meaning (Windows components, Windows-only
settings, the windowsPE and offlineServicing passes) are warnings, errors with `strict`:
never silently ignored. Lists are merged like Windows merges them: items keyed by a field
(Order, Name) or by wcm:keyValue, and wcm:action add / modify / remove applied in order.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from sysprep.answer import passwords, schema
from sysprep.answer.merging import (
    Effective,
    Merger,
    machine_architecture,
)
from sysprep.answer.problems import Problem, Severity, show
from sysprep.answer.schema import Kind, Setting
from sysprep.answer.tree import (
    ACTION,
    COMPONENT_ATTRIBUTES,
    KEY_VALUE,
    Component,
    Document,
    Node,
    Pos,
)

ACTIONS = ("add", "modify", "remove")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
_ARCH = re.compile(r"^[A-Za-z0-9_]+$")
# Characters XML 1.0 cannot carry: refused in both forms so that every file converts.
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
RESERVED = ("value",)  # the YAML form's key for the value of an item with attributes


@dataclass(frozen=True)
class Result:
    effective: dict[tuple[str, str], Effective]  # (pass, Linux component name) -> settings
    secrets: frozenset[str]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]


def check(doc: Document, *, strict: bool = False, arch: str | None = None) -> Result:
    v = _Validator(doc.source, strict)
    v.document(doc)
    machine = arch or machine_architecture()
    archs = {machine} | {
        (c.attr("processorArchitecture") or "").lower() for p in doc.passes for c in p.components
    } - {""}
    effective: dict[tuple[str, str], Effective] = {}
    if not v.errors:
        for a in sorted(archs, key=lambda x: x != machine):  # every architecture is checked
            merger = Merger(doc.source)
            merged = merger.merge(doc, a)
            v.errors += merger.errors
            if a == machine:
                effective = merged
    errors = _unique(v.errors)
    return Result(effective, frozenset(v.secrets), errors, _unique(v.warnings))


def _unique(problems: Sequence[Problem]) -> tuple[Problem, ...]:
    seen: dict[tuple[int, int, str], Problem] = {}
    for p in problems:
        seen.setdefault((p.line, p.col, p.message), p)
    return tuple(sorted(seen.values(), key=lambda p: (p.line, p.col)))


def _close(name: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.7)
    if not match:
        low = {o.lower(): o for o in options}
        if name.lower() in low:
            match = [low[name.lower()]]
    return f"did you mean {match[0]}?" if match else ""


class _Validator:
    def __init__(self, file: str, strict: bool) -> None:
        self.file = file
        self.strict = strict
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.secrets: set[str] = set()
        self.yaml = False

    # -- reporting ---------------------------------------------------------------------

    def error(self, pos: Pos, message: str, hint: str = "") -> None:
        self.errors.append(Problem(self.file, pos.line, pos.col, message, hint))

    def unsupported(self, pos: Pos, message: str, hint: str = "") -> None:
        """No Linux meaning: a warning, an error with --strict."""
        if self.strict:
            self.error(pos, message, hint or "remove it, or run without --strict")
        else:
            self.warnings.append(
                Problem(self.file, pos.line, pos.col, message, hint, Severity.WARNING)
            )

    def twice(self, node: Node, first: Pos, where: str, st: Setting | None) -> None:
        """An element given again where it may be given once. In YAML that is a list (its
        items stand for the element repeated), given for a setting of one value."""
        if self.yaml and st is not None and st.kind not in (Kind.GROUP, Kind.LIST, Kind.PASSWORD):
            self.error(
                node.pos,
                f"{node.name} takes one value, not a list (its first item at "
                f"{first.line}:{first.col})",
                f"write {node.name}: VALUE",
            )
        else:
            self.error(
                node.pos,
                f"{node.name} appears twice in {where} (first at {first.line}:{first.col})",
                "write it once (a list once, with all its items)",
            )

    # -- structure ---------------------------------------------------------------------

    def document(self, doc: Document) -> None:
        self.yaml = doc.yaml
        if doc.offline_image is not None:
            self.chars(Pos(), doc.offline_image, "cpi:offlineImage")
        seen: dict[str, Pos] = {}
        for p in doc.passes:
            if p.name not in schema.PASSES:
                self.error(
                    p.pos,
                    f"unknown pass {show(p.name)}",
                    _close(p.name, schema.PASSES) or "passes are " + ", ".join(schema.PASSES),
                )
                continue
            if p.name in seen:
                first = seen[p.name]
                self.error(
                    p.pos,
                    f"pass {p.name} appears twice (first at {first.line}:{first.col})",
                    "put all its components in one <settings> element",
                )
                continue
            seen[p.name] = p.pos
            if p.name in schema.NOT_APPLICABLE:
                self.unsupported(
                    p.pos,
                    f"pass {p.name} belongs to Windows Setup and is not "
                    "applicable on Linux; its settings are ignored",
                )
                for c in p.components:
                    self.syntax_component(c)
                continue
            for c in p.components:
                self.component(p.name, c)

    def component(self, pass_name: str, c: Component) -> None:
        self.syntax_component(c)
        attrs = dict(c.attrs)
        arch = attrs.get("processorArchitecture")
        if arch is not None and not _ARCH.match(arch):
            self.error(
                c.pos,
                f"processorArchitecture {show(arch)} is not an architecture name",
                "amd64, x86, arm64...",
            )
        spec = schema.component(c.name)
        if spec is None:
            if schema.is_windows_component(c.name, attrs):
                self.unsupported(
                    c.pos, f"component {c.name} has no Linux meaning; its settings are ignored"
                )
            else:
                self.error(
                    c.pos,
                    f"unknown component {show(c.name)}",
                    _close(c.name, schema.BY_NAME) or "see docs/answer-file-reference.md",
                )
            return
        alias = c.name.casefold() != spec.name.casefold()
        seen: dict[str, Pos] = {}
        for node in c.settings:
            if node.name in seen:
                self.twice(node, seen[node.name], f"component {c.name}", spec.setting(node.name))
                continue
            seen[node.name] = node.pos
            st = spec.setting(node.name)
            if st is None:
                hint = _close(node.name, [s.name for s in spec.settings])
                if alias:
                    self.unsupported(
                        node.pos, f"{node.name} of {c.name} has no Linux meaning; ignored", hint
                    )
                else:
                    self.error(
                        node.pos,
                        f"unknown setting {show(node.name)} in {spec.name}",
                        hint or "see docs/answer-file-reference.md",
                    )
                continue
            if not st.linux:
                self.unsupported(
                    node.pos,
                    f"{st.name} of {c.name} has no Linux meaning; ignored"
                    if st.windows
                    else f"{st.name} no longer has any effect; ignored",
                    st.hint,
                )
                continue
            if pass_name not in st.passes:
                self.error(
                    node.pos,
                    f"{st.name} is not valid in pass {pass_name}",
                    f"move it to pass {' or '.join(st.passes)}",
                )
                continue
            self.value(st, node, c.name, alias, item=False)
            if pass_name == "generalize" and st.name == "RunSynchronous":
                self.no_reboot(node)

    def no_reboot(self, node: Node) -> None:
        """The generalize run cannot reboot half-way and go on: WillReboot Always is refused
        (OnRequest stays: its exit status 1 or 2 then fails the run, others are fatal)."""
        for item in node.children:
            will = item.child("WillReboot")
            if will is not None and (will.text or "").strip().lower() == "always":
                self.error(
                    will.pos,
                    "WillReboot Always cannot be honoured in the generalize "
                    "pass: the run cannot reboot half-way",
                    "use Never, or run the command in the specialize pass",
                )

    def syntax_component(self, c: Component) -> None:
        """What every component must satisfy, known or not: names and characters a file in
        either form can hold."""
        self.chars(c.pos, c.name, "component name")
        for k, v in c.attrs:
            if k not in COMPONENT_ATTRIBUTES:
                self.error(c.pos, f"unknown attribute {show(k)} on component {c.name}")
            self.chars(c.pos, v, k)
        for node in c.settings:
            for n in node.walk():
                self.syntax_node(n)

    def syntax_node(self, n: Node) -> None:
        if not _NAME.match(n.name):
            self.error(n.pos, f"{show(n.name)} is not a valid element name")
        elif n.name in RESERVED or n.name in COMPONENT_ATTRIBUTES:
            self.error(
                n.pos,
                f"{show(n.name)} cannot be an element name",
                "setting names are written like ComputerName",
            )
        if n.text is not None:
            self.chars(n.pos, n.text, n.name)
        for _, v in n.attrs:
            self.chars(n.pos, v, n.name)

    def chars(self, pos: Pos, text: str, what: str) -> None:
        m = _BAD_CHAR.search(text)
        if m:
            self.error(
                pos,
                f"{what} contains the control character U+{ord(m.group()):04X}",
                "XML answer files cannot hold it",
            )

    # -- values ------------------------------------------------------------------------

    def value(self, st: Setting, node: Node, comp: str, alias: bool, *, item: bool) -> None:
        if not item:
            for k, _ in node.attrs:
                self.error(
                    node.pos,
                    f"{k} on {node.name}: only list items take wcm:action and wcm:keyValue",
                )
        if st.kind in (Kind.GROUP, Kind.PASSWORD, Kind.LIST):
            if node.text is not None and node.text.strip():
                self.error(
                    node.pos,
                    f"{node.name} holds elements, not a value",
                    f"write its elements, e.g. {st.example}" if st.example else "",
                )
                return
            if st.kind is Kind.LIST:
                self.list(st, node, comp, alias)
            else:
                self.group(st, node, comp, alias, required=True)
            if st.kind is Kind.PASSWORD:
                self.password(node)
            return
        if node.text is None:
            self.error(
                node.pos,
                f"{node.name} takes a value, not elements",
                f"e.g. <{st.name}>{st.example}</{st.name}>" if st.example else "",
            )
            return
        self.scalar(st, node)

    def scalar(self, st: Setting, node: Node) -> None:
        text = node.text or ""
        if _BAD_CHAR.search(text):
            return  # reported once, by syntax_node
        if st.secret:
            if text.strip() and text != passwords.DELETED:
                self.secrets.add(text)
            problem = st.check(text) if st.check is not None else None
            if problem is not None:  # the value itself is never quoted
                self.error(node.pos, f"{st.name}: {problem}", st.hint)
            return
        if st.kind is Kind.BOOLEAN:
            try:
                schema.canonical_bool(text)
            except ValueError:
                self.error(
                    node.pos,
                    f"{st.name} must be true or false, not {show(text)}",
                    "Boolean settings are written true or false",
                )
        elif st.kind is Kind.INTEGER:
            t = text.strip()
            if not re.match(r"^-?[0-9]{1,9}$", t):
                self.error(
                    node.pos,
                    f"{st.name} must be a whole number, not {show(text)}",
                    f"e.g. {st.example or '1'}",
                )
                return
            n = int(t)
            low, high = st.minimum, st.maximum
            if (low is not None and n < low) or (high is not None and n > high):
                self.error(node.pos, f"{st.name} must be between {low} and {high}, not {n}")
        elif st.kind is Kind.ENUM:
            try:
                schema.canonical_choice(st, text)
            except ValueError:
                self.error(
                    node.pos,
                    f"{st.name} must be one of {', '.join(st.choices)}, not {show(text)}",
                    _close(text.strip(), st.choices),
                )
        elif st.check is not None:
            problem = st.check(text)
            if problem is not None:
                hint = st.hint
                if st.meaning is not None and st.name == "TimeZone":
                    from sysprep.answer import timezones

                    hint = timezones.suggest(text)
                self.error(node.pos, f"{st.name}: {problem}", hint)

    def group(self, st: Setting, node: Node, comp: str, alias: bool, *, required: bool) -> None:
        seen: dict[str, Pos] = {}
        for child in node.children:
            if child.name in seen:
                self.twice(child, seen[child.name], node.name, st.field(child.name))
                continue
            seen[child.name] = child.pos
            field = st.field(child.name)
            if field is None:
                hint = _close(child.name, [c.name for c in st.children])
                if alias:
                    self.unsupported(
                        child.pos,
                        f"{node.name}/{child.name} of {comp} has no Linux meaning; ignored",
                        hint,
                    )
                else:
                    self.error(
                        child.pos,
                        f"unknown element {show(child.name)} in {node.name}",
                        hint or "it takes " + ", ".join(c.name for c in st.children),
                    )
                continue
            if not field.linux:
                self.unsupported(
                    child.pos, f"{node.name}/{child.name} has no Linux meaning; ignored"
                )
                if field.secret:  # still never logged, and scrubbed from the cache
                    self.value(field, child, comp, alias, item=False)
                continue
            self.value(field, child, comp, alias, item=False)
        if required:
            for field in st.children:
                if field.required and field.name not in seen:
                    self.error(
                        node.pos,
                        f"{node.name} is missing {field.name}",
                        f"add <{field.name}>{field.example}</{field.name}>"
                        if field.example
                        else "",
                    )

    def password(self, node: Node) -> None:
        value, plain, hashed = node.child("Value"), node.child("PlainText"), node.child("Hash")
        if hashed is not None and (value is not None or plain is not None):
            self.error(
                node.pos,
                f"{node.name} has both Hash and Value",
                "give either a crypt hash or a password",
            )
            return
        if value is None or value.text is None:
            return
        text = value.text
        if plain is not None and plain.text is not None:
            try:
                is_plain = schema.canonical_bool(plain.text)
            except ValueError:
                return  # reported as a Boolean
        else:
            is_plain = True
        if not is_plain and text != passwords.DELETED and text.strip():  # Windows-encoded
            try:
                self.secrets.add(passwords.decode_windows(text, node.name))
            except ValueError as e:
                self.error(
                    value.pos,
                    f"{node.name}/Value with PlainText false is not a "
                    f"Windows-encoded password: {e}",
                    "write the password with PlainText true, or encode it as Windows "
                    "System Image Manager does",
                )

    def list(self, st: Setting, node: Node, comp: str, alias: bool) -> None:
        item = schema.item_of(st)
        for child in node.children:
            if child.name != st.item:
                self.error(
                    child.pos,
                    f"{node.name} holds {st.item} items, not {show(child.name)}",
                    _close(child.name, [st.item]),
                )
                continue
            action = child.attr(ACTION) or "add"
            if action not in ACTIONS:
                self.error(
                    child.pos, f"wcm:action must be add, modify or remove, not {show(action)}"
                )
                continue
            if item.kind is Kind.GROUP:
                if child.text is not None and child.text.strip():
                    self.error(child.pos, f"{st.item} holds elements, not a value")
                    continue
                self.group(item, child, comp, alias, required=action == "add")
                if st.key and child.value(st.key) is None and action != "add":
                    self.error(child.pos, f"{st.item} with wcm:action {action} needs its {st.key}")
            else:
                if child.children:
                    self.error(child.pos, f"{st.item} takes a value, not elements")
                    continue
                if action != "add" and child.attr(KEY_VALUE) is None:
                    self.error(child.pos, f"{st.item} with wcm:action {action} needs wcm:keyValue")
                if action != "remove":
                    self.scalar(item, child)
