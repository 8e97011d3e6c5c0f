"""Sub-commands (the table is cli.SUBCOMMANDS), loaded lazily; anything else is the main
command (the Sysprep run)."""

from __future__ import annotations

import importlib
from typing import Sequence

from sysprep.cli import SUBCOMMANDS


def dispatch(argv: Sequence[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        from sysprep.cli import Parser, join_dash_values

        name = argv[0]
        module = importlib.import_module(SUBCOMMANDS[name][0])
        parser = Parser(prog=f"sysprep {name}", description=SUBCOMMANDS[name][1])
        module.build(parser, name)
        ns = parser.parse_args(join_dash_values(argv[1:]))
        return int(module.run(ns, name))
    from sysprep.commands import sysprep_run

    return sysprep_run.main(argv)
