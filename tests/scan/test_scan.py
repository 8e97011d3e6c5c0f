"""sysprep scan on fixture roots: what it finds, what it never prints, how it exits."""

from __future__ import annotations

import json
import os
import sys

import jsonschema
import pytest

from sysprep.testing.dirty_root import build, write_file
from sysprep.testing.planted import plant
from tests.conftest import snapshot, sysprep
from tests.contract import parse

HERE = os.path.dirname(os.path.abspath(__file__))

SCAN_SCHEMA = os.path.join(HERE, "..", "..", "src", "sysprep", "schemas", "scan.schema.json")
SARIF_SCHEMA = os.path.join(HERE, "..", "data", "sarif-schema-2.1.0.json")


@pytest.fixture(scope="module")
def planted_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("scan") / "root")
    dirty = build(root)
    return root, dirty, plant(root)


@pytest.fixture(scope="module")
def scanned(planted_root, tmp_path_factory):
    root, _, _ = planted_root
    sarif = str(tmp_path_factory.mktemp("sarif") / "scan.sarif")
    res = sysprep("scan", "--root", root, "--json", "--sarif", sarif)
    with open(sarif) as f:
        return res, json.loads(res.out), f.read()


def test_every_planted_secret_is_reported_by_path_and_the_scan_exits_3(planted_root, scanned):
    _, _, secrets = planted_root
    res, doc, _ = scanned
    assert res.code == 3, res.err
    found = {f["path"] for f in doc["findings"] if f["category"] == "secret"}
    assert sorted(set(secrets) - found) == []
    for f in doc["findings"]:
        if f["path"] in secrets:  # planted where no provider cleans: the report says so
            assert f["fix"] == "review: not removed by any provider"


def test_no_secret_appears_in_stdout_stderr_json_or_sarif(planted_root, scanned):
    _, _, secrets = planted_root
    res, _, sarif = scanned
    text = sysprep("scan", "--root", planted_root[0])  # the text report too
    for secret in secrets.values():
        for out in (res.out, res.err, sarif, text.out, text.err):
            assert secret not in out


def test_json_follows_the_published_schema(scanned):
    with open(SCAN_SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(scanned[1])


def test_sarif_validates_against_the_sarif_2_1_0_schema(scanned):
    with open(SARIF_SCHEMA) as f:
        schema = json.load(f)
    sarif = json.loads(scanned[2])
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(scanned[1]["findings"])
    rules = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rules


def test_fail_on_none_exits_0_with_the_same_findings(planted_root, scanned):
    res = sysprep("scan", "--root", planted_root[0], "--json", "--fail-on", "none")
    assert res.code == 0
    assert len(json.loads(res.out)["findings"]) == len(scanned[1]["findings"])


def test_identity_findings_are_the_providers_plan_and_the_tokens_copies(planted_root, scanned):
    _, dirty, _ = planted_root
    by = {(f["rule"], f["path"]): f for f in scanned[1]["findings"]}
    key = by[("identity.provider.ssh-hostkeys", "/etc/ssh/ssh_host_rsa_key")]
    assert key["fix"] == "removed by the ssh-hostkeys provider" and key["severity"] == "high"
    journal = f"/var/log/journal/{dirty.machine_id}"
    assert by[("identity.machine-id-in-name", journal)]["fix"] == "removed by the journal provider"
    assert ("identity.hostname", "/etc/hosts") in by
    for f in scanned[1]["findings"]:  # the tokens are named, never shown
        assert dirty.machine_id not in json.dumps({k: v for k, v in f.items() if k != "path"})


def test_scan_changes_nothing_in_the_target(tmp_path):
    root = str(tmp_path / "root")
    build(root)
    plant(root)
    before = snapshot(root)
    assert sysprep("scan", "--root", root).code == 3
    assert snapshot(root) == before


def test_a_clean_tree_exits_0(tmp_path):
    root = tmp_path / "root"
    write_file(str(root), "etc/os-release", "ID=debian\nVERSION_ID=12\n")
    write_file(str(root), "etc/motd", "welcome\n")
    res = sysprep("scan", "--root", str(root), "--json")
    assert res.code == 0, res.out
    assert json.loads(res.out)["findings"] == []


def test_files_above_the_size_limit_and_binary_files_are_not_read(tmp_path):
    root = str(tmp_path / "root")
    token = "ghp_" + "a1B2" * 9
    write_file(root, "srv/big.env", f"T={token}\n" + "x" * 5000)
    write_file(root, "srv/blob.bin", b"\0\1\2" + f"T={token}\n".encode())
    write_file(root, "srv/small.env", f"T={token}\n")
    doc = json.loads(sysprep("scan", "--root", root, "--json", "--max-size", "4096").out)
    assert {f["path"] for f in doc["findings"]} == {"/srv/small.env"}
    assert doc["stats"]["skipped_large"] == 1 and doc["stats"]["skipped_binary"] == 1


def test_a_missing_sarif_folder_is_a_usage_error_with_a_json_document(tmp_path):
    res = sysprep("scan", "--root", str(tmp_path), "--json", "--sarif", str(tmp_path / "no" / "x"))
    assert res.code == 2
    doc = parse(res.out, "error")
    assert doc["error"]["exit_code"] == 2 and "not a directory" in doc["error"]["message"]


def test_without_detect_secrets_the_scan_says_how_to_install_it(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m.startswith("detect_secrets")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "detect_secrets", None)  # import fails as if absent
    res = sysprep("scan", "--root", str(tmp_path))
    assert res.code == 2
    assert "detect-secrets" in res.err and "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_a_host_file_bind_mounted_into_the_target_is_not_read(tmp_path):
    """A chroot with a host file mounted into it (a resolv.conf, a credentials file): the scan
    reads only the target's own files, as every other operation on a target."""
    import subprocess

    root = tmp_path / "root"
    write_file(str(root), "etc/os-release", "ID=debian\nVERSION_ID=12\n")
    write_file(str(root), "srv/.git-credentials", "")
    host = tmp_path / "host-credentials"
    host.write_text("https://builder:ghp_" + "Zx9Q" * 9 + "@github.com\n")
    subprocess.run(["mount", "--bind", str(host), str(root / "srv/.git-credentials")], check=True)
    try:
        res = sysprep("scan", "--root", str(root), "--json")
    finally:
        subprocess.run(["umount", str(root / "srv/.git-credentials")], check=True)
    assert res.code == 0, res.out
    assert parse(res.out, "scan")["findings"] == []
