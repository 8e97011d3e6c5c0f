"""The seed's step 1: verify that sysprep can run (root only; the release it was installed on).

The single-instance lock is taken when the target is opened (sysprep.target).
"""

from __future__ import annotations

import configparser
import io
import os
import time

from sysprep import __version__
from sysprep.errors import UsageError
from sysprep.log import RunLog
from sysprep.passes.state import STATE_DIR
from sysprep.target import Target

RELEASE_FILE = f"{STATE_DIR}/release.ini"


def require_root() -> None:
    if os.geteuid() != 0:
        raise UsageError("sysprep must run as root (try: sudo sysprep ...)")


def require_writable(target: Target) -> None:
    """A target on a read-only file system cannot be prepared: refused (exit 2) before the
    first change, rather than failing half-way on the first file."""
    if target.fs.dry_run:
        return
    try:
        readonly = bool(os.statvfs(target.fs.host_path).f_flag & os.ST_RDONLY)
    except OSError:
        return
    if readonly:
        raise UsageError(f"{target.spec.describe()} is on a read-only file system "
                         f"({target.fs.host_path}): sysprep changes the target; mount it "
                         "read-write, or use --dry-run to see the plan")


def recorded_release(target: Target) -> tuple[str, str] | None:
    text = target.fs.read_text(RELEASE_FILE, limit=64 * 1024)
    if text is None:
        return None
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read_string(text)
        return cp.get("Release", "ID"), cp.get("Release", "VERSION_ID", fallback="")
    except configparser.Error:
        return None


def record_release(target: Target) -> str:
    """Remember the target's release as the one sysprep was installed on; returns it."""
    rel = target.os_release
    if rel is None:
        raise UsageError(f"{target.spec.describe()}: no etc/os-release or usr/lib/os-release; "
                         "is this the root of a Linux installation?")
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp["Release"] = {"ID": rel.id, "VERSION_ID": rel.version_id, "PRETTY_NAME": rel.pretty_name,
                     "RecordedBy": f"sysprep {__version__}",
                     "Recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    out = io.StringIO()
    cp.write(out)
    if not target.fs.dry_run:
        target.fs.mkdir(STATE_DIR, 0o755)
        target.fs.write(RELEASE_FILE, out.getvalue().encode(), mode=0o644)
    return rel.key


def check_release(target: Target, log: RunLog) -> None:
    """Refuse a target whose release changed since sysprep was installed on it."""
    rel = target.os_release
    if rel is None:
        raise UsageError(f"{target.spec.describe()}: no etc/os-release or usr/lib/os-release; "
                         "is this the root of a Linux installation?")
    recorded = recorded_release(target)
    if recorded is None:
        key = record_release(target)
        verb = "would record" if target.fs.dry_run else "recorded"
        log.step(f"first run on this system: {verb} its release ({key}) in /{RELEASE_FILE}")
        return
    if (rel.id, rel.version_id) != recorded:
        where = "" if target.live else f" --root {target.spec.root}"
        raise UsageError(
            f"sysprep was installed on {recorded[0]} {recorded[1]} but the target now runs "
            f"{rel.key}: sysprep must run on the release it was installed with. After checking "
            f"the upgrade, run 'sysprep install{where} --force' to record the new release")
