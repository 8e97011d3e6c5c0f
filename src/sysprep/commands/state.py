"""sysprep state: the image state of a target (the seed's "Detecting the State")."""

from __future__ import annotations

import argparse
import json

from sysprep import cli
from sysprep.log import printable
from sysprep.passes import progress, state
from sysprep.target import open_target_readonly


def build(p: argparse.ArgumentParser, name: str) -> None:
    cli.add_target_options(p)
    p.add_argument("--json", action="store_true", help="print it as JSON (with --follow: one JSON "
                   "object a line, each time the progress changes)")
    p.add_argument("--follow", "-f", action="store_true",
                   help="show the RunSynchronous progress of the pass under way as it goes (the "
                   "AuditUI on a terminal; one line per change otherwise) until nothing runs")


def run(ns: argparse.Namespace, name: str) -> int:
    spec = cli.target_from(ns)
    if ns.follow:
        import sys

        from sysprep.ui import audit
        from sysprep.ui.terminal import detect

        with open_target_readonly(spec) as target:
            return audit.follow(target.fs, detect(), sys.stdout, as_json=ns.json)
    with open_target_readonly(spec) as target:
        st = state.read(target.fs)
        record = progress.read(target.fs)
    if st is None:
        info: dict[str, object] = {"image_state": None, "pending": [], "running": "", "last_error": "",
                "note": "sysprep has not run on this system"}
    else:
        info = {"image_state": st.image_state.value, "pending": list(st.pending),
                "running": st.running, "last_error": st.last_error, "updated": st.updated}
    if record is not None:
        info["progress"] = record.to_json()
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
    if st.last_error:  # the state file is the image's: its text may hold anything
        print(f"last error: {printable(st.last_error)}")
    if record is not None and record.items and (not record.finished or record.pass_name in st.pending):
        print(f"RunSynchronous of {record.pass_name}:")
        for item in record.items:
            mark = MARKS.get(item.status, item.status)
            code = "" if item.exit_code is None else f" (exit {item.exit_code})"
            print(f"  {mark} {item.order:>3}  {printable(item.label)}{code}")
    return 0


MARKS = {progress.SUCCEEDED: "[ok]  ", progress.FAILED: "[fail]", progress.FATAL: "[FATAL]",
         progress.RUNNING: "[..]  ", progress.PENDING: "[ ]   ", progress.RERUN: "[ ]   "}
