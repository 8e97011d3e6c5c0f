"""`sysprep scan` of the test Debian root, next to detect-secrets' own command line and to
`grep -rIl` of the same identity tokens, on the same tree.

Not a test: it prints figures. Run from the repository root:

    python -m benchmarks.scan_debian_root [--dir DIR] [--repeat 3] [--timeout 900]

The tree is the debootstrap Debian 12 root of the integration tests (built and cached by
tests/integration/build-debian-root), extracted into DIR (default: a temporary folder under
/var/tmp), with one secret of each kind planted (sysprep.testing.planted). Three commands run
on it, each as a child timed on its own (wall time, peak resident memory):

* sysprep scan --root TREE --json (identity and secrets, with the providers' plan);
* detect-secrets scan --all-files . from the tree (its default plugins and filters; it
  scans nothing outside its working folder; stopped after --timeout seconds, then reported
  as a lower bound);
* grep -rIlF of the target's identity tokens (machine-id, host name, SSH host keys): the
  plain tool doing only the token search, without any secret detection.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchmarks.generalize_large_root import Timed, timed
from sysprep.scan.tokens import collect, variants
from sysprep.target.confined import Confined
from sysprep.testing.planted import plant

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "tests", "integration", "build-debian-root")


def debian_root(dest: str) -> str:
    os.makedirs(dest)
    p = subprocess.run([BUILD], capture_output=True, text=True, check=True)
    tarball = p.stdout.strip().splitlines()[-1]
    subprocess.run(
        ["tar", "-C", dest, "--xattrs", "--acls", "--numeric-owner", "-xf", tarball], check=True
    )
    return dest


def detect_secrets() -> str:
    exe = shutil.which("detect-secrets") or os.path.join(
        os.path.dirname(sys.executable), "detect-secrets"
    )
    if not os.access(exe, os.X_OK):
        raise SystemExit("detect-secrets is not installed: pip install 'sysprep[scan]'")
    return exe


def timed_limit(argv: list[str], scratch: str, limit: float) -> tuple[Timed, bool]:
    """`timed`, stopped after `limit` seconds (then the figure is a lower bound)."""
    cmd = ["timeout", "--signal=KILL", str(limit), *argv]
    t = timed(cmd, scratch)
    return t, t.seconds >= limit - 0.5


def _files_with_results(report: str) -> str:
    try:
        with open(report) as f:
            return str(len(json.load(f)["results"]))
    except (OSError, ValueError, KeyError):
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None, help="where to extract the tree (default: /var/tmp)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of sysprep scan and grep")
    ap.add_argument("--timeout", type=float, default=900, help="limit for detect-secrets (s)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="scan-bench-", dir=args.dir or "/var/tmp")
    try:
        root = debian_root(os.path.join(work, "root"))
        plant(root)
        with Confined(root, dry_run=True) as fs:
            tokens = sorted({v for t in collect(fs, "debian") for v in variants(t)})
        entries = sum(len(d) + len(f) for _, d, f in os.walk(root))
        print(f"tree: {root}: {entries} entries, {len(tokens)} identity token spellings")
        scratch = os.path.join(work, "scratch")
        os.makedirs(scratch)
        runs = {
            "sysprep scan": [sys.executable, "-m", "sysprep", "scan", "--root", root, "--json"],
            "grep -rIlF tokens": ["grep", "-rIlF", *(a for t in tokens for a in ("-e", t)), root],
        }
        results: dict[str, list[Timed]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, argv in runs.items():
                results[name].append(timed(argv, scratch))
        # detect-secrets scans only paths under its working folder: run it from the root
        report = os.path.join(scratch, "detect-secrets.json")
        ds, cut = timed_limit(
            [
                "sh",
                "-c",
                'cd "$1" && exec "$2" scan --all-files . > "$3"',
                "sh",
                root,
                detect_secrets(),
                report,
            ],
            scratch,
            args.timeout,
        )
        found = _files_with_results(report)
        print(f"{'command':<26}{'wall s (median)':>16}{'peak RSS MiB':>14}")
        for name, ts in results.items():
            print(
                f"{name:<26}{statistics.median(t.seconds for t in ts):>16.2f}"
                f"{max(t.max_rss_kib for t in ts) / 1024:>14.1f}"
            )
        rss = "n/a" if cut else f"{ds.max_rss_kib / 1024:.1f}"  # killed: no figure of its own
        print(
            f"{'detect-secrets scan':<26}{('>' if cut else '') + f'{ds.seconds:.2f}':>16}"
            f"{rss:>14}   ({found} files with results)"
        )
        ours = statistics.median(t.seconds for t in results["sysprep scan"])
        print(
            f"sysprep scan is {ds.seconds / ours:.1f}x {'(at least) ' if cut else ''}faster than "
            f"detect-secrets scan on the same tree; grep of the tokens alone takes "
            f"{statistics.median(t.seconds for t in results['grep -rIlF tokens']):.2f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
