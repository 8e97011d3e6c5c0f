"""One answer laid over another, per setting: what a per-clone answer (a systemd credential,
command-line options) changes in the template's cached answer file.

The top answer wins per setting, not per file: a value (ComputerName, TimeZone, a password)
of the top replaces the base's; a group (UserAccounts, AutoLogon) is overlaid element by
element; a list (LocalAccounts, RunSynchronous, AuthorizedKeys) keeps the base's items,
an item of the top with the same key (an account's Name, a command's Order) replaces the
base's item whole, and the top's other items come after the base's. Laying the same top
twice gives the same answer (a rerun after a crash changes nothing).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from sysprep.answer import reader, schema
from sysprep.answer.model import Answer
from sysprep.answer.schema import Kind, Setting
from sysprep.answer.tree import Component, Document, Node, PassSettings


def overlay(base: Answer, top: Answer) -> Answer:
    """`base` with every setting `top` sets replaced by top's (see the module docstring);
    validated like any answer file, secrets and warnings of both kept."""
    effective = {key: dict(settings) for key, settings in base.effective.items()}
    for (pass_name, comp), settings in top.effective.items():
        into = effective.setdefault((pass_name, comp), {})
        spec = schema.component(comp)
        for name, node in settings.items():
            st = spec.setting(name) if spec is not None else None
            into[name] = node if name not in into or st is None else _over(st, into[name], node)
    source = f"{base.source} + {top.source}"
    doc = Document(passes=_passes(effective), source=source)
    merged, _ = reader.model(doc, arch=base.architecture or None)
    return replace(
        merged,
        secrets=base.secrets | top.secrets,
        warnings=base.warnings + top.warnings,
        origin=top.origin,
        hasher=base.hasher or top.hasher,
    )


def collisions(a: Answer, b: Answer) -> list[str]:
    """The settings both answers set, as pass/Component/Setting (a list item as
    Setting[key]): those of `a` that `overlay(a, b)` replaces."""
    out: list[str] = []
    for (pass_name, comp), settings in a.effective.items():
        other = b.effective.get((pass_name, comp), {})
        spec = schema.component(comp)
        for name, node in settings.items():
            st = spec.setting(name) if spec is not None else None
            if name in other:
                out += _both(st, node, other[name], f"{pass_name}/{comp}/{name}")
    return out


def _over(st: Setting, base: Node, top: Node) -> Node:
    if st.kind is Kind.LIST:
        items = list(base.children)
        for item in top.children:
            at = _index(st, items, item)
            if at is None:
                items.append(item)
            else:
                items[at] = item
        return replace(base, text=None if items else "", children=tuple(items))
    if st.kind is Kind.GROUP:
        children = list(base.children)
        for child in top.children:
            field = st.field(child.name)
            old = next((i for i, c in enumerate(children) if c.name == child.name), None)
            if old is None:
                children.append(child)
            elif field is not None and field.kind in (Kind.GROUP, Kind.LIST):
                children[old] = _over(field, children[old], child)
            else:
                children[old] = child
        return replace(base, text=None if children else "", children=tuple(children))
    return top


def _key(st: Setting, item: Node) -> str | None:
    """A list item's key (Name, Order); None for a list keyed by position."""
    if not st.key:
        return None
    text = (item.value(st.key) or "").strip()
    field = st.field(st.key)
    if field is not None and field.kind is Kind.INTEGER and text.lstrip("-").isdigit():
        return str(int(text))
    return text


def _index(st: Setting, items: list[Node], item: Node) -> int | None:
    """Where `item` replaces an item of `items`: the one with its key, else an equal one
    (a list without keys: the same item is not added twice)."""
    key = _key(st, item)
    for i, old in enumerate(items):
        if (key is not None and _key(st, old) == key) or (key is None and old == item):
            return i
    return None


def _both(st: Setting | None, a: Node, b: Node, path: str) -> Iterator[str]:
    if st is None or st.kind not in (Kind.GROUP, Kind.LIST):
        yield path
    elif st.kind is Kind.LIST:
        for item in a.children:
            key = _key(st, item)
            if _index(st, list(b.children), item) is not None:
                yield f"{path}[{key if key is not None else item.text or item.name}]"
    else:
        for child in a.children:
            other = b.child(child.name)
            if other is not None:
                yield from _both(st.field(child.name), child, other, f"{path}/{child.name}")


def _passes(effective: dict[tuple[str, str], dict[str, Node]]) -> tuple[PassSettings, ...]:
    """The effective settings written as a document, passes and components in schema order."""
    out = []
    for pass_name in schema.APPLICABLE:
        comps = tuple(
            Component(spec.name, (), tuple(effective[(pass_name, spec.name)].values()))
            for spec in schema.COMPONENTS
            if effective.get((pass_name, spec.name))
        )
        if comps:
            out.append(PassSettings(pass_name, comps))
    return tuple(out)
