"""The YAML form of an answer file: the same tree as unattend.xml, in YAML.

    generalize:                       # a pass
      Linux-PnPSysprep:               # a component (its attributes, if any, as keys:
        PersistAllDeviceInstalls: false   # processorArchitecture, publicKeyToken, ...)
    specialize:
      Linux-Deployment:
        RunSynchronous:               # a list setting: its items, without the item element
          - Order: 1
            Path: /usr/local/sbin/enroll
          - {Order: 2, Path: /bin/true, wcm:action: modify}

A component that appears more than once in a pass (one per processorArchitecture) is a
list of mappings. Elements repeated under a setting sysprep does not know become a list
under their own name. `wcm:action` and `wcm:keyValue` are keys of a list item; an item that
is a value and has them holds the value under `value`.

Read with PyYAML's pure-Python safe loader on its node graph (positions kept): no tags, no
aliases (so no "billion laughs"), bounded depth and size; every scalar is taken as the text
written, so `no` stays "no" and `007` stays "007" until the schema gives them a type.
"""

from __future__ import annotations

import io
import re
from typing import Any, Union

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sysprep.answer import schema
from sysprep.answer.limits import MAX_DEPTH, MAX_ELEMENTS
from sysprep.answer.problems import Problem, fail_at, show
from sysprep.answer.tree import (
    ACTION,
    COMPONENT_ATTRIBUTES,
    ITEM_ATTRIBUTES,
    Component,
    Document,
    Node,
    PassSettings,
    Pos,
    grouped,
)

OFFLINE_IMAGE = "cpi:offlineImage"
VALUE = "value"
_CORE_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "bool", "int", "float", "null", "map", "seq", "timestamp", "merge")
}
_NULL = "tag:yaml.org,2002:null"

YNode = Union[ScalarNode, SequenceNode, MappingNode]


class _Stop(Exception):
    def __init__(self, mark: Any, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


class _Loader(yaml.SafeLoader):
    """The pure-Python safe loader, composing nodes only, refusing aliases and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Stop(
                event.start_mark,
                "YAML aliases (*name) are not allowed in an answer file",
                "write the value out",
            )
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise _Stop(
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                f"more than {MAX_ELEMENTS} YAML nodes",
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Stop(
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                f"collections nested deeper than {MAX_DEPTH} levels",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _pos(mark: Any) -> Pos:
    return Pos(int(mark.line) + 1, int(mark.column) + 1) if mark is not None else Pos()


def _decode(data: bytes, file: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec, body = "utf-16", data
    else:
        codec, body = "utf-8", data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode(codec)
    except UnicodeDecodeError as e:
        before = body[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        fail_at(
            file,
            line,
            col,
            f"not UTF-8 text (byte 0x{body[e.start]:02x})",
            "save the answer file as UTF-8",
        )


def parse(data: bytes, file: str) -> tuple[Document, list[Problem]]:
    text = _decode(data, file)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # already reads: it refuses unprintable characters
        root = loader.get_single_node()
    except _Stop as s:
        p = _pos(s.mark)
        fail_at(file, p.line, p.col, s.message, s.hint)
    except yaml.reader.ReaderError as e:
        before = text[: e.position]
        line = before.count("\n") + 1
        fail_at(
            file,
            line,
            len(before) - (before.rfind("\n") + 1) + 1,
            f"character {e.character!r} is not allowed in YAML",
        )
    except yaml.MarkedYAMLError as e:
        p = _pos(e.problem_mark or e.context_mark)
        fail_at(file, p.line, p.col, f"not valid YAML: {e.problem or e.context}")
    except yaml.YAMLError as e:
        fail_at(file, 1, 1, f"not valid YAML: {e}")
    except RecursionError:
        fail_at(file, 1, 1, "collections nested too deeply")
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        fail_at(file, 1, 1, "the answer file is empty", "write passes, e.g. 'generalize:'")
    assert isinstance(root, (ScalarNode, SequenceNode, MappingNode))
    return _Reader(file).document(root), []


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def stop(self, node: Any, message: str, hint: str = "") -> None:
        p = _pos(node.start_mark)
        fail_at(self.file, p.line, p.col, message, hint)

    def pairs(self, node: YNode, what: str) -> list[tuple[str, YNode, Pos]]:
        """The entries of a mapping with scalar keys, each key once."""
        if not isinstance(node, MappingNode):
            self.stop(node, f"{what} must be a mapping (key: value)")
        assert isinstance(node, MappingNode)
        self.check_tag(node)
        seen: dict[str, Pos] = {}
        out = []
        for k, v in node.value:
            if not isinstance(k, ScalarNode):
                self.stop(k, "a key must be a plain name")
            self.check_tag(k)
            name = k.value
            if name in seen:
                first = seen[name]
                self.stop(k, f"duplicate key {show(name)} (first at {first.line}:{first.col})")
            seen[name] = _pos(k.start_mark)
            out.append((name, v, _pos(k.start_mark)))
        return out

    def check_tag(self, node: YNode) -> None:
        if node.tag not in _CORE_TAGS:
            self.stop(
                node,
                f"YAML tag {show(node.tag)} is not allowed",
                "write plain values, without !tags",
            )

    def scalar(self, node: YNode, what: str) -> str:
        if not isinstance(node, ScalarNode):
            self.stop(node, f"{what} must be a single value")
        assert isinstance(node, ScalarNode)
        self.check_tag(node)
        return "" if node.tag == _NULL else str(node.value)

    def document(self, root: YNode) -> Document:
        passes = []
        offline_image = None
        for name, value, pos in self.pairs(root, "an answer file"):
            if name == OFFLINE_IMAGE:
                offline_image = self.scalar(value, OFFLINE_IMAGE)
                continue
            comps: list[Component] = []
            if isinstance(value, SequenceNode):  # components in an order a mapping cannot keep
                self.check_tag(value)
                for entry in value.value:
                    comps.extend(self.components(entry, name))
            elif not (isinstance(value, ScalarNode) and value.tag == _NULL):
                comps.extend(self.components(value, name))
            passes.append(PassSettings(name, tuple(comps), pos))
        return Document(tuple(passes), offline_image, self.file, yaml=True)

    def components(self, value: YNode, pass_name: str) -> list[Component]:
        comps: list[Component] = []
        for cname, cvalue, cpos in self.pairs(value, f"pass {pass_name}"):
            if isinstance(cvalue, SequenceNode):  # one component per processorArchitecture
                self.check_tag(cvalue)
                comps.extend(self.component(cname, v, _pos(v.start_mark)) for v in cvalue.value)
            else:
                comps.append(self.component(cname, cvalue, cpos))
        return comps

    def component(self, name: str, value: YNode, pos: Pos) -> Component:
        attrs: list[tuple[str, str]] = []
        settings: list[Node] = []
        if isinstance(value, ScalarNode) and value.tag == _NULL:
            return Component(name, (), (), pos)
        for key, v, kpos in self.pairs(value, f"component {name}"):
            if key in COMPONENT_ATTRIBUTES:
                attrs.append((key, self.scalar(v, key)))
            else:
                settings.extend(self.nodes(name, (key,), v, kpos))
        return Component(name, tuple(attrs), grouped(settings), pos)

    def nodes(self, comp: str, path: tuple[str, ...], value: YNode, pos: Pos) -> list[Node]:
        """The element(s) a key stands for: one, or one per item of a sequence."""
        name = path[-1]
        if isinstance(value, SequenceNode):
            self.check_tag(value)
            item = schema.list_item(comp, path)
            if item is not None:  # a list setting: its items
                items = tuple(
                    self.element(comp, (*path, item), v, _pos(v.start_mark), item=True)
                    for v in value.value
                )
                return [Node(name, None if items else "", items, (), pos)]
            return [self.element(comp, path, v, _pos(v.start_mark)) for v in value.value]
        return [self.element(comp, path, value, pos)]

    def element(
        self, comp: str, path: tuple[str, ...], value: YNode, pos: Pos, item: bool = False
    ) -> Node:
        name = path[-1]
        if isinstance(value, ScalarNode):
            return Node(name, self.scalar(value, name), (), (), pos)
        if isinstance(value, SequenceNode):
            self.stop(value, f"{name}: a list inside a list is not an answer-file structure")
        attrs: list[tuple[str, str]] = []
        children: list[Node] = []
        text: str | None = None
        for key, v, kpos in self.pairs(value, name):
            if key in ITEM_ATTRIBUTES:
                attrs.append((key, self.scalar(v, key)))
            elif key == VALUE:
                text = self.scalar(v, VALUE)
            else:
                children.extend(self.nodes(comp, (*path, key), v, kpos))
        if text is not None:
            if children:
                self.stop(value, f"{name}: '{VALUE}' and elements cannot be mixed")
            return Node(name, text, (), tuple(attrs), pos)
        return Node(name, None if children else "", grouped(children), tuple(attrs), pos)


# -- writing ---------------------------------------------------------------------------------

HEADER = (
    "# sysprep answer file, YAML form of unattend.xml (reference: docs/answer-file-reference.md)\n"
)


def write(doc: Document) -> bytes:
    data: dict[str, Any] = {}
    for p in doc.passes:
        data[p.name] = _components(p.components)
    if doc.offline_image is not None:
        data[OFFLINE_IMAGE] = doc.offline_image
    buf = io.StringIO()
    buf.write(HEADER)
    yaml.dump(
        data,
        buf,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
    )  # never folded: values read back exact
    return buf.getvalue().encode("utf-8")


def _components(comps: tuple[Component, ...]) -> Any:
    """A mapping by component name; a list of one-key mappings when that would reorder them."""
    if not comps:
        return None
    names = [c.name for c in comps]
    if names != sorted(names, key=names.index):  # a name comes back after another one
        return [{c.name: _component(c)} for c in comps]
    out: dict[str, Any] = {}
    for c in comps:
        body = _component(c)
        if c.name not in out:
            out[c.name] = body
        elif isinstance(out[c.name], _Repeated):
            out[c.name].append(body)
        else:
            out[c.name] = _Repeated([out[c.name], body])
    return out


def _component(c: Component) -> dict[str, Any]:
    body: dict[str, Any] = dict(c.attrs)
    for s in c.settings:
        _put(body, s.name, _value(c.name, (s.name,), s))
    return body


class _Dumper(yaml.SafeDumper):
    pass


class _Repeated(list):  # type: ignore[type-arg]
    """Elements of the same name side by side: a list under their own name."""


# Characters a YAML reader would turn into something else (line breaks it folds, tabs and
# returns it may strip): the value is then written double-quoted, with escapes.
_SPECIAL = re.compile("[\x85\u2028\u2029\r\t\n\x7f-\x9f\ufeff]")


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _SPECIAL.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(_Repeated, lambda d, v: d.represent_list(list(v)))


def _put(body: dict[str, Any], name: str, value: Any) -> None:
    if name in body:
        prev = body[name]
        if isinstance(prev, _Repeated):
            prev.append(value)
        else:
            body[name] = _Repeated([prev, value])
    else:
        body[name] = value


def _scalar(comp: str, path: tuple[str, ...], text: str) -> Any:
    """Booleans and integers of known settings are written as YAML ones when that is exact."""
    spec = schema.component(comp)
    setting = schema.lookup(spec, path) if spec is not None else None
    if setting is not None:
        if setting.kind is schema.Kind.BOOLEAN and text in ("true", "false"):
            return text == "true"
        if setting.kind is schema.Kind.INTEGER and text.isdigit() and str(int(text)) == text:
            return int(text)
    return text


def _value(comp: str, path: tuple[str, ...], node: Node, known_item: bool = False) -> Any:
    item = schema.list_item(comp, path)
    if (
        item is not None
        and node.children
        and not node.attrs
        and all(c.name == item for c in node.children)
    ):
        return [_value(comp, (*path, item), c, known_item=True) for c in node.children]
    # wcm:action add is what an item of a known list means without it (see reader.normalize)
    attrs = [(k, v) for k, v in node.attrs if not (known_item and (k, v) == (ACTION, "add"))]
    if not node.children:
        if attrs:
            return {**dict(attrs), VALUE: node.text or ""}
        return _scalar(comp, path, node.text or "")
    body: dict[str, Any] = dict(attrs)
    for c in node.children:
        _put(body, c.name, _value(comp, (*path, c.name), c))
    return body
