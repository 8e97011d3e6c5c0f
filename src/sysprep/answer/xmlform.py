"""unattend.xml in the Windows schema: a safe reader that keeps line and column, and a writer.

The reader is defusedxml's parser (no DTD at all, hence no entity expansion and no
external entity) with a tree builder that records where each element starts, and limits
on size, depth and element count (see sysprep.answer.limits). Anything wrong is one
`FILE:LINE:COL: message` error, never a traceback.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import DefusedXMLParser

from sysprep.answer.limits import MAX_DEPTH, MAX_ELEMENTS
from sysprep.answer.problems import Problem, Severity, fail_at, show
from sysprep.answer.tree import (
    ACTION,
    COMPONENT_ATTRIBUTES,
    CPI_NS,
    KEY_VALUE,
    UNATTEND_NS,
    WCM_NS,
    Component,
    Document,
    Node,
    PassSettings,
    Pos,
    grouped,
)


class _Raw:
    """An element as parsed: name, attributes, text, children, where it starts."""

    __slots__ = ("attrs", "children", "pos", "tag", "text")

    def __init__(self, tag: str, attrs: dict[str, str], pos: Pos) -> None:
        self.tag = tag
        self.attrs = attrs
        self.pos = pos
        self.text: list[str] = []
        self.children: list[_Raw] = []


class _Stop(Exception):
    def __init__(self, pos: Pos, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message
        self.hint = hint


class _Builder:
    """The parser's target: builds _Raw elements, enforcing depth and count."""

    def __init__(self) -> None:
        self.expat: Any = None
        self.stack: list[_Raw] = []
        self.root: _Raw | None = None
        self.count = 0

    def here(self) -> Pos:
        return Pos(int(self.expat.CurrentLineNumber), int(self.expat.CurrentColumnNumber) + 1)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        pos = self.here()
        self.count += 1
        if len(self.stack) >= MAX_DEPTH:
            raise _Stop(
                pos,
                f"elements nested deeper than {MAX_DEPTH} levels",
                "an answer file is a few levels deep: check the structure",
            )
        if self.count > MAX_ELEMENTS:
            raise _Stop(pos, f"more than {MAX_ELEMENTS} elements")
        el = _Raw(tag, dict(attrs), pos)
        if self.stack:
            self.stack[-1].children.append(el)
        else:
            self.root = el
        self.stack.append(el)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text.append(text)

    def close(self) -> None:
        return None


class _Parser(DefusedXMLParser):
    """defusedxml's parser with DTDs forbidden outright; refusals carry their position."""

    def __init__(self, builder: _Builder) -> None:
        super().__init__(
            target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        self.builder = builder
        builder.expat = self.parser

    def defused_start_doctype_decl(
        self, name: str, sysid: Any, pubid: Any, has_internal_subset: Any
    ) -> None:
        raise _Stop(
            self.builder.here(),
            "a DOCTYPE (DTD) is not allowed in an answer file",
            "remove the <!DOCTYPE ...> declaration; entities are never expanded",
        )

    def defused_entity_decl(self, *args: Any) -> None:
        raise _Stop(self.builder.here(), "entity declarations are not allowed")

    def defused_unparsed_entity_decl(self, *args: Any) -> None:
        raise _Stop(self.builder.here(), "entity declarations are not allowed")

    def defused_external_entity_ref_handler(self, *args: Any) -> None:
        raise _Stop(self.builder.here(), "external entities are not allowed")


_EXPAT_WHERE = re.compile(r":\s*line \d+, column \d+$")


def parse(data: bytes, file: str) -> tuple[Document, list[Problem]]:
    """The document of an unattend.xml; raises LocatedError. Also returns reader warnings."""
    builder = _Builder()
    parser = _Parser(builder)
    try:
        parser.feed(data)
        parser.close()
    except _Stop as s:
        fail_at(file, s.pos.line, s.pos.col, s.message, s.hint)
    except ParseError as e:
        line, col = getattr(e, "position", (1, 0))
        message = _EXPAT_WHERE.sub("", str(e))
        fail_at(file, max(int(line), 1), int(col) + 1, f"not well-formed XML: {message}")
    except RecursionError:  # cannot happen below MAX_DEPTH; kept so no traceback escapes
        fail_at(file, 1, 1, "elements nested too deeply")
    except (LookupError, UnicodeError) as e:  # an encoding the declaration names, unknown
        fail_at(
            file,
            1,
            1,
            f"the XML declaration names an encoding that cannot be read ({e})",
            'write the file in UTF-8 and declare encoding="utf-8"',
        )
    if builder.root is None:
        fail_at(file, 1, 1, "no XML element found")
    return _Converter(file).document(builder.root)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


class _Converter:
    """_Raw elements -> the answer-file tree, checking the Windows structure."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.ns = ""
        self.warnings: list[Problem] = []

    def stop(self, el: _Raw, message: str, hint: str = "") -> None:
        fail_at(self.file, el.pos.line, el.pos.col, message, hint)

    def local(self, el: _Raw) -> str:
        ns, local = _split(el.tag)
        if ns != self.ns:
            self.stop(
                el,
                f"element <{local}> is in namespace {show(ns)}, not in the answer "
                f"file's {show(self.ns)}",
                f"use the namespace {UNATTEND_NS}",
            )
        return local

    def text(self, el: _Raw) -> str:
        return "".join(el.text)

    def no_text(self, el: _Raw) -> None:
        if self.text(el).strip():
            self.stop(el, f"<{_split(el.tag)[1]}> holds text where elements are expected")

    def document(self, root: _Raw) -> tuple[Document, list[Problem]]:
        ns, local = _split(root.tag)
        if local != "unattend":
            self.stop(
                root,
                f"the root element is <{local}>, not <unattend>",
                f'start with <unattend xmlns="{UNATTEND_NS}">',
            )
        if ns not in (UNATTEND_NS, ""):
            self.stop(
                root,
                f"the root element <unattend> is in namespace {show(ns)}, not in "
                f"{show(UNATTEND_NS)}",
                f'start with <unattend xmlns="{UNATTEND_NS}">',
            )
        self.ns = ns
        self.no_text(root)
        passes: list[PassSettings] = []
        offline_image = None
        for el in root.children:
            ens, elocal = _split(el.tag)
            if ens == CPI_NS and elocal == "offlineImage":
                offline_image = el.attrs.get(f"{{{CPI_NS}}}source", el.attrs.get("source", ""))
                continue
            name = self.local(el)
            if name == "settings":
                passes.append(self.settings(el))
            elif name == "servicing":
                self.warnings.append(
                    Problem(
                        self.file,
                        el.pos.line,
                        el.pos.col,
                        "<servicing> (Windows packages and features) has no Linux meaning; ignored",
                        severity=Severity.WARNING,
                    )
                )
            else:
                self.stop(
                    el,
                    f"unknown element <{name}> in <unattend>",
                    "only <settings pass=...> elements belong here",
                )
        return Document(tuple(passes), offline_image, self.file), self.warnings

    def settings(self, el: _Raw) -> PassSettings:
        self.no_text(el)
        name = el.attrs.get("pass")
        if name is None:
            self.stop(
                el, "<settings> without a pass attribute", 'write <settings pass="generalize">'
            )
        assert name is not None
        for attr in el.attrs:
            if attr != "pass":
                self.stop(el, f"unknown attribute {show(_split(attr)[1])} on <settings>")
        comps = []
        for c in el.children:
            if self.local(c) != "component":
                self.stop(
                    c,
                    f"unknown element <{_split(c.tag)[1]}> in <settings>",
                    'only <component name="..."> elements belong here',
                )
            comps.append(self.component(c))
        return PassSettings(name, tuple(comps), el.pos)

    def component(self, el: _Raw) -> Component:
        self.no_text(el)
        name = el.attrs.get("name")
        if not name:
            self.stop(
                el,
                "<component> without a name attribute",
                'write <component name="Linux-Shell-Setup">',
            )
        assert name is not None
        attrs = []
        for attr, value in el.attrs.items():
            ans, alocal = _split(attr)
            if attr == "name":
                continue
            if ans or alocal not in COMPONENT_ATTRIBUTES:
                self.stop(
                    el,
                    f"unknown attribute {show(alocal)} on <component>",
                    "components take name, " + ", ".join(COMPONENT_ATTRIBUTES),
                )
            attrs.append((alocal, value))
        return Component(name, tuple(attrs), grouped(self.node(c) for c in el.children), el.pos)

    def node(self, el: _Raw) -> Node:
        name = self.local(el)
        attrs = []
        for attr, value in el.attrs.items():
            ans, alocal = _split(attr)
            if ans == WCM_NS and alocal in ("action", "keyValue"):
                attrs.append((ACTION if alocal == "action" else KEY_VALUE, value))
            else:
                self.stop(
                    el,
                    f"unknown attribute {show(alocal)} on <{name}>",
                    "settings take only wcm:action and wcm:keyValue",
                )
        if el.children:
            self.no_text(el)
            return Node(
                name, None, grouped(self.node(c) for c in el.children), tuple(attrs), el.pos
            )
        return Node(name, self.text(el), (), tuple(attrs), el.pos)


# -- writing ---------------------------------------------------------------------------------

_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTR_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
_TEXT_RE = re.compile("[&<>\r]")
_ATTR_RE = re.compile('[&<>\r"\n\t]')


def _text(s: str) -> str:
    return _TEXT_RE.sub(lambda m: _TEXT_ESCAPES[m.group()], s)


def _attr(s: str) -> str:
    return '"' + _ATTR_RE.sub(lambda m: _ATTR_ESCAPES[m.group()], s) + '"'


def write(doc: Document) -> bytes:
    """The document as unattend.xml, laid out the way Windows System Image Manager does."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<unattend xmlns="{UNATTEND_NS}" xmlns:wcm="{WCM_NS}">',
    ]
    for p in doc.passes:
        if not p.components:
            out.append(f"    <settings pass={_attr(p.name)} />")
            continue
        out.append(f"    <settings pass={_attr(p.name)}>")
        for c in p.components:
            attrs = "".join(f" {k}={_attr(v)}" for k, v in (("name", c.name), *c.attrs))
            if not c.settings:
                out.append(f"        <component{attrs} />")
                continue
            out.append(f"        <component{attrs}>")
            for s in c.settings:
                _write_node(out, s, 3)
            out.append("        </component>")
        out.append("    </settings>")
    if doc.offline_image is not None:
        out.append(
            f'    <cpi:offlineImage cpi:source={_attr(doc.offline_image)} xmlns:cpi="{CPI_NS}" />'
        )
    out.append("</unattend>")
    return ("\n".join(out) + "\n").encode("utf-8")


def _write_node(out: list[str], node: Node, depth: int) -> None:
    pad = "    " * depth
    attrs = "".join(f" {k}={_attr(v)}" for k, v in node.attrs)
    if node.children:
        out.append(f"{pad}<{node.name}{attrs}>")
        for c in node.children:
            _write_node(out, c, depth + 1)
        out.append(f"{pad}</{node.name}>")
    elif node.text:
        out.append(f"{pad}<{node.name}{attrs}>{_text(node.text)}</{node.name}>")
    else:
        out.append(f"{pad}<{node.name}{attrs}></{node.name}>")
