"""The rearm counter (the seed's "Resetting Windows Activation"), in var/lib/sysprep/license.ini.

Each /generalize rearms: the activation providers remove the image's registrations and one
rearm is counted, unless the answer file sets SkipRearm=1. A Retail or MAK image, and a KMS
image that is not activated, may be rearmed 3 times; an activated KMS image, and an OEM image
(which needs no activation), without limit. /oobe alone never rearms. The count is recorded
only once the run that rearmed has finished (a crash and a rerun count once), and the file
lives in var/lib/sysprep, which no cleanup removes.
"""

from __future__ import annotations

import configparser
import io
import re
import time
from dataclasses import dataclass, replace

from sysprep.answer.model import Answer
from sysprep.answer.types import LicenseType
from sysprep.errors import UsageError
from sysprep.passes.state import STATE_DIR
from sysprep.target.confined import Confined

LICENSE_FILE = f"{STATE_DIR}/license.ini"
MAX_REARMS = 3


@dataclass(frozen=True)
class License:
    license_type: LicenseType = LicenseType.RETAIL
    activated: bool = False
    rearms: int = 0  # how many /generalize runs rearmed this image
    last_rearm: str = ""
    counted_cycle: str = ""  # the run whose rearm is the last counted

    def counted(self, cycle: str) -> bool:
        """Whether this run's rearm is already counted (it crashed after counting)."""
        return bool(cycle) and self.counted_cycle == cycle

    @property
    def unlimited(self) -> bool:
        return self.license_type is LicenseType.OEM or (
            self.license_type is LicenseType.KMS and self.activated)

    @property
    def remaining(self) -> int | None:
        """Rearms left; None when unlimited."""
        return None if self.unlimited else max(0, MAX_REARMS - self.rearms)

    def describe(self) -> str:
        kind = {LicenseType.RETAIL: "Retail (single license)", LicenseType.MAK: "MAK (volume)",
                LicenseType.KMS: "KMS (volume)", LicenseType.OEM: "OEM"}[self.license_type]
        return f"{kind}, {'activated' if self.activated else 'not activated'}"


def read(fs: Confined) -> License:
    text = fs.read_text(LICENSE_FILE, limit=64 * 1024)
    if text is None:
        return License()
    try:
        return _parse(text)
    except ValueError as e:
        # neither fresh rearms nor an exhausted count: the user decides, knowing what is wrong
        raise UsageError(f"/{LICENSE_FILE} is malformed: {e}; sysprep cannot tell how many "
                         "times this image was rearmed. Fix it ([License] with RearmCount = N), "
                         "or remove it to start the count afresh") from None


def _parse(text: str) -> License:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        cp.read_string(text)
    except configparser.Error as e:
        line = getattr(e, "lineno", None)
        raise ValueError(f"not an INI file{f' (line {line})' if line else ''}") from None
    if not cp.has_section("License"):
        raise ValueError("no [License] section")
    s = cp["License"]
    try:
        kind = LicenseType(s.get("LicenseType", "Retail"))
    except ValueError:
        raise ValueError(f"unknown LicenseType {s.get('LicenseType')!r}") from None
    count = s.get("RearmCount", "0").strip()
    if not re.fullmatch(r"[0-9]{1,9}", count):
        raise ValueError(f"RearmCount {count!r} is not a whole number") from None
    return License(kind, s.get("Activated", "false") == "true", int(count),
                   s.get("LastRearm", ""), s.get("CountedRun", ""))


def for_run(fs: Confined, answer: Answer | None) -> License:
    """The license as this run sees it: the record, with the answer file's LicenseType and
    Activated (generalize pass) when it sets them."""
    lic = read(fs)
    if answer is None:
        return lic
    lt, act = answer.license_type("generalize"), answer.activated("generalize")
    return replace(lic, license_type=lt if lt is not None else lic.license_type,
                   activated=act if act is not None else lic.activated)


def check(lic: License, cycle: str = "") -> None:
    """Refuse a rearm past the limit (before anything changes); a rerun of a run that already
    counted its rearm is not a new rearm."""
    if lic.remaining == 0 and not lic.counted(cycle):
        raise UsageError(
            f"this image was rearmed {lic.rearms} times, the limit for a {lic.describe()} "
            f"image: /generalize cannot rearm it again. Set SkipRearm to 1 in the answer file "
            f"(Linux-Security-Licensing, generalize pass) to generalize without rearming, or "
            f"see 'sysprep license'")


def record(fs: Confined, lic: License, *, rearmed: bool, cycle: str = "") -> License:
    """Write the license at the end of a run; one more rearm when it rearmed, counted once per
    run even when a crash makes it run twice (the run's cycle is remembered with the count)."""
    if rearmed and lic.counted(cycle):
        return lic
    new = replace(lic, rearms=lic.rearms + 1, last_rearm=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  counted_cycle=cycle) if rearmed else lic
    if fs.dry_run:
        return new
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp["License"] = {"LicenseType": new.license_type.value,
                     "Activated": "true" if new.activated else "false",
                     "RearmCount": str(new.rearms), "LastRearm": new.last_rearm,
                     "CountedRun": new.counted_cycle}
    out = io.StringIO()
    cp.write(out)
    fs.mkdir(STATE_DIR, 0o755)
    fs.write(LICENSE_FILE, out.getvalue().encode(), mode=0o644)
    return new
