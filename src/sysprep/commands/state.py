"""sysprep state: the image state of a target (the seed's "Detecting the State")."""

from __future__ import annotations

import argparse
import json

from sysprep import cli
from sysprep.passes import state
from sysprep.target import open_target_readonly


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument("--json", action="store_true", help="print it as JSON")


def run(ns: argparse.Namespace, name: str) -> int:
    spec = cli.target_from(ns)
    with open_target_readonly(spec) as target:
        st = state.read(target.fs)
    if st is None:
        info: dict[str, object] = {"image_state": None, "pending": [], "running": "", "last_error": "",
                "note": "sysprep has not run on this system"}
    else:
        info = {"image_state": st.image_state.value, "pending": list(st.pending),
                "running": st.running, "last_error": st.last_error, "updated": st.updated}
    if ns.json:
        print(json.dumps(info, indent=2))
        return 0
    if st is None:
        print("no image state: sysprep has not run on this system")
        return 0
    print(st.image_state.value)
    if st.pending:
        print(f"pending passes: {', '.join(st.pending)}")
    if st.running:
        print(f"running: {st.running}")
    if st.last_error:
        print(f"last error: {st.last_error}")
    return 0
