"""sysprep scan on a real Debian 12 root: every planted secret found and never printed; after
generalize, no identity of the template left anywhere (checked by an independent grep)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from sysprep.scan.tokens import fingerprint
from sysprep.testing.planted import plant
from tests.integration.conftest import dirty_like_a_used_machine, extract

pytestmark = pytest.mark.integration
HERE = os.path.dirname(os.path.abspath(__file__))
SARIF_SCHEMA = os.path.join(HERE, "..", "data", "sarif-schema-2.1.0.json")
NAME = "tmpl-builder-17"
MAC = "52:54:00:12:34:56"  # dirty_like_a_used_machine writes it in /etc/network/interfaces


def sysprep(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def grep(root: str, *words: str) -> list[str]:
    """Files under root holding any of `words` (grep -r: every file, binary ones too)."""
    args = [a for w in words for a in ("-e", w)]
    p = subprocess.run(["grep", "-rlF", *args, root], capture_output=True, text=True)
    return sorted(p.stdout.split())


@pytest.fixture(scope="module")
def used(debian_tarball, tmp_path_factory):
    """A real root used like a machine, named like Debian's installer names one, with one
    planted secret of each kind where no provider cleans."""
    root = extract(debian_tarball, str(tmp_path_factory.mktemp("scan") / "debian"))
    facts = dirty_like_a_used_machine(root)
    with open(f"{root}/etc/hostname", "w") as f:
        f.write(NAME + "\n")
    with open(f"{root}/etc/hosts", "w") as f:
        f.write(f"127.0.0.1\tlocalhost\n127.0.1.1\t{NAME}.example.org\t{NAME}\n")
    facts["keys"] = [
        open(p).read().split()[1] for p in glob.glob(f"{root}/etc/ssh/ssh_host_*_key.pub")
    ]
    return root, facts, plant(root)


def test_scan_of_a_used_debian_root_reports_every_planted_secret_and_prints_none(used, tmp_path):
    root, _, secrets = used
    sarif = str(tmp_path / "scan.sarif")
    r = sysprep("scan", "--root", root, "--json", "--sarif", sarif)
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    found = {f["path"] for f in doc["findings"] if f["category"] == "secret"}
    assert sorted(set(secrets) - found) == []
    with open(sarif) as f:
        sarif_text = f.read()
    for secret in secrets.values():
        assert secret not in r.stdout + r.stderr + sarif_text
    with open(SARIF_SCHEMA) as f:
        jsonschema.Draft4Validator(json.load(f)).validate(json.loads(sarif_text))
    assert sysprep("scan", "--root", root, "--fail-on", "none").returncode == 0


def test_after_generalize_no_identity_of_the_template_is_left(used):
    root, facts, _ = used
    tokens = [
        facts["machine_id"],
        NAME,
        MAC,
        MAC.upper(),
        *facts["keys"],
        *(fingerprint(k) for k in facts["keys"]),
    ]
    assert grep(root, *tokens)  # the grep finds them before
    r = sysprep("--generalize", "--root", root, "--quiet")
    assert r.returncode == 0, r.stderr
    scan = sysprep("scan", "--root", root, "--json")
    doc = json.loads(scan.stdout)
    assert [f for f in doc["findings"] if f["category"] == "identity"] == []
    assert doc["recorded_tokens"] is True
    assert grep(root, *tokens) == []
