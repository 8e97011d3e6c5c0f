"""Generalize proves itself: the template's identity is recorded hashed, kept out of
sysprep's own logs, and searched for at the end; the scan of the result finds no identity."""

from __future__ import annotations

import json
import os
import subprocess

from sysprep.testing.dirty_root import build, write_file
from tests.conftest import requires_root, sysprep

pytestmark = requires_root


def _generalize(root: str, *extra: str):
    return sysprep("--generalize", "--root", root, "--json", "--quiet", *extra)


def _leaving(tmp_path, rel: str, text: str):
    """A dirty root with one more file holding the template's identity; `rel` and `text` may
    name {machine_id} and {hostname}."""
    root = str(tmp_path / "root")
    dirty = build(root)
    names = {"machine_id": dirty.machine_id, "hostname": dirty.hostname}
    write_file(root, rel.format(**names), text.format(**names))
    return root, dirty


def _grep(root: str, value: str) -> list[str]:
    p = subprocess.run(["grep", "-rlF", "--", value, root], capture_output=True, text=True)
    return p.stdout.split()


def test_generalize_leaves_the_machine_id_nowhere_not_even_in_its_own_logs(tmp_path):
    root = str(tmp_path / "root")
    dirty = build(root)
    res = _generalize(root)
    assert res.code == 0, res.err
    assert _grep(root, dirty.machine_id) == []
    act = open(os.path.join(root, "var/lib/sysprep/panther/setupact.log")).read()
    assert "/var/log/journal/<machine-id>" in act  # what was removed is still told


def test_generalize_records_the_tokens_hashed_never_in_clear(tmp_path):
    root = str(tmp_path / "root")
    dirty = build(root)
    assert _generalize(root).code == 0
    with open(os.path.join(root, "var/lib/sysprep/identity-tokens.json")) as f:
        record = f.read()
    kinds = {t["kind"] for t in json.loads(record)["tokens"]}
    assert {"machine-id", "ssh-host-key"} <= kinds
    # a salted hash of a host name or a MAC address gives it away to a dictionary: not kept
    assert not {"hostname", "mac-address"} & kinds
    assert dirty.machine_id not in record and dirty.hostname not in record


def test_the_records_of_two_images_of_one_template_share_no_salt(tmp_path):
    """The salt is random per image: the record ties no image to its template's machine-id."""
    root = str(tmp_path / "root")
    build(root)
    copy = str(tmp_path / "copy")
    subprocess.run(["cp", "-a", root, copy], check=True)
    salts = []
    for r in (root, copy):
        assert _generalize(r).code == 0
        with open(os.path.join(r, "var/lib/sysprep/identity-tokens.json")) as f:
            salts.append(json.load(f)["salt"])
    assert salts[0] != salts[1]


def test_scan_of_a_generalized_root_reports_no_identity_finding(tmp_path):
    root = str(tmp_path / "root")
    build(root)
    assert _generalize(root).code == 0
    doc = json.loads(sysprep("scan", "--root", root, "--json").out)
    assert doc["recorded_tokens"] is True
    assert [f for f in doc["findings"] if f["category"] == "identity"] == []


def test_scan_finds_a_copy_of_the_old_identity_by_its_recorded_hash(tmp_path):
    root = str(tmp_path / "root")
    dirty = build(root)
    assert _generalize(root).code == 0
    # /etc/machine-id is empty now: only the hashes recorded by generalize can tell
    write_file(root, "srv/inventory.txt", f"node id {dirty.machine_id}\n")
    res = sysprep("scan", "--root", root, "--json")
    found = {(f["rule"], f["path"], f.get("line")) for f in json.loads(res.out)["findings"]}
    assert ("identity.machine-id", "/srv/inventory.txt", 1) in found
    assert dirty.machine_id not in res.out and res.code == 3


def test_generalize_lists_a_leftover_by_path_in_report_and_log_never_by_value(tmp_path):
    root, dirty = _leaving(tmp_path, "srv/app/node.conf", "node_id = {machine_id}\n")
    res = _generalize(root)
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert {"path": "/srv/app/node.conf", "line": 1, "rule": "identity.machine-id"} in report[
        "leftovers"
    ]
    log = open(os.path.join(root, "var/lib/sysprep/panther/setuperr.log")).read()
    assert "/srv/app/node.conf:1" in log
    assert dirty.machine_id not in log + res.out + res.err


def test_strict_generalize_with_a_leftover_fails_and_leaves_the_image_undeployable(tmp_path):
    root, dirty = _leaving(tmp_path, "srv/app/node.conf", "node_id = {machine_id}\n")
    res = _generalize(root, "--strict")
    assert res.code == 1
    state = open(os.path.join(root, "var/lib/sysprep/state.ini")).read()
    assert "IMAGE_STATE_UNDEPLOYABLE" in state and "/srv/app/node.conf" in state


def test_generalize_finds_the_template_fqdn_left_in_a_file_by_its_short_name(tmp_path):
    root, dirty = _leaving(tmp_path, "srv/peers", "peer {hostname}.corp.example\n")
    res = _generalize(root)
    assert res.code == 0, res.err
    assert {"path": "/srv/peers", "line": 1, "rule": "identity.hostname"} in json.loads(res.out)[
        "leftovers"
    ]


def test_a_strict_generalize_whose_machine_id_is_in_a_file_name_leaves_it_out_of_last_error(
    tmp_path,
):
    root, dirty = _leaving(tmp_path, "opt/app/{machine_id}.conf", "x\n")
    res = _generalize(root, "--strict")
    assert res.code == 1
    state = open(os.path.join(root, "var/lib/sysprep/state.ini")).read()
    assert "/opt/app/<machine-id>.conf" in state and dirty.machine_id not in state


def test_a_host_name_that_is_a_plain_word_is_neither_searched_nor_redacted(tmp_path):
    """A template named `server` or `sysprep`: the word stands in ordinary files and in
    sysprep's own paths; neither a strict run fails on it nor do the logs lose the word."""
    root = str(tmp_path / "root")
    build(root)
    write_file(root, "etc/hostname", "sysprep\n")
    write_file(root, "etc/puppetlabs/puppet/puppet.conf", "[main]\nserver = puppet.example\n")
    res = _generalize(root, "--strict")
    assert res.code == 0, res.err
    assert json.loads(res.out)["leftovers"] == []
    record = open(os.path.join(root, "var/lib/sysprep/panther/actions.jsonl")).read()
    assert "<hostname>" not in record and "/usr/lib/sysprep/" in record
