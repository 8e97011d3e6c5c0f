"""The rearm counter (the seed's "Resetting Windows Activation"), in var/lib/sysprep/license.ini.

Each /generalize rearms: the activation providers remove the image's registrations and one
rearm is counted, unless the answer file sets SkipRearm=1; /oobe alone never rearms. Linux
has no activation clock, so the count only informs (`sysprep license`, the run's log and
report) and never blocks a run, unless the answer file sets RearmLimit. The count is
recorded only once the run that rearmed has finished (a crash and a rerun count once), and
the file lives in var/lib/sysprep, which no cleanup removes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sysprep.answer.model import Answer
from sysprep.errors import UsageError
from sysprep.passes.state import STATE_DIR
from sysprep.rules import records
from sysprep.target.confined import Confined

LICENSE_FILE = f"{STATE_DIR}/license.ini"


@dataclass(frozen=True)
class License:
    rearms: int = 0  # how many /generalize runs rearmed this image
    last_rearm: str = ""
    counted_cycle: str = ""  # the run whose rearm is the last counted
    limit: int | None = None  # the answer file's RearmLimit; None: no limit
    problem: str = ""  # the record exists but is malformed: what is wrong with it

    @property
    def unreadable(self) -> bool:
        return bool(self.problem)

    def counted(self, cycle: str) -> bool:
        """Whether this run's rearm is already counted (it crashed after counting)."""
        return bool(cycle) and self.counted_cycle == cycle

    @property
    def remaining(self) -> int | None:
        """Rearms left under RearmLimit; None when there is no limit."""
        return None if self.limit is None else max(0, self.limit - self.rearms)

    def describe_limit(self) -> str:
        if self.limit is None:
            return "no limit"
        return f"RearmLimit {self.limit}, {self.remaining} left"


def read(fs: Confined) -> License:
    text = fs.read_text(LICENSE_FILE, limit=64 * 1024)
    if text is None:
        return License()
    try:
        return _parse(text)
    except ValueError as e:
        return License(problem=str(e))


def _parse(text: str) -> License:
    try:
        cp = records.parse(text)
    except records.Error as e:
        line = getattr(e, "lineno", None)
        raise ValueError(f"not an INI file{f' (line {line})' if line else ''}") from None
    if not cp.has_section("License"):
        raise ValueError("no [License] section")
    s = cp["License"]  # LicenseType and Activated of older records are ignored
    count = s.get("RearmCount", "0").strip()
    if not re.fullmatch(r"[0-9]{1,9}", count):
        raise ValueError(f"RearmCount {count!r} is not a whole number")
    return License(int(count), s.get("LastRearm", ""), s.get("CountedRun", ""))


def for_run(fs: Confined, answer: Answer | None) -> License:
    """The record as this run sees it, with the answer file's RearmLimit (generalize pass)."""
    lic = read(fs)
    limit = answer.rearm_limit("generalize") if answer is not None else None
    return replace(lic, limit=limit)


def check(lic: License, cycle: str = "") -> None:
    """Refuse a rearm past the answer file's RearmLimit (before anything changes); a rerun of
    a run that already counted its rearm is not a new rearm. Without a limit, never."""
    if lic.limit is None or lic.counted(cycle):
        return
    how = (
        "set SkipRearm to 1 (Linux-Security-Licensing, generalize pass) to generalize "
        "without rearming, or raise RearmLimit"
    )
    if lic.unreadable:
        # an unreadable counter must not hand out fresh rearms under a limit
        raise UsageError(
            f"/{LICENSE_FILE} is malformed ({lic.problem}), so the rearms counted "
            f"so far are unknown and RearmLimit {lic.limit} cannot be honoured: {how}, or "
            "remove the file to count from 0"
        )
    if lic.remaining == 0:
        raise UsageError(
            f"this image was rearmed {lic.rearms} times, the RearmLimit of the "
            f"answer file: /generalize cannot rearm it again; {how} (see "
            "'sysprep license')"
        )


def record(fs: Confined, lic: License, *, rearmed: bool, cycle: str = "") -> License:
    """Write the counter at the end of a run; one more rearm when it rearmed, counted once per
    run even when a crash makes it run twice (the run's cycle is remembered with the count)."""
    if rearmed and lic.counted(cycle):
        return lic
    new = (
        replace(
            lic, rearms=lic.rearms + 1, last_rearm=records.now(), counted_cycle=cycle, problem=""
        )
        if rearmed
        else lic
    )
    if fs.dry_run:
        return new
    text = records.render(
        {
            "License": {
                "RearmCount": str(new.rearms),
                "LastRearm": new.last_rearm,
                "CountedRun": new.counted_cycle,
            }
        }
    )
    fs.mkdir(STATE_DIR, 0o755)
    fs.write(LICENSE_FILE, text.encode(), mode=0o644)
    return new
