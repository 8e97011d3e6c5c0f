"""The release record: only another distribution or major version refuses a run, with the
`sysprep install --force` of that very target; a point release proceeds and says so."""

from __future__ import annotations

import json
import os

import pytest

from sysprep.errors import UsageError
from sysprep.log import RunLog
from sysprep.passes import preflight
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import Target, osrelease
from sysprep.target.confined import Confined
from sysprep.testing.dirty_root import write_file
from tests.conftest import snapshot

RECORD = "var/lib/sysprep/release.ini"


def set_release(root: str, os_id: str, version_id: str | None) -> None:
    if os.path.lexists(f"{root}/etc/os-release"):
        os.remove(f"{root}/etc/os-release")
    version = f'VERSION_ID="{version_id}"\n' if version_id is not None else ""
    write_file(root, "etc/os-release", f'ID={os_id}\n{version}PRETTY_NAME="{os_id}"\n')


def recorded(root: str) -> str:
    return open(f"{root}/{RECORD}").read()


@pytest.mark.parametrize(
    ("os_id", "old", "new"),
    [("rhel", "9.3", "9.4"), ("debian", "12.1", "12.5"), ("debian", "12", "12.5")],
)
def test_a_point_release_proceeds_updates_the_record_and_says_so(dirty, run, os_id, old, new):
    set_release(dirty.path, os_id, old)
    assert run("--oobe", "--root", dirty.path).code == 0
    set_release(dirty.path, os_id, new)
    r = run("--generalize", "--root", dirty.path, "--json")
    assert r.code == 0, r.err
    note = f"point release: {os_id} {old} -> {os_id} {new}, recorded in /{RECORD}"
    assert json.loads(r.out)["release"] == note
    assert note in open(f"{dirty.path}/var/lib/sysprep/panther/setupact.log").read()
    assert f"VERSION_ID = {new}\n" in recorded(dirty.path)
    again = run("--generalize", "--root", dirty.path)
    assert again.code == 0 and "Release:" not in again.out  # nothing changed this time
    assert "point release" not in run("--generalize", "--root", dirty.path, "--json").out


def test_a_point_release_in_a_dry_run_records_nothing(dirty, run):
    assert run("--oobe", "--root", dirty.path).code == 0
    set_release(dirty.path, "debian", "12.9")
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--dry-run")
    assert r.code == 0, r.err
    assert "Release: point release: debian 12 -> debian 12.9, would record" in r.out
    assert snapshot(dirty.path) == before


@pytest.mark.parametrize(
    ("os_id", "version_id"), [("debian", "13"), ("ubuntu", "12"), ("debian", None)]
)
def test_another_distribution_or_major_version_is_refused_with_the_root_to_reinstall(
    dirty, run, os_id, version_id
):
    assert run("--oobe", "--root", dirty.path).code == 0
    set_release(dirty.path, os_id, version_id)
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path)
    assert r.code == 2
    assert "another distribution or major version" in r.err
    assert r.err.rstrip().endswith(
        f"record the new release with: sysprep install --root {dirty.path} --force"
    )
    assert snapshot(dirty.path) == before
    assert run("install", "--root", dirty.path).code == 2
    assert run("install", "--root", dirty.path, "--force").code == 0
    assert run("--generalize", "--root", dirty.path).code == 0


def test_a_rolling_release_without_version_id_is_compared_by_id(dirty, run):
    set_release(dirty.path, "arch", None)
    assert run("--oobe", "--root", dirty.path).code == 0
    assert "VERSION_ID = \n" in recorded(dirty.path)
    assert run("--generalize", "--root", dirty.path).code == 0
    set_release(dirty.path, "arch", "2026.12")  # a VERSION_ID appearing is a change of release
    assert run("--generalize", "--root", dirty.path).code == 2


def test_install_accepts_a_point_release_without_force(dirty, run):
    assert run("--oobe", "--root", dirty.path).code == 0
    set_release(dirty.path, "debian", "12.4")
    r = run("install", "--root", dirty.path)
    assert r.code == 0, r.err
    assert "VERSION_ID = 12.4" in recorded(dirty.path)


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        (
            TargetSpec(
                TargetKind.IMAGE,
                images=("/srv/vm/disk 1.qcow2", "/srv/vm/data.qcow2"),
                image_format="qcow2",
            ),
            "with: sysprep install --image '/srv/vm/disk 1.qcow2' --image /srv/vm/data.qcow2 "
            "--format qcow2 --force",
        ),
        (TargetSpec(TargetKind.LIVE), "with: sysprep install --force"),
    ],
)
def test_the_hint_names_the_image_or_the_live_system_never_the_hosts_root(dirty, spec, hint):
    """What the refusal says for the other kinds of target (an image's root is mounted where
    the fixture root is)."""
    write_file(dirty.path, RECORD, "[Release]\nID = debian\nVERSION_ID = 11\n")
    with Confined(dirty.path) as fs:
        target = Target(spec, fs, osrelease.read(fs))
        with pytest.raises(UsageError) as e:
            preflight.check_release(target, RunLog(quiet=True))
    assert "debian 11" in str(e.value) and str(e.value).endswith(hint)
    assert "--root /" not in str(e.value)
