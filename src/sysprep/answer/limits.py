"""Bounds on what an answer file may be, checked before and while it is parsed.

Real answer files are a few kilobytes, eight or nine elements deep; these limits leave wide
room for them and none for a file built to exhaust memory or the stack.
"""

from __future__ import annotations

MAX_BYTES = 1024 * 1024  # 1 MiB: a bigger file is refused before it is parsed
MAX_DEPTH = 32  # nesting of XML elements / YAML collections
MAX_ELEMENTS = 20_000  # XML elements / YAML nodes in one file
