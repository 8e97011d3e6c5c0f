"""Sub-commands, loaded lazily; anything else is the main command (the Sysprep run)."""

from __future__ import annotations

import importlib
from typing import Sequence

# name -> (module, one-line summary); each module has build(parser) and run(namespace).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "state": ("sysprep.commands.state", "show the image state of a target, and the pass under way"),
    "providers": ("sysprep.commands.providers", "list the providers, or show one in full"),
    "install": ("sysprep.commands.install", "put sysprep into a target and record its release"),
    "answer": ("sysprep.commands.answer", "validate, show or convert an answer file (unattend.xml "
               "or YAML)"),
    "license": ("sysprep.commands.license", "the registrations a rearm resets and the rearms "
                "counted (slmgr /dlv)"),
    "boot": ("sysprep.commands.boot", "run the pending boot-time passes (what the boot units run)"),
    "batch": ("sysprep.commands.batch", "generalize many disk images, several at a time"),
    "schema": ("sysprep.commands.schema", "print the JSON schema of a --json output (the "
               "pipeline contract)"),
    "scan": ("sysprep.commands.scan", "prove a target is safe to clone: report the template's "
             "identity and the secrets a clone would share"),
    "completion": ("sysprep.commands.docs", "print the shell completion script (bash, zsh or fish)"),
    "man": ("sysprep.commands.docs", "print the man page (troff)"),
}


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
