"""The seed's step 1: verify that sysprep can run (root only; the release it was installed on).

The release record (var/lib/sysprep/release.ini) holds the os-release ID and VERSION_ID
sysprep was installed or first run with. Only another distribution (ID) or another major
version (the first component of VERSION_ID: 9 of 9.4, 12 of 12.5) refuses a run; a point
release proceeds and updates the record. A rolling release without VERSION_ID (Debian sid,
Arch) is compared by ID alone; gaining or losing VERSION_ID (12 -> sid) is a major change.
The single-instance lock is taken when the target is opened (sysprep.target).
"""

from __future__ import annotations

import enum
import os
import shlex

from sysprep import __version__
from sysprep.errors import UsageError
from sysprep.log import RunLog
from sysprep.passes.state import STATE_DIR
from sysprep.request import TargetKind, TargetSpec
from sysprep.rules import records
from sysprep.target import Target
from sysprep.target.osrelease import OsRelease

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
        raise UsageError(
            f"{target.spec.describe()} is on a read-only file system "
            f"({target.fs.host_path}): sysprep changes the target; mount it "
            "read-write, or use --dry-run to see the plan"
        )


def recorded_release(target: Target) -> tuple[str, str] | None:
    text = target.fs.read_text(RELEASE_FILE, limit=64 * 1024)
    if text is None:
        return None
    try:
        cp = records.parse(text)
        return cp.get("Release", "ID"), cp.get("Release", "VERSION_ID", fallback="")
    except records.Error:
        return None


def record_release(target: Target) -> str:
    """Remember the target's release as the one sysprep was installed on; returns it."""
    rel = target.os_release
    if rel is None:
        raise UsageError(
            f"{target.spec.describe()}: no etc/os-release or usr/lib/os-release; "
            "is this the root of a Linux installation?"
        )
    text = records.render(
        {
            "Release": {
                "ID": rel.id,
                "VERSION_ID": rel.version_id,
                "PRETTY_NAME": rel.pretty_name,
                "RecordedBy": f"sysprep {__version__}",
                "Recorded": records.now(),
            }
        }
    )
    if not target.fs.dry_run:
        target.fs.mkdir(STATE_DIR, 0o755)
        target.fs.write(RELEASE_FILE, text.encode(), mode=0o644)
    return rel.key


class Change(str, enum.Enum):
    """How the target's release differs from the recorded one."""

    SAME = "same"
    POINT = "point"  # same ID and major version: proceeds, the record is updated
    MAJOR = "major"  # another ID or major version: refused


def major(version_id: str) -> str:
    """The major version of a VERSION_ID ("" for a rolling release without one)."""
    return version_id.split(".")[0]


def change(recorded: tuple[str, str], rel: OsRelease) -> Change:
    if (rel.id, rel.version_id) == recorded:
        return Change.SAME
    if rel.id != recorded[0] or major(rel.version_id) != major(recorded[1]):
        return Change.MAJOR
    return Change.POINT


def install_command(spec: TargetSpec) -> str:
    """The `sysprep install --force` that records the release of this very target."""
    words = ["sysprep", "install"]
    if spec.kind is TargetKind.ROOT:
        words += ["--root", spec.root]
    elif spec.kind is TargetKind.IMAGE:
        for image in spec.images:
            words += ["--image", image]
        if spec.image_format:
            words += ["--format", spec.image_format]
        if spec.root_fs:
            words += ["--root-fs", spec.root_fs]
    return shlex.join([*words, "--force"])


def _described(recorded: tuple[str, str]) -> str:
    return f"{recorded[0]} {recorded[1]}".strip()


def require_same_release(target: Target) -> None:
    """Refuse a target whose distribution or major version changed since sysprep was
    installed on it (validation: changes nothing)."""
    rel = target.os_release
    if rel is None:
        raise UsageError(
            f"{target.spec.describe()}: no etc/os-release or usr/lib/os-release; "
            "is this the root of a Linux installation?"
        )
    recorded = recorded_release(target)
    if recorded is not None and change(recorded, rel) is Change.MAJOR:
        raise UsageError(
            f"sysprep was installed on {_described(recorded)} but the target now runs "
            f"{rel.key}: another distribution or major version. After checking the upgrade, "
            f"record the new release with: {install_command(target.spec)}"
        )


def check_release(target: Target, log: RunLog) -> str:
    """`require_same_release`, then record the release on the first run, and a point release
    over the old one. Returns what changed in the record ("" when nothing did)."""
    require_same_release(target)
    rel = target.os_release
    assert rel is not None
    recorded = recorded_release(target)
    verb = "would record" if target.fs.dry_run else "recorded"
    if recorded is None:
        key = record_release(target)
        log.step(f"first run on this system: {verb} its release ({key}) in /{RELEASE_FILE}")
        return ""
    if change(recorded, rel) is Change.SAME:
        return ""
    record_release(target)
    note = f"point release: {_described(recorded)} -> {rel.key}, {verb} in /{RELEASE_FILE}"
    log.step(note)
    return note
