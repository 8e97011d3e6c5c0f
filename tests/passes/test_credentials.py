"""The boot engine takes a per-clone answer from systemd credentials ($CREDENTIALS_DIRECTORY,
as the specialize unit's ImportCredential= gives it), driven against offline roots."""

from __future__ import annotations

import os

from sysprep.testing.dirty_root import write_file
from tests.passes.test_boot import boot, pending
from tests.passes.test_prepare import state_of

TEMPLATE = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: template-01
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      AdministratorPassword: {Value: Template-pw-9, PlainText: true}
"""

CLONE = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: clone-07
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      AdministratorPassword: {Value: Clone-pw-31, PlainText: true}
"""


def credentials(tmp_path, monkeypatch, **found: str) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir()
    for name, text in found.items():
        (folder / name.replace("_", ".")).write_text(text)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))


def everything_in(root: str) -> bytes:
    out = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    out.append(f.read())
    return b"\n".join(out)


def test_credential_answer_wins_over_the_cached_one_and_is_cached_hashed(
    dirty, run, tmp_path, monkeypatch
):
    root = dirty.path
    write_file(root, "etc/sysprep/unattend.yaml", TEMPLATE)
    assert run("--generalize", "--root", root).code == 0
    credentials(tmp_path, monkeypatch, sysprep_unattend=CLONE, system_hostname="clone-08\n")
    r = boot(run, root, "specialize")
    assert "credential(s) sysprep.unattend (" in r.err and "), system.hostname (" in r.err
    assert "replace the cached answer file's specialize/Linux-Shell-Setup/ComputerName" in r.err
    assert open(os.path.join(root, "etc/hostname")).read().strip() == "clone-08"
    cached = open(os.path.join(root, "var/lib/sysprep/unattend.xml")).read()
    assert "clone-08" in cached and "<Hash>$" in cached
    for secret in (b"Clone-pw-31", b"Template-pw-9"):
        assert secret not in everything_in(root)
        assert secret.decode() not in r.out + r.err


def test_credentials_are_read_once_per_clone(dirty, run, tmp_path, monkeypatch):
    """The specialize stage run again (a reboot before the later stage) and the later stage
    use the cache: a credential that changed since changes nothing."""
    root = dirty.path
    write_file(
        root,
        "etc/sysprep/unattend.yaml",
        "specialize:\n  Linux-Deployment:\n"
        "    RunSynchronous:\n      - Order: 1\n        Path: echo later > /dev/null\n",
    )
    assert run("--generalize", "--root", root).code == 0
    credentials(tmp_path, monkeypatch, system_hostname="clone-09\n")
    boot(run, root, "specialize")  # the pass goes on in the later stage (its command)
    (tmp_path / "credentials" / "system.hostname").write_text("bad name!\n")
    boot(run, root, "specialize")
    boot(run, root, "passes")
    assert state_of(root) == "IMAGE_STATE_COMPLETE"
    assert open(os.path.join(root, "etc/hostname")).read().strip() == "clone-09"


def test_bad_credential_leaves_the_clone_undeployable_with_its_line_and_column(
    dirty, run, tmp_path, monkeypatch
):
    root = dirty.path
    assert run("--generalize", "--root", root).code == 0
    before = open(os.path.join(root, "etc/hostname")).read()
    bad = "specialize:\n  Linux-Shell-Setup:\n    ComputerName: clone-07\n    TimeZon: UTC\n"
    credentials(tmp_path, monkeypatch, sysprep_unattend=bad)
    r = run("boot", "--stage", "specialize", "--root", root)
    assert r.code != 0
    assert state_of(root) == "IMAGE_STATE_UNDEPLOYABLE"
    state = open(os.path.join(root, "var/lib/sysprep/state.ini")).read()
    assert "LastError = credential sysprep.unattend:4:5: unknown setting" in state
    assert pending(root).startswith("specialize")
    assert open(os.path.join(root, "etc/hostname")).read() == before  # nothing applied
    assert not os.path.exists(os.path.join(root, "etc/machine-id")) or open(
        os.path.join(root, "etc/machine-id")
    ).read().strip() in ("", "uninitialized")
    # fixed on the hypervisor's side: a retry reads it again
    (tmp_path / "credentials" / "sysprep.unattend").write_text(CLONE)
    assert run("boot", "--retry", "--stage", "specialize", "--root", root).code == 0
    assert open(os.path.join(root, "etc/hostname")).read().strip() == "clone-07"
