"""sysprep batch IMAGE...: generalize many independent disk images, several at a time.

Each image is one guest and one `sysprep --generalize --image IMAGE --json` process of its
own (its own private mount namespace, lock and guardian), so one failing image never stops
the others. Copies of one image run side by side: XFS is mounted with nouuid, and btrfs
copies (one fsid) take turns on a lock. A progress bar per image while they run, then a
summary table and, with --report or --json, a JSON report.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from sysprep import cli, schemas, text
from sysprep.errors import ExitCode, UsageError
from sysprep.log import printable
from sysprep.providers.base import Phase
from sysprep.providers.registry import Registry
from sysprep.request import Selection

BAR = 24


def build(p: argparse.ArgumentParser, name: str) -> None:
    p.description = (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ")
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="disk image files (raw, qcow2 with or without a backing file, vmdk, vhdx, vdi, vpc)",
    )
    cli.add_options(p, cli.BATCH_OPTIONS)
    cli.add_options(p, [cli.BY_NAME[n] for n in cli.BATCH_PASSED])
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")


@dataclass
class Job:
    image: str
    argv: list[str]
    proc: subprocess.Popen[str] | None = None
    start: float = 0.0
    seconds: float = 0.0
    step: str = "waiting"
    done_steps: int = 0
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    exit_code: int | None = None
    report: dict[str, Any] | None = None

    @property
    def result(self) -> str:
        if self.exit_code is None:
            return "interrupted" if self.proc is not None else "not run"
        if self.exit_code == 0:
            return "planned" if self.report and self.report.get("dry_run") else "ok"
        return "failed"

    @property
    def error(self) -> str:
        if self.exit_code in (0, None):
            return ""
        if self.report:
            error = self.report.get("error")
            if isinstance(error, dict):  # the run's error document (a usage error, a crash)
                return str(error.get("message", ""))
            if error:
                return str(error)
            for p in self.report.get("providers", []):
                if p.get("status") == "failed" and p.get("errors"):
                    return f"{p['name']}: {p['errors'][0]}"
        lines = [line for line in self.err if line.startswith("sysprep: ") and "[" not in line[:12]]
        return (lines[-1] if lines else (self.err[-1] if self.err else "")).removeprefix(
            "sysprep: "
        )

    def changes(self) -> tuple[int, int, int]:
        provs = (self.report or {}).get("providers", [])
        return (
            sum(p.get("actions", 0) for p in provs),
            sum(p.get("files", 0) for p in provs),
            sum(p.get("bytes", 0) for p in provs),
        )


def _passed_args(ns: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for name in cli.BATCH_PASSED:
        o = cli.BY_NAME[name]
        value = getattr(ns, name.replace("-", "_"))
        if o.metavar is None:
            if value:
                out.append("--" + name)
        elif o.repeat:
            for v in value:
                out += ["--" + name, v]
        elif value is not None:
            out += ["--" + name, value]
    return out


def _planned_steps(sel: Selection) -> int:
    """How many provider steps each run shows (for the progress bars)."""
    try:
        return len(Registry.load().select(sel, (Phase.CLEANUP, Phase.GENERALIZE))) + 1
    except UsageError:
        return 10


def run(ns: argparse.Namespace, name: str) -> int:
    from sysprep.passes.preflight import require_root

    require_root()
    jobs = os.cpu_count() or 1
    if ns.jobs is not None:
        if not ns.jobs.isdigit() or int(ns.jobs) < 1:
            raise UsageError(
                f"--jobs {ns.jobs}: give a number of images to prepare at once (1 or more)"
            )
        jobs = int(ns.jobs)
    seen: set[tuple[int, int]] = set()
    for image in ns.images:
        try:
            st = os.stat(image)
        except OSError:
            raise UsageError(f"{image}: no such image file") from None
        if (st.st_dev, st.st_ino) in seen:
            raise UsageError(f"{image} is given twice")
        seen.add((st.st_dev, st.st_ino))
    # the same validation as a single run, before anything starts
    passed = _passed_args(ns)
    request, _ = cli.parse(["--generalize", *passed, "--image", os.path.abspath(ns.images[0])])
    # -v: each operation's heading on stderr moves the image's progress bar
    base = [sys.executable, "-m", "sysprep", "--generalize", "--verbose", *passed]
    queue = [
        Job(os.path.abspath(i), [*base, "--image", os.path.abspath(i), "--json"]) for i in ns.images
    ]
    total_steps = _planned_steps(request.selection)
    started = time.monotonic()
    view = Progress(sys.stderr, queue, total_steps, quiet=ns.json)
    interrupted = False
    try:
        _schedule(queue, jobs, view)
    except KeyboardInterrupt:
        interrupted = True
        for job in queue:
            if job.proc is not None and job.proc.poll() is None:
                job.proc.send_signal(signal.SIGTERM)
        for job in queue:
            if job.proc is not None:
                _finish(job, job.proc.wait())
    view.close()
    report = _report(queue, jobs, time.monotonic() - started)
    if ns.report:
        with open(ns.report, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    if ns.json:
        print(json.dumps(report, indent=2))
    else:
        _table(queue, sys.stdout)
        if ns.report:
            print(f"report: {ns.report}")
    if interrupted:
        return int(ExitCode.FAILURE)
    return int(ExitCode.OK if all(j.exit_code == 0 for j in queue) else ExitCode.FAILURE)


def _schedule(queue: list[Job], jobs: int, view: Progress) -> None:
    sel = selectors.DefaultSelector()
    waiting = list(queue)
    running: list[Job] = []
    while waiting or running:
        while waiting and len(running) < jobs:
            job = waiting.pop(0)
            job.start = time.monotonic()
            job.step = "opening the image"
            job.proc = subprocess.Popen(
                job.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            assert job.proc.stdout is not None and job.proc.stderr is not None
            sel.register(job.proc.stdout, selectors.EVENT_READ, (job, "out"))
            sel.register(job.proc.stderr, selectors.EVENT_READ, (job, "err"))
            running.append(job)
        view.draw()
        for key, _ in sel.select(timeout=0.25):
            job, which = key.data
            stream: IO[str] = key.fileobj  # type: ignore[assignment]
            line = stream.readline()
            if not line:
                sel.unregister(stream)
                continue
            if which == "out":
                job.out.append(line)
            else:
                job.err.append(line.rstrip("\n"))
                _progress(job, line)
        for job in list(running):
            assert job.proc is not None
            if job.proc.poll() is not None and not any(
                k.data[0] is job for k in sel.get_map().values()
            ):
                _finish(job, job.proc.returncode)
                running.remove(job)
    view.draw()


def _progress(job: Job, line: str) -> None:
    text = line.strip().removeprefix("sysprep: ")
    if text.startswith("[") and "]" in text:
        name = text[1 : text.index("]")]
        if name != job.step:
            job.done_steps += 1
            job.step = name


def _finish(job: Job, code: int) -> None:
    job.exit_code = code
    job.seconds = round(time.monotonic() - job.start, 2)
    job.step = "done" if code == 0 else "failed"
    try:
        job.report = json.loads("".join(job.out)) if job.out else None
    except ValueError:
        job.report = None


class Progress:
    """One bar per image: redrawn in place on a terminal, one line per change otherwise."""

    def __init__(self, out: IO[str], queue: list[Job], steps: int, *, quiet: bool) -> None:
        self.out, self.queue, self.steps, self.quiet = out, queue, steps, quiet
        self.tty = out.isatty()
        self.drawn = 0
        self.last: dict[str, str] = {}
        self.width = max(len(os.path.basename(j.image)) for j in queue)

    def line(self, job: Job) -> str:
        frac = 1.0 if job.exit_code is not None else min(job.done_steps / max(self.steps, 1), 0.99)
        if job.proc is None:
            frac = 0.0
        filled = int(frac * BAR)
        bar = "#" * filled + "-" * (BAR - filled)
        secs = (
            job.seconds
            if job.exit_code is not None
            else (time.monotonic() - job.start if job.proc is not None else 0.0)
        )
        return text.fit(
            f"{os.path.basename(job.image):<{self.width}} [{bar}] {frac * 100:3.0f}% "
            f"{secs:6.1f}s  {job.step}",
            text.columns(),
        )  # one line: redrawn in place

    def draw(self) -> None:
        if self.quiet:
            return
        if not self.tty:
            for job in self.queue:
                state = f"{job.step}"
                if self.last.get(job.image) != state and job.proc is not None:
                    self.last[job.image] = state
                    print(self.line(job), file=self.out, flush=True)
            return
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}A")
        for job in self.queue:
            self.out.write("\x1b[2K" + self.line(job) + "\n")
        self.drawn = len(self.queue)
        self.out.flush()

    def close(self) -> None:
        self.draw()


def _report(queue: list[Job], jobs: int, seconds: float) -> dict[str, Any]:
    images = []
    for j in queue:
        actions, files, size = j.changes()
        images.append(
            {
                "image": j.image,
                "result": j.result,
                "exit_code": j.exit_code,
                "seconds": j.seconds,
                "changes": actions,
                "files": files,
                "bytes": size,
                "error": j.error,
                "report": j.report,
            }
        )
    return {
        "schema_version": schemas.VERSION,
        "jobs": jobs,
        "seconds": round(seconds, 2),
        "images": images,
        "ok": sum(1 for j in queue if j.exit_code == 0),
        "failed": sum(1 for j in queue if j.exit_code not in (0,)),
    }


def _table(queue: list[Job], out: IO[str]) -> None:
    """The summary, in the terminal's width: the full paths and errors are in --json."""
    rows = [("IMAGE", "RESULT", "TIME", "CHANGED", "NOTE")]
    for j in queue:
        _, files, size = j.changes()
        changed = (
            f"{text.plural(files, 'file')}, {text.size(size)}"
            if j.report and "providers" in j.report
            else "-"
        )
        rows.append((os.path.basename(j.image), j.result, f"{j.seconds:.1f}s", changed, j.error))
    for line in text.table(rows):
        print(printable(line), file=out)  # an error names files of the image
    ok = sum(1 for j in queue if j.exit_code == 0)
    print(f"{ok} of {text.plural(len(queue), 'image')} prepared", file=out)
