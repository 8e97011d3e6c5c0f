"""What a person reads: a run fits one screen, tables fit 80 columns, counts have their plural."""

from __future__ import annotations

import io
import re

import pytest

from sysprep import text
from sysprep.commands import batch
from sysprep.passes.report import ProviderResult, Report
from tests.contract import parse
from tests.test_contract import provider

SCREEN = 24


@pytest.fixture(autouse=True)
def columns_80(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def test_plural_says_1_file_and_2_files():
    assert [text.plural(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert text.plural(1, "change") == "1 change"


def test_default_run_output_fits_one_screen_and_says_what_changed(dirty, run):
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 0
    lines = r.err.splitlines() + r.out.splitlines()
    rows = sum(-(-max(len(line), 1) // 80) for line in lines)  # a long message takes two
    assert rows <= SCREEN, "\n".join(lines)
    summary = [line for line in r.out.splitlines() if not line.startswith("Logs: ")]  # a path
    assert all(len(line) <= 80 for line in summary), max(summary, key=len)
    out = r.out
    assert "Changed " in out and " with " in out and "operations" in out
    assert "  logfiles 26, shell-history 10, " in out  # the biggest first, when they are many
    assert re.search(r"and \d+ more \(sysprep -v shows each\)", out)
    assert "abrt-data" not in out and "rpm-db" not in out  # only those that did something
    assert "Skipped swap, lvm-uuids: acts only on disk images (--image)" in out
    assert "0 warnings, 0 errors" in out
    assert "Image state: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in out
    assert f"Logs: {dirty.path}/var/lib/sysprep/panther" in out
    assert "[bash-history]" not in r.err  # the headings are -v's


def test_verbose_run_adds_a_line_per_operation_in_80_columns(dirty, run):
    r = run("--generalize", "--root", dirty.path, "-v")
    assert r.code == 0
    shown = [line for line in r.out.splitlines() if not line.startswith("Logs: ")]
    assert all(len(line) <= 80 for line in shown), max(shown, key=len)
    table = {line.split()[1]: line for line in r.out.splitlines() if line.startswith("  ok  ")}
    assert "0 changes" in table["abrt-data"] and "0 files" in table["abrt-data"]
    assert " 1 change " in table["blkid-tab"] and " 1 file " in table["blkid-tab"]
    assert not re.search(r"\b1 (files|changes)\b", r.out)


def test_report_table_cuts_a_long_provider_name_and_wraps_its_note():
    report = Report(target="/mnt", dry_run=False, action="generalize")
    name = "x-" + "very-long-provider-name-" * 3
    report.providers = [
        ProviderResult(name, "h", "generalize", "failed", 1, 1, 10, errors=["could not do " * 12]),
        ProviderResult("machine-id", "h", "generalize", "ok", 2, 2, 64),
    ]
    out = io.StringIO()
    report.print_text(out, verbose=True)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert any(line.startswith("  FAIL  x-very-long") and "..." in line for line in lines)
    assert "Changed 3 files (74 B) with 2 of 2 operations, files (or changes) each:" in lines
    assert "Failed: " not in out.getvalue()  # no error was set: the table shows the failure


def test_providers_table_fits_80_columns_and_wraps_a_long_heading(dirty, run):
    # the image's own provider: its heading names its long path
    provider(dirty.path, "generalize", "enroll-in-the-corporate-inventory", "#!/bin/sh\n")
    heading = (
        "Run the image's own generalize provider "
        "/etc/sysprep/providers.d/generalize/enroll-in-the-corporate-inventory"
    )
    r = run("providers", "--root", dirty.path)
    assert r.code == 0
    lines = r.out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert lines[0].split() == ["NAME", "ON", "PHASE", "TAGS", "HEADING"]
    start = next(i for i, line in enumerate(lines) if line.startswith("x-enroll-in-the-corp"))
    column = lines[0].index("HEADING")
    wrapped = [lines[start][column:]]
    for line in lines[start + 1 :]:
        if line[:column].strip():
            break
        wrapped.append(line[column:])
    assert "".join("".join(wrapped).split()) == "".join(heading.split())  # wrapped, all kept
    assert len(wrapped) > 1 and "..." in lines[start][:column]  # the long name is cut
    full = parse(run("providers", "--root", dirty.path, "--json").out, "providers")
    assert heading in [p["heading"] for p in full["providers"]]  # whole in --json


def test_batch_summary_fits_80_columns(tmp_path):
    long = str(tmp_path / ("a-rather-long-image-file-name-for-a-template-" * 2 + ".qcow2"))
    ok = batch.Job(
        long,
        [],
        exit_code=0,
        seconds=12.3,
        report={"providers": [{"actions": 1, "files": 1, "bytes": 10}]},
    )
    failed = batch.Job(
        str(tmp_path / "b.qcow2"),
        [],
        exit_code=2,
        seconds=0.4,
        report={
            "schema_version": 1,
            "error": {
                "message": "answer file u.xml: no such file " * 4,
                "exit_code": 2,
                "kind": "usage",
            },
        },
    )
    out = io.StringIO()
    batch._table([ok, failed], out)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert "1 file, 10 B" in lines[1] and lines[1].startswith("a-rather-long")
    note = " ".join(line.split("  ")[-1].strip() for line in lines[2:-1])
    assert note.startswith("answer file u.xml: no such file")  # the error document's message
    assert lines[-1] == "1 of 2 images prepared"


def test_batch_progress_lines_fit_80_columns(tmp_path):
    long = str(tmp_path / ("a-rather-long-image-file-name-for-a-template-" * 2 + ".qcow2"))
    job = batch.Job(long, [], exit_code=0, seconds=12.3, step="done")
    job.proc = object()  # type: ignore[assignment]  # started: its bar is drawn
    out = io.StringIO()
    view = batch.Progress(out, [job], 10, quiet=False)
    view.draw()
    line = out.getvalue().rstrip("\n")
    assert len(line) <= 80 and line.startswith("a-rather-long-image") and line.endswith("...")
