"""Property tests of the readers: whatever the bytes, a model or one UsageError (never a
traceback); whatever the tree, XML -> YAML -> XML gives it back."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sysprep import answer
from sysprep.answer import reader, schema, xmlform, yamlform
from sysprep.answer.model import Answer
from sysprep.answer.tree import (
    ACTION,
    KEY_VALUE,
    Component,
    Document,
    Node,
    PassSettings,
    grouped,
)
from sysprep.errors import UsageError

pytestmark = pytest.mark.slow  # hundreds of generated files per test

# SYSPREP_FUZZ_EXAMPLES=5000 for a longer run than the default's
EXAMPLES = int(os.environ.get("SYSPREP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_usage_error(data: bytes, name: str) -> None:
    try:
        a, warnings = answer.parse(data, name)
    except UsageError as e:
        lines = str(e).splitlines()
        assert lines and all(line.startswith(f"{name}:") for line in lines), str(e)
        return
    assert isinstance(a, Answer)
    assert all(w.render().startswith(f"{name}:") for w in warnings)


XML_PIECES = st.sampled_from(
    [
        '<unattend xmlns="urn:schemas-microsoft-com:unattend" '
        'xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">',
        "</unattend>",
        '<settings pass="specialize">',
        '<settings pass="generalize">',
        "</settings>",
        '<component name="Linux-Shell-Setup">',
        '<component name="Linux-Deployment">',
        '<component name="Microsoft-Windows-Shell-Setup" publicKeyToken="31bf3856ad364e35">',
        "</component>",
        "<ComputerName>",
        "</ComputerName>",
        "<RunSynchronous>",
        "</RunSynchronous>",
        '<RunSynchronousCommand wcm:action="add">',
        "</RunSynchronousCommand>",
        "<Order>",
        "</Order>",
        "<Path>",
        "</Path>",
        "1",
        "2",
        "web-01",
        "*",
        "&amp;",
        "&lol;",
        "<!DOCTYPE x>",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<?pi x?>",
        "<TimeZone>",
        "</TimeZone>",
        "UTC",
        " ",
        "\n",
        "\x00",
        "\xff",
    ]
)
YAML_PIECES = st.sampled_from(
    [
        "specialize:",
        "generalize:",
        "\n",
        "  ",
        "    ",
        "Linux-Shell-Setup:",
        "Linux-Deployment:",
        "ComputerName:",
        " web-01",
        " '*'",
        "RunSynchronous:",
        "- ",
        "Order: 1",
        "Path: /bin/true",
        "wcm:action: modify",
        "&a ",
        "*a",
        "!!python/object:x",
        "[",
        "]",
        "{",
        "}",
        ",",
        ": ",
        "'",
        '"',
        "\t",
        "---",
        "...",
        "%YAML 1.1",
        "? ",
        "|",
        ">",
        "#",
        "\x00",
        "\u2028",
        "yes",
        "~",
    ]
)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_as_xml(data):
    parse_or_usage_error(data, "f.xml")


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_as_yaml(data):
    parse_or_usage_error(data, "f.yaml")


@FUZZ
@given(st.lists(XML_PIECES, max_size=60))
def test_xml_made_of_answer_file_pieces(pieces):
    parse_or_usage_error("".join(pieces).encode("utf-8", "surrogatepass"), "f.xml")


@FUZZ
@given(st.lists(YAML_PIECES, max_size=60))
def test_yaml_made_of_answer_file_pieces(pieces):
    parse_or_usage_error("".join(pieces).encode("utf-8", "surrogatepass"), "f.yaml")


# -- trees: the writers and readers are inverse ------------------------------------------------

XML_CHAR = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e"
    "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
    "\x1b\x1c\x1d\x1e\x1f\ufffe\uffff",
)
TEXT = st.text(XML_CHAR, max_size=12)
KNOWN_SETTINGS = [s.name for c in schema.COMPONENTS for s in c.settings]
NAMES = st.one_of(
    st.sampled_from(
        [
            *KNOWN_SETTINGS,
            "RunSynchronousCommand",
            "Order",
            "Path",
            "LocalAccount",
            "Name",
            "Value",
            "Group",
        ]
    ),
    st.from_regex(r"\A[A-Z][A-Za-z0-9_.-]{0,8}\Z"),
)
ATTRS = st.lists(
    st.sampled_from(
        [
            (ACTION, "add"),
            (ACTION, "modify"),
            (ACTION, "remove"),
            (KEY_VALUE, "1"),
            (KEY_VALUE, "k"),
        ]
    ),
    max_size=2,
    unique_by=lambda kv: kv[0],
).map(tuple)


def nodes(depth: int) -> st.SearchStrategy[Node]:
    leaf = st.builds(lambda n, t, a: Node(n, t, (), a), NAMES, TEXT, ATTRS)
    if depth == 0:
        return leaf
    inner = st.builds(
        lambda n, cs, a: Node(n, None, grouped(cs), a) if cs else Node(n, "", (), a),
        NAMES,
        st.lists(nodes(depth - 1), max_size=3),
        ATTRS,
    )
    return st.one_of(leaf, inner)


COMPONENT_NAMES = st.one_of(
    st.sampled_from(
        [c.name for c in schema.COMPONENTS] + [a for c in schema.COMPONENTS for a in c.aliases]
    ),
    st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,12}\Z"),
)
COMPONENT_ATTRS = st.lists(
    st.sampled_from(
        [
            ("processorArchitecture", "amd64"),
            ("processorArchitecture", "x86"),
            ("publicKeyToken", "31bf3856ad364e35"),
            ("language", "neutral"),
            ("versionScope", "nonSxS"),
        ]
    ),
    max_size=3,
    unique_by=lambda kv: kv[0],
).map(tuple)
DOCUMENTS = st.builds(
    lambda passes, image: Document(tuple(passes), image),
    st.lists(
        st.builds(
            lambda name, comps: PassSettings(name, tuple(comps)),
            st.sampled_from(schema.PASSES),
            st.lists(
                st.builds(
                    lambda n, a, s: Component(n, a, grouped(s)),
                    COMPONENT_NAMES,
                    COMPONENT_ATTRS,
                    st.lists(nodes(3), max_size=4),
                ),
                max_size=4,
            ),
        ),
        max_size=4,
        unique_by=lambda p: p.name,
    ),
    st.one_of(st.none(), TEXT),
)


def canonical(doc: Document) -> Document:
    """The document as the readers give it back. A known list written twice side by side
    (which validation refuses) has no YAML form: the second one is dropped."""

    def dedup(comp: str, path: tuple[str, ...], nodes: tuple[Node, ...]) -> tuple[Node, ...]:
        out, seen = [], set()
        for n in nodes:
            if schema.list_item(comp, (*path, n.name)) is not None:
                if n.name in seen:
                    continue
                seen.add(n.name)
            out.append(replace(n, children=dedup(comp, (*path, n.name), n.children)))
        return tuple(out)

    passes = tuple(
        replace(
            p,
            components=tuple(
                replace(c, settings=dedup(c.name, (), c.settings)) for c in p.components
            ),
        )
        for p in doc.passes
    )
    return reader.normalize(replace(doc, passes=passes, source=""))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_xml_and_yaml_writers_and_readers_are_inverse(doc):
    doc = canonical(doc)
    from_xml, _ = reader.document(xmlform.write(doc), "t.xml")
    assert from_xml == doc
    from_yaml, _ = reader.document(yamlform.write(doc), "t.yaml")
    assert from_yaml == doc
    again, _ = reader.document(xmlform.write(from_yaml), "t.xml")
    assert again == doc
