"""What a setting of the answer-file schema is: its kind, the passes it is valid in, its
fields (groups, lists), and the check and Linux meaning of its value."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Optional


class Kind(str, enum.Enum):
    BOOLEAN = "Boolean"
    INTEGER = "Integer"
    STRING = "String"
    ENUM = "Enumeration"
    GROUP = "Group"  # elements, each once
    LIST = "List"  # items keyed like Windows (wcm:action, wcm:keyValue)
    PASSWORD = "Password"  # Value + PlainText (Windows) or Hash (Linux)


Check = Callable[[str], Optional[str]]  # value -> error message, None when fine


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    help: str
    passes: tuple[str, ...] = ()  # top-level settings: where they are valid
    default: str = ""
    example: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    children: tuple[Setting, ...] = ()  # GROUP: its elements; LIST: the fields of each item
    item: str = ""  # LIST: the element name of an item
    key: str = ""  # LIST: the field that keys the items; "" = the wcm:keyValue attribute
    item_kind: Kind | None = None  # LIST of values (not of elements)
    required: bool = False  # must be present in its group or list item
    linux: bool = True  # False: accepted from Windows files but has no Linux meaning
    windows: bool = True  # False: a Linux-only element
    secret: bool = False  # never logged; scrubbed from the cache after its pass
    check: Check | None = None
    meaning: Callable[[str], str] | None = None  # the Linux value (time zone, locale, keymap)
    hint: str = ""  # what to write instead when the value is wrong

    def field(self, name: str) -> Setting | None:
        for c in self.children:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    help: str
    aliases: tuple[str, ...]
    settings: tuple[Setting, ...]

    def setting(self, name: str) -> Setting | None:
        for s in self.settings:
            if s.name == name:
                return s
        return None
