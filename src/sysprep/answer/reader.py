"""Reading an answer file in either form: detect the form, parse safely, validate, model."""

from __future__ import annotations

import enum
import os
from dataclasses import replace

from sysprep.answer import merging, schema, validate
from sysprep.answer.limits import MAX_BYTES
from sysprep.answer.model import Answer
from sysprep.answer.problems import Problem, Severity, fail, fail_at
from sysprep.answer.tree import ACTION, ITEM_ATTRIBUTES, Component, Document, Node
from sysprep.errors import UsageError, not_regular


class Format(str, enum.Enum):
    XML = "xml"
    YAML = "yaml"


def detect(name: str, data: bytes) -> Format:
    """By the file name (.xml, .yaml, .yml), else by the content (XML starts with '<')."""
    low = name.lower()
    if low.endswith(".xml"):
        return Format.XML
    if low.endswith((".yaml", ".yml")):
        return Format.YAML
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<", b"\xff\xfe<", b"\xfe\xff\x00<")):
        return Format.XML
    return Format.YAML


def document(data: bytes, file: str, fmt: Format | None = None) -> tuple[Document, list[Problem]]:
    """The tree of a file's bytes (LocatedError when it cannot be read), and reader warnings."""
    if len(data) > MAX_BYTES:
        fail_at(
            file, 1, 1, f"the file is larger than {MAX_BYTES} bytes, the limit for an answer file"
        )
    if not data.strip():
        fail_at(file, 1, 1, "the answer file is empty")
    fmt = fmt or detect(file, data)
    # the parser of the file's form only: a clone's boot without an answer file loads neither
    if fmt is Format.XML:
        from sysprep.answer import xmlform

        doc, warnings = xmlform.parse(data, file)
    else:
        from sysprep.answer import yamlform

        doc, warnings = yamlform.parse(data, file)
    return normalize(doc), warnings


def normalize(doc: Document) -> Document:
    """What both forms mean the same way, written the same way: an item of a known list
    without wcm:action is an "add" (as in Windows), and wcm:action comes before
    wcm:keyValue."""
    return replace(
        doc,
        passes=tuple(
            replace(p, components=tuple(_component(c) for c in p.components)) for p in doc.passes
        ),
    )


def _component(c: Component) -> Component:
    spec = schema.component(c.name)
    return replace(c, settings=tuple(_node(spec, (n.name,), n, False) for n in c.settings))


def _node(spec: schema.ComponentSpec | None, path: tuple[str, ...], n: Node, item: bool) -> Node:
    attrs = sorted(
        n.attrs,
        key=lambda kv: (
            ITEM_ATTRIBUTES.index(kv[0]) if kv[0] in ITEM_ATTRIBUTES else len(ITEM_ATTRIBUTES)
        ),
    )
    if item and n.attr(ACTION) is None:
        attrs.insert(0, (ACTION, "add"))
    st = schema.lookup(spec, path) if spec is not None else None
    list_item = st.item if st is not None and st.kind is schema.Kind.LIST else None
    children = tuple(_node(spec, (*path, c.name), c, c.name == list_item) for c in n.children)
    return replace(n, attrs=tuple(attrs), children=children)


def model(
    doc: Document,
    warnings: list[Problem] | None = None,
    *,
    strict: bool = False,
    arch: str | None = None,
) -> tuple[Answer, list[Problem]]:
    """Validate a tree; LocatedError (exit 2) listing every error, else the model and the
    warnings (settings without a Linux meaning)."""
    result = validate.check(doc, strict=strict, arch=arch)
    early = list(warnings or ())
    errors = list(result.errors)
    if strict:
        errors = [w.as_error() for w in early] + errors
        early = []
    if errors:
        fail(sorted(errors, key=lambda p: (p.line, p.col)))
    arch_name = arch or merging.machine_architecture()
    found = sorted([*early, *result.warnings], key=lambda p: (p.line, p.col))
    warned = [w for w in found if w.severity is Severity.WARNING]
    return Answer(doc, result.effective, result.secrets, arch_name, tuple(warned)), warned


def parse(
    data: bytes,
    file: str,
    *,
    strict: bool = False,
    fmt: Format | None = None,
    arch: str | None = None,
) -> tuple[Answer, list[Problem]]:
    doc, warnings = document(data, file, fmt)
    return model(doc, warnings, strict=strict, arch=arch)


def read_host_file(path: str) -> bytes:
    """An answer file named on the command line (on the host), at most MAX_BYTES + 1 bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        raise UsageError(f"answer file {path}: {e.strerror}") from None
    try:
        kind = not_regular(os.fstat(fd).st_mode)
        if kind is not None:  # a pipe would read as empty, or block; a device, forever
            raise UsageError(f"answer file {path}: {kind}, not a regular file")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise UsageError(f"answer file {path}: {e.strerror}") from None
    finally:
        os.close(fd)


def load(path: str, *, strict: bool = False) -> tuple[Answer, list[Problem]]:
    """Read and validate the answer file at `path`; UsageError "FILE:LINE:COL: message"."""
    return parse(read_host_file(path), path, strict=strict)
