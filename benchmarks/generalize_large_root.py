"""Generalize a large dirty root: sysprep next to a plain rm -rf / truncate of the same paths.

Not a test: it prints figures. Run as root (sysprep refuses otherwise):

    python benchmarks/generalize_large_root.py [--files 120000] [--repeat 5] [--dir DIR]

Each round builds a dirty root (sysprep.testing.dirty_root, with --files extra files spread
over logs, temporary folders and users' caches) and an identical copy. A dry run of
`sysprep --generalize` gives the plan; the baseline is a shell script that removes,
empties or truncates exactly the paths of the plan with rm -rf, find -delete and truncate.
Then sysprep runs on the root and the baseline on the copy, each as a child process timed
on its own (wall time; peak resident memory from wait4), both ending with the data synced.
Finally the two trees are compared: they must hold the same paths.

--dir defaults to /dev/shm (a tmpfs: the figures measure the software, not a shared disk);
give a folder on a disk to include the I/O.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from sysprep.testing.dirty_root import build

SYSPREP = [sys.executable, "-m", "sysprep", "--generalize", "--oobe", "--quiet"]
CHUNK = 500  # paths per rm command line


@dataclass
class Timed:
    seconds: float
    max_rss_kib: int
    status: int


GNU_TIME = "/usr/bin/time"


def timed(argv: list[str], scratch: str) -> Timed:
    """Run a child: its wall time and peak RSS (its own children included).

    A child forked from this (large) Python process starts with this process's peak RSS as
    its own (Linux keeps the high-water mark across exec), so the child is started through
    GNU time, small, which reports the true figure. Without GNU time, wait4's figure is
    reported: an upper bound.
    """
    out = os.path.join(scratch, "rss")
    use_time = os.access(GNU_TIME, os.X_OK)
    cmd = [GNU_TIME, "-f", "%M", "-o", out, *argv] if use_time else argv
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    rss = usage.ru_maxrss
    if use_time:
        with open(out) as f:
            rss = int(f.read().split()[-1])
    return Timed(seconds, rss, os.waitstatus_to_exitcode(status))


def plan_of(root: str) -> list[dict[str, object]]:
    p = subprocess.run(
        [*SYSPREP, "--root", root, "--dry-run", "--json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if p.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{p.stderr}")
    plan: list[dict[str, object]] = json.loads(p.stdout)["plan"]
    return plan


def baseline_script(plan: list[dict[str, object]], root: str) -> tuple[str, dict[str, int]]:
    """Shell commands doing to `root` what the plan says, with the plain tools."""
    lines = ["#!/bin/sh"]
    counts = {"rm -rf": 0, "find -delete": 0, "truncate": 0}
    pending: list[str] = []

    def flush() -> None:
        for i in range(0, len(pending), CHUNK):
            lines.append("rm -rf -- " + " ".join(shlex.quote(p) for p in pending[i : i + CHUNK]))
        pending.clear()

    for rec in plan:
        path = os.path.join(root, str(rec["path"]).lstrip("/"))
        op = rec["op"]
        if op == "remove":
            pending.append(path)
            counts["rm -rf"] += 1
        elif op == "clean" and "folders kept" in str(rec.get("detail", "")):
            flush()
            lines.append(f"find {shlex.quote(path)} -mindepth 1 ! -type d -delete")
            counts["find -delete"] += 1
        elif op == "clean":
            pending.extend(os.path.join(path, n) for n in os.listdir(path))  # what is in it now
            counts["rm -rf"] += 1
        elif op in ("truncate", "write"):  # a write is a few bytes: an empty file is close enough
            flush()
            lines.append(f"truncate -s 0 -- {shlex.quote(path)}")
            counts["truncate"] += 1
    flush()
    lines.append("sync")
    return "\n".join(lines) + "\n", counts


def paths(root: str, skip: str = "") -> set[str]:
    found = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            rel = os.path.relpath(os.path.join(d, n), root)
            if not (skip and (rel == skip or rel.startswith(skip + "/"))):
                found.add(rel)
    return found


def one_round(
    base: str, files: int, baseline_first: bool
) -> tuple[Timed, Timed, int, dict[str, int], int]:
    work = tempfile.mkdtemp(prefix="sysprep-bench-", dir=base)
    try:
        root, copy = os.path.join(work, "root"), os.path.join(work, "copy")
        build(root, bulk=files)
        subprocess.run(["cp", "-a", root, copy], check=True)
        before = sum(1 for _ in paths(root))
        plan = plan_of(root)
        script, counts = baseline_script(plan, copy)
        script_path = os.path.join(work, "baseline.sh")
        with open(script_path, "w") as f:
            f.write(script)
        subprocess.run(["sync"], check=True)
        # The order alternates between rounds: on a disk, whoever runs second may pay for the
        # first one's write-back.
        if baseline_first:
            theirs = timed(["sh", script_path], work)
            subprocess.run(["sync"], check=True)
            ours = timed([*SYSPREP, "--root", root], work)
        else:
            ours = timed([*SYSPREP, "--root", root], work)
            subprocess.run(["sync"], check=True)
            theirs = timed(["sh", script_path], work)
        if ours.status or theirs.status:
            raise SystemExit(f"a run failed: sysprep {ours.status}, baseline {theirs.status}")
        left_ours = paths(root, skip="var/lib/sysprep")
        left_theirs = paths(copy)
        if left_ours != left_theirs:
            diff = sorted(left_ours ^ left_theirs)
            raise SystemExit(f"the two trees differ after the runs: {diff[:10]}")
        return ours, theirs, before, counts, len(plan)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile(base: str, files: int) -> None:
    """sysprep in-process under cProfile on a fresh root: where the time goes."""
    from sysprep.__main__ import main

    work = tempfile.mkdtemp(prefix="sysprep-prof-", dir=base)
    try:
        root = os.path.join(work, "root")
        build(root, bulk=files)
        prof = cProfile.Profile()
        prof.enable()
        main(["--generalize", "--oobe", "--quiet", "--root", root])
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=120_000, help="extra files in logs, temp and homes")
    p.add_argument("--repeat", type=int, default=5, help="rounds (the median is reported)")
    p.add_argument(
        "--dir",
        default="/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir(),
        help="where to build the roots (default: /dev/shm)",
    )
    p.add_argument("--profile", action="store_true", help="also profile sysprep in-process")
    ns = p.parse_args()
    if os.geteuid() != 0:
        print("run as root: sysprep prepares only as root", file=sys.stderr)
        return 2
    rounds = [one_round(ns.dir, ns.files, baseline_first=i % 2 == 1) for i in range(ns.repeat)]
    ours = [r[0] for r in rounds]
    theirs = [r[1] for r in rounds]
    _, _, before, counts, actions = rounds[0]
    t_ours = statistics.median(t.seconds for t in ours)
    t_theirs = statistics.median(t.seconds for t in theirs)
    print(f"root: {before} paths ({ns.files} bulk files) in {ns.dir}; plan: {actions} actions")
    print(
        f"baseline: {counts['rm -rf']} paths for rm -rf, {counts['find -delete']} find -delete, "
        f"{counts['truncate']} truncate, then sync"
    )
    print(f"{'':<22}{'wall (median)':>14}{'all rounds':>28}{'peak RSS':>12}")
    for name, runs, med in (
        ("sysprep --generalize", ours, t_ours),
        ("plain rm/truncate", theirs, t_theirs),
    ):
        each = " ".join(f"{t.seconds:.2f}" for t in runs)
        rss = max(t.max_rss_kib for t in runs) / 1024
        print(f"{name:<22}{med:>12.2f} s{each:>28}{rss:>9.1f} MiB")
    print(f"ratio sysprep / baseline: {t_ours / t_theirs:.2f}x (target: within 2x)")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak RSS, building the roots: {self_rss:.1f} MiB)")
    if ns.profile:
        profile(ns.dir, ns.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
