"""The Ansible collection sysprep.linux for real: built and installed with ansible-galaxy as
a user would from a clone, its modules documented by ansible-doc, and ansible-playbook
generalizing an offline Debian root and a disk image on localhost (check mode, then the run,
then again: nothing to do)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from sysprep.testing import images
from sysprep.testing.images import Recipe
from tests.conftest import snapshot
from tests.integration.conftest import dirty_like_a_used_machine, extract

pytestmark = pytest.mark.integration

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.join(HERE, "..", "..", "ansible", "ansible_collections", "sysprep", "linux")
BIN = os.path.dirname(sys.executable)  # the venv's ansible-* and sysprep

ROOT_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: generalize
      sysprep.linux.generalize:
        root: "{{ root }}"
        answer:
          specialize:
            Linux-Shell-Setup: {ComputerName: web-01, TimeZone: Europe/Berlin}
"""


OUTPUT: list[str] = []
RESULT = re.compile(r"^\S+ \| [A-Z]+!? => ", re.M)


def tool(name: str) -> str:
    return os.path.join(BIN, name)


def env(collections: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "ANSIBLE_STDOUT_CALLBACK": "minimal",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    }


@pytest.fixture(scope="module")
def collections(tmp_path_factory) -> str:
    """The collection built into a tarball and installed from it (not used in place)."""
    work = tmp_path_factory.mktemp("collection")
    b = subprocess.run(
        [tool("ansible-galaxy"), "collection", "build", COLLECTION, "--output-path", str(work)],
        capture_output=True,
        text=True,
    )
    assert b.returncode == 0, b.stdout + b.stderr
    tarball = str(work / "sysprep-linux-0.1.0.tar.gz")
    dest = str(work / "installed")
    i = subprocess.run(
        [tool("ansible-galaxy"), "collection", "install", tarball, "-p", dest],
        capture_output=True,
        text=True,
    )
    assert i.returncode == 0, i.stdout + i.stderr
    assert os.path.exists(f"{dest}/ansible_collections/sysprep/linux/plugins/modules/generalize.py")
    return dest


def playbook(collections: str, play: str, tmp_path, *args: str) -> list[dict[str, Any]]:
    """Run a playbook on localhost; the results of its tasks (the last one's output in
    OUTPUT, for the diff that the callback prints apart)."""
    path = tmp_path / "play.yml"
    if not os.path.exists(play):
        path.write_text(play)
        play = str(path)
    p = subprocess.run(
        [
            tool("ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            play,
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env(collections),
        cwd=str(tmp_path),
    )
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    OUTPUT[:] = [p.stdout]
    return results(p.stdout)


def results(out: str) -> list[dict[str, Any]]:
    """Each task result that ansible-core's `minimal` callback prints: `HOST | STATUS => {json}`."""
    found = []
    for m in RESULT.finditer(out):
        doc, _ = json.JSONDecoder().raw_decode(out, m.end())
        found.append(doc)
    return found


def test_ansible_doc_shows_both_modules(collections):
    for module in ("generalize", "image_state"):
        p = subprocess.run(
            [tool("ansible-doc"), f"sysprep.linux.{module}"],
            capture_output=True,
            text=True,
            env=env(collections),
        )
        assert p.returncode == 0 and "EXAMPLES" in p.stdout and "RETURN VALUES" in p.stdout, (
            p.stderr
        )
    listing = subprocess.run(
        [tool("ansible-doc"), "-l", "sysprep.linux"],
        capture_output=True,
        text=True,
        env=env(collections),
    ).stdout
    assert "sysprep.linux.generalize" in listing and "sysprep.linux.image_state" in listing


def test_playbook_on_an_offline_root_check_then_run_then_nothing_to_do(
    collections, debian_tarball, tmp_path
):
    root = extract(debian_tarball, str(tmp_path / "debian"))
    dirty_like_a_used_machine(root)
    play = ROOT_PLAY
    before = snapshot(root)
    [checked] = playbook(collections, play, tmp_path, "-e", f"root={root}", "--check", "--diff")
    assert snapshot(root) == before  # check mode is sysprep's dry run: not a byte changed
    assert checked["changed"] is True
    assert "remove /root/.bash_history" in checked["paths"]
    assert (
        "truncate /etc/machine-id" in checked["paths"]
        or "write /etc/machine-id" in checked["paths"]
    )
    assert "\n-/root/.bash_history\n" in OUTPUT[0]  # --diff: the paths that would change
    assert checked["report"]["dry_run"] is True

    [ran] = playbook(collections, play, tmp_path, "-e", f"root={root}")
    assert ran["changed"] is True and ran["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert ran["report"]["failed"] is False and ran["report"]["dry_run"] is False
    assert not os.path.exists(f"{root}/root/.bash_history")
    # the inline answer went into the target's cache and nowhere else; its temp file is gone
    assert "web-01" in open(f"{root}/var/lib/sysprep/unattend.xml", errors="replace").read()
    assert not [n for n in os.listdir(tmp_path) if n.startswith("sysprep-answer-")]

    # once resealed without an answer file to apply again: nothing to do, nothing run
    plain = play.split("        answer:")[0]
    after = snapshot(root)
    [again] = playbook(collections, plain, tmp_path, "-e", f"root={root}")
    assert again["changed"] is False, again
    assert snapshot(root) == after


def test_generalize_images_playbook_check_then_run_then_nothing_to_do(
    collections, debian_tarball, tmp_path
):
    src, _ = images.cached(Recipe("gpt-lvm", "debian", tarball=debian_tarball))
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("web.raw", "db.raw"):  # two hosts of the play, run side by side (forks)
        images.copy(src, str(folder / name))
    play = os.path.join(COLLECTION, "playbooks", "generalize_images.yml")
    args = ("-e", f"sysprep_image_dir={folder}", "-f", "2")
    before = snapshot(str(folder))
    results = playbook(collections, play, tmp_path, "--check", *args)
    assert snapshot(str(folder)) == before  # check mode: not a byte of either image changed
    checked = [r for r in results if "paths" in r]
    assert len(checked) == 2 and all(r["changed"] for r in checked)
    assert all("remove /etc/ssh/ssh_host_ed25519_key" in r["paths"] for r in checked)

    results = playbook(collections, play, tmp_path, *args)
    ran = [r for r in results if "paths" in r]
    assert len(ran) == 2 and all(r["changed"] and not r["report"]["failed"] for r in ran)
    states = [r for r in results if r.get("status")]
    assert [r["image_state"] for r in states] == ["IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"] * 2

    results = playbook(collections, play, tmp_path, *args)
    again = [r for r in results if "paths" in r]
    assert len(again) == 2 and not any(r["changed"] for r in again)
