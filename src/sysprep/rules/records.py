"""sysprep's record files (state.ini, license.ini, release.ini): INI, keys in their case,
no interpolation (a value may hold '%'), one time-stamp format."""

from __future__ import annotations

import configparser
import io
import time
from typing import Mapping

Error = configparser.Error


def parser() -> configparser.ConfigParser:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    return cp


def parse(text: str) -> configparser.ConfigParser:
    """The record's sections; raises `Error` for text that is no INI file."""
    cp = parser()
    cp.read_string(text)
    return cp


def render(sections: Mapping[str, Mapping[str, str]]) -> str:
    cp = parser()
    for name, values in sections.items():
        cp[name] = dict(values)
    out = io.StringIO()
    cp.write(out)
    return out.getvalue()


def now() -> str:
    """The time stamp the records carry (local time with its offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
