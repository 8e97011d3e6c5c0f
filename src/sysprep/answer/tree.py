"""The answer file as written: passes -> components -> setting elements, with positions.

Both readers (XML and YAML) produce this tree and both writers consume it, so a conversion
is lossless by construction: equality ignores positions and the file name only. Meaning
(types, allowed passes, list actions) is given to it by sysprep.answer.validate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

# The Windows namespaces, kept so that files written back work in Windows tools too.
UNATTEND_NS = "urn:schemas-microsoft-com:unattend"
WCM_NS = "http://schemas.microsoft.com/WMIConfig/2002/State"
CPI_NS = "urn:schemas-microsoft-com:cpi"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ACTION = "wcm:action"
KEY_VALUE = "wcm:keyValue"
ITEM_ATTRIBUTES = (ACTION, KEY_VALUE)
# <component name=... processorArchitecture=... publicKeyToken=... language=... versionScope=...>
COMPONENT_ATTRIBUTES = ("processorArchitecture", "publicKeyToken", "language", "versionScope")


@dataclass(frozen=True)
class Pos:
    line: int = 1
    col: int = 1


@dataclass(frozen=True)
class Node:
    """One setting element: a value (`text`) or elements (`children`), never both.

    An element without children always has a text ("" when empty), so `<OOBE/>` and
    YAML's `OOBE: {}` are the same node.
    """

    name: str
    text: str | None = ""
    children: tuple[Node, ...] = ()
    attrs: tuple[tuple[str, str], ...] = ()  # wcm:action, wcm:keyValue, in the file's order
    pos: Pos = field(default=Pos(), compare=False)

    def attr(self, name: str) -> str | None:
        for k, v in self.attrs:
            if k == name:
                return v
        return None

    def child(self, name: str) -> Node | None:
        for c in self.children:
            if c.name == name:
                return c
        return None

    def value(self, name: str) -> str | None:
        """The text of the first child called `name`, None when it is missing."""
        c = self.child(name)
        return None if c is None else c.text

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()


def grouped(nodes: Iterable[Node]) -> tuple[Node, ...]:
    """Siblings of the same name side by side, where the first of them stood.

    The order of different settings carries no meaning; keeping equal names together is what
    lets the YAML form (a mapping) hold every tree the XML form can.
    """
    order: dict[str, list[Node]] = {}
    for n in nodes:
        order.setdefault(n.name, []).append(n)
    return tuple(n for same in order.values() for n in same)


@dataclass(frozen=True)
class Component:
    name: str
    attrs: tuple[tuple[str, str], ...] = ()  # processorArchitecture, publicKeyToken, ...
    settings: tuple[Node, ...] = ()
    pos: Pos = field(default=Pos(), compare=False)

    def attr(self, name: str) -> str | None:
        for k, v in self.attrs:
            if k == name:
                return v
        return None


@dataclass(frozen=True)
class PassSettings:
    """One `<settings pass="...">` element."""

    name: str
    components: tuple[Component, ...] = ()
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Document:
    passes: tuple[PassSettings, ...] = ()
    offline_image: str | None = None  # <cpi:offlineImage cpi:source=...> as Windows SIM writes it
    source: str = field(default="", compare=False)  # the file name used in messages
    yaml: bool = field(default=False, compare=False)  # read from the YAML form (for messages)
