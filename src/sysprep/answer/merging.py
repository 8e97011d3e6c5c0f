"""The settings in effect: an answer file's occurrences of each setting merged the way
Windows merges them. Lists are keyed by a field (Order, Name) or by wcm:keyValue, and
wcm:action add / modify / remove is applied in document order; a value given twice in a
pass is an error. Components whose processorArchitecture is another machine's are left out.
"""

from __future__ import annotations

import platform
import re
from typing import Sequence

from sysprep.answer import schema
from sysprep.answer.problems import Problem
from sysprep.answer.schema import Kind, Setting
from sysprep.answer.tree import ACTION, KEY_VALUE, Component, Document, Node, Pos, grouped

# processorArchitecture values and the machines (platform.machine()) they mean.
ARCHITECTURES = {
    "amd64": ("x86_64", "amd64"),
    "x86": ("i386", "i486", "i586", "i686", "x86"),
    "arm64": ("aarch64", "arm64"),
    "arm": ("armv7l", "armv6l", "arm"),
}


def machine_architecture() -> str:
    """This machine as processorArchitecture names it (amd64, x86, arm64...)."""
    machine = platform.machine().lower()
    for arch, machines in ARCHITECTURES.items():
        if machine in machines:
            return arch
    return machine


def applies_to(component: Component, arch: str) -> bool:
    want = component.attr("processorArchitecture")
    return want is None or want.lower() == arch or want.lower() in ARCHITECTURES.get(arch, ())


Effective = dict[str, Node]  # setting name -> the effective element (lists merged)


class Merger:
    """Merges a validated document; the merge's own mistakes (a value set twice, a
    duplicate or missing list key) are collected in `errors`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[Problem] = []

    def error(self, pos: Pos, message: str, hint: str = "") -> None:
        self.errors.append(Problem(self.file, pos.line, pos.col, message, hint))

    def merge(self, doc: Document, arch: str) -> dict[tuple[str, str], Effective]:
        """The settings in effect on `arch`, per (pass, component); reports duplicates."""
        out: dict[tuple[str, str], Effective] = {}
        for p in doc.passes:
            if p.name not in schema.APPLICABLE:
                continue
            found: dict[tuple[str, str], tuple[Setting, list[Node]]] = {}
            for c in p.components:
                spec = schema.component(c.name)
                if spec is None or not applies_to(c, arch):
                    continue
                for node in c.settings:
                    st = spec.setting(node.name)
                    if st is None or not st.linux or p.name not in st.passes:
                        continue
                    key = (spec.name, node.name)
                    if key in found and st.kind not in (Kind.LIST, Kind.GROUP):
                        first = found[key][1][0].pos
                        self.error(
                            node.pos,
                            f"{node.name} is set twice in pass {p.name} "
                            f"(first at {first.line}:{first.col})",
                            "keep one (the Windows and Linux names of a component are "
                            "the same component)",
                        )
                        continue
                    found.setdefault(key, (st, []))[1].append(node)
            for (comp, name), (st, nodes) in found.items():
                eff = out.setdefault((p.name, comp), {})
                # the lists of all occurrences merge in document order (add, then modify...)
                eff[name] = self.merge_all(st, nodes)
        return out

    def merge_all(self, st: Setting, nodes: Sequence[Node]) -> Node:
        """One effective element from the occurrences of a setting in a pass: lists merge
        item by item, groups element by element; a value given twice is an error."""
        if st.kind is Kind.LIST:
            return self.merge_list(st, nodes)
        if len(nodes) == 1 or st.kind is not Kind.GROUP:
            return self.effective(st, nodes[0])
        by_name: dict[str, list[Node]] = {}
        for node in nodes:
            for child in node.children:
                by_name.setdefault(child.name, []).append(child)
        kept = []
        for name, same in by_name.items():
            field = st.field(name)
            if field is None or not field.linux:
                continue
            if len(same) > 1 and field.kind not in (Kind.LIST, Kind.GROUP):
                first = same[0].pos
                self.error(
                    same[1].pos,
                    f"{st.name}/{name} is set twice in the pass (first at "
                    f"{first.line}:{first.col})",
                    "keep one",
                )
            kept.append(self.merge_all(field, same))
        first_node = nodes[0]
        return Node(first_node.name, None if kept else "", tuple(kept), (), first_node.pos)

    def effective(self, st: Setting, node: Node) -> Node:
        """The element with its lists merged and its unknown parts dropped."""
        if st.kind is Kind.LIST:
            return self.merge_list(st, [node])
        if st.kind not in (Kind.GROUP, Kind.PASSWORD):
            return node
        kept = []
        for child in node.children:
            field = st.field(child.name)
            if field is not None and field.linux:
                kept.append(self.effective(field, child))
        return Node(node.name, None if kept else "", tuple(kept), node.attrs, node.pos)

    def merge_list(self, st: Setting, lists: Sequence[Node]) -> Node:
        item = schema.item_of(st)
        items: dict[str, Node] = {}
        where: dict[str, Pos] = {}
        keyname = st.key or "wcm:keyValue"
        counter = 0
        for lst in lists:
            for child in lst.children:
                if child.name != st.item:
                    continue
                counter += 1
                action = child.attr(ACTION) or "add"
                key = self.key_of(st, child, counter)
                if key is None:
                    continue
                shown = key.lstrip("#") if key.startswith("#") else key
                if action == "add":
                    if key in items:
                        first = where[key]
                        self.error(
                            child.pos,
                            f"duplicate {keyname} {shown} in {lst.name} "
                            f"(first at {first.line}:{first.col})",
                            f"give each {st.item} its own {keyname}",
                        )
                        continue
                    items[key] = self.effective(item, child) if item.kind is Kind.GROUP else child
                    where[key] = child.pos
                elif key not in items:
                    self.error(
                        child.pos,
                        f"wcm:action {action}: no {st.item} with {keyname} {shown} comes before it",
                    )
                elif action == "remove":
                    del items[key]
                else:
                    items[key] = _modified(
                        items[key],
                        self.effective(item, child) if item.kind is Kind.GROUP else child,
                    )
        first_list = lists[0]
        merged = tuple(Node(n.name, n.text, n.children, (), n.pos) for n in items.values())
        return Node(first_list.name, None if merged else "", merged, (), first_list.pos)

    def key_of(self, st: Setting, child: Node, counter: int) -> str | None:
        if not st.key:
            kv = child.attr(KEY_VALUE)
            return kv if kv is not None else f"#{counter}"
        text = child.value(st.key)
        if text is None:
            return None  # reported by list()
        field = st.field(st.key)
        if field is not None and field.kind is Kind.INTEGER:
            t = text.strip()
            return str(int(t)) if re.match(r"^-?[0-9]{1,9}$", t) else None
        return text.strip()


def _modified(old: Node, new: Node) -> Node:
    """wcm:action modify: the new item's elements replace the old item's."""
    if not new.children:
        return Node(old.name, new.text, (), (), old.pos)
    names = {c.name for c in new.children}
    kept = [c for c in old.children if c.name not in names]
    return Node(old.name, None, grouped([*kept, *new.children]), (), old.pos)
