"""sysprep man | completion SHELL: generated from the same table as the parser (sysprep.docs)."""

from __future__ import annotations

import argparse

from sysprep.docs import COMPLETIONS, man_page


def build(p: argparse.ArgumentParser, name: str) -> None:
    if name == "completion":
        p.add_argument("shell", choices=tuple(COMPLETIONS), help="the shell to complete for")


def run(ns: argparse.Namespace, name: str) -> int:
    if name == "man":
        print(man_page(), end="")
    else:
        print(COMPLETIONS[ns.shell](), end="")
    return 0
