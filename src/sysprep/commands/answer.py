"""sysprep answer validate | show | convert | reference: answer files without a run."""

from __future__ import annotations

import argparse
import json
import os
import sys

import yaml

from sysprep import cli, schemas, text
from sysprep.answer import cache, in_image, reader, reference, xmlform, yamlform
from sysprep.answer.model import Answer
from sysprep.answer.problems import Problem
from sysprep.errors import UsageError


def build(p: argparse.ArgumentParser, name: str) -> None:
    sub = p.add_subparsers(
        dest="action",
        metavar="ACTION",
        required=True,
        help="validate FILE | show [FILE] | convert FILE | reference",
    )
    v = sub.add_parser(
        "validate",
        help="check the whole file (and, with --root or --image, "
        "that the target has what it names); every mistake as FILE:LINE:COL: "
        "message (exit 2)",
    )
    v.add_argument("file", metavar="FILE", help="unattend.xml or YAML answer file")
    v.add_argument(
        "--strict", action="store_true", help="settings without a Linux meaning are errors"
    )
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    cli.add_target_options(v)
    s = sub.add_parser("show", help="the settings in effect, per pass, in their Linux meaning")
    s.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="answer file (default: the copy cached in the target)",
    )
    s.add_argument(
        "--strict", action="store_true", help="settings without a Linux meaning are errors"
    )
    s.add_argument("--json", action="store_true", help="print as JSON")
    cli.add_target_options(s, images=False)
    c = sub.add_parser("convert", help="unattend.xml to YAML or back, without loss")
    c.add_argument("file", metavar="FILE", help="the answer file to convert")
    c.add_argument(
        "--to", choices=("xml", "yaml"), help="the form to write (default: the other one)"
    )
    c.add_argument(
        "-o", "--output", metavar="OUT", help="write here instead of the standard output"
    )
    c.add_argument(
        "--strict", action="store_true", help="settings without a Linux meaning are errors"
    )
    sub.add_parser(
        "reference", help="print the answer-file reference (Markdown), generated from the schema"
    )


def _warn(warnings: list[Problem] | tuple[Problem, ...]) -> None:
    for w in warnings:
        print(w.render(), file=sys.stderr)


def run(ns: argparse.Namespace, name: str) -> int:
    if ns.action == "reference":
        print(reference.markdown(), end="")
        return 0
    if ns.action == "validate":
        answer, warnings = reader.load(ns.file, strict=ns.strict)
        if ns.root or ns.image:  # and against that target: what it names must exist there
            from sysprep.target import open_target_readonly

            with open_target_readonly(cli.target_from(ns)) as target:
                warnings = list(in_image.enforce(answer, target.fs).warnings)
        if ns.json:
            print(
                json.dumps(
                    {
                        "schema_version": schemas.VERSION,
                        "file": ns.file,
                        "valid": True,
                        "passes": list(answer.passes()),
                        "warnings": [w.render() for w in warnings],
                    },
                    indent=2,
                )
            )
        else:
            _warn(warnings)
            print(f"{ns.file}: valid ({text.plural(len(warnings), 'warning')})")
        return 0
    if ns.action == "show":
        return _show(ns)
    return _convert(ns)


def _show(ns: argparse.Namespace) -> int:
    if ns.file is not None:
        if ns.root:
            raise UsageError("give an answer FILE or --root DIR (its cached copy), not both")
        answer, warnings = reader.load(ns.file, strict=ns.strict)
        where = ns.file
    else:
        from sysprep.target import open_target_readonly

        with open_target_readonly(cli.target_from(ns)) as target:
            found = cache.read(target.fs, strict=ns.strict)
        if found is None:
            raise UsageError(
                f"no answer file is cached in {target.spec.describe()} (/{cache.CACHE})"
            )
        answer, warnings, where = found, list(found.warnings), found.source
    _warn(warnings)
    shown = answer.show()
    if ns.json:
        print(
            json.dumps(
                {
                    "schema_version": schemas.VERSION,
                    "file": where,
                    "architecture": answer.architecture,
                    "passes": shown,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(f"# {where}: settings in effect on {answer.architecture}")
    if not shown:
        print("# (no settings with a Linux meaning)")
        return 0
    print(
        yaml.safe_dump(
            shown, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
        ),
        end="",
    )
    return 0


def _convert(ns: argparse.Namespace) -> int:
    data = reader.read_host_file(ns.file)
    fmt = reader.detect(ns.file, data)
    answer, warnings = reader.parse(data, ns.file, strict=ns.strict, fmt=fmt)
    _warn(warnings)
    to = (
        reader.Format(ns.to)
        if ns.to
        else (reader.Format.YAML if fmt is reader.Format.XML else reader.Format.XML)
    )
    out = render(answer, to)
    if ns.output is None:
        sys.stdout.write(out.decode("utf-8"))
        return 0
    mode = 0o600 if answer.secrets else 0o644  # passwords stay as private as they were
    fd = os.open(ns.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(out)
    return 0


def render(answer: Answer, to: reader.Format) -> bytes:
    return (xmlform.write if to is reader.Format.XML else yamlform.write)(answer.document)
