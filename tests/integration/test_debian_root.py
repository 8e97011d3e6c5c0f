"""The whole pipeline on a real Debian 12 root made with debootstrap."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from tests.conftest import snapshot
from tests.integration.conftest import dirty_like_a_used_machine, extract, in_root

pytestmark = pytest.mark.integration


def sysprep(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_generalize_a_real_debian_root(debian_tarball, tmp_path):
    root = extract(debian_tarball, str(tmp_path / "debian"))
    facts = dirty_like_a_used_machine(root)
    assert glob.glob(f"{root}/etc/ssh/ssh_host_*")
    before = snapshot(root)
    plan = sysprep("--generalize", "--oobe", "--root", root, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert snapshot(root) == before
    r = sysprep("--generalize", "--oobe", "--root", root)
    assert r.returncode == 0, r.stderr
    assert open(f"{root}/etc/machine-id").read() == "uninitialized\n"
    assert not glob.glob(f"{root}/etc/ssh/ssh_host_*")
    assert os.path.exists(f"{root}/etc/ssh/sshd_config")
    for h in ("root", "home/alice", "home/bob"):
        assert not os.path.exists(f"{root}/{h}/.bash_history")
        assert os.path.exists(f"{root}/{h}/.bashrc") or h == "root"
    assert not os.path.exists(f"{root}/var/log/syslog")
    assert not os.path.exists(f"{root}/var/log/dpkg.log")
    assert not os.path.exists(f"{root}/var/log/journal/{facts['machine_id']}")
    assert os.path.isdir(f"{root}/var/log/apt")
    assert sysprep("state", "--root", root).stdout.startswith(
        "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    )
    # the image still works: its own tools run and see the accounts
    assert "alice" in in_root(root, "getent", "passwd", "alice").stdout


def test_bundle_runs_live_under_the_images_own_python(debian_tarball, tmp_path):
    """`sysprep install` puts the runtime in; the image's python3 runs it as the live system."""
    root = extract(debian_tarball, str(tmp_path / "debian"))
    dirty_like_a_used_machine(root)
    r = sysprep("install", "--root", root)
    assert r.returncode == 0, r.stderr
    assert os.access(f"{root}/usr/sbin/sysprep", os.X_OK)
    version = in_root(root, "python3", "--version").stdout
    assert version.startswith("Python 3.")
    assert in_root(root, "/usr/sbin/sysprep", "--version").stdout.startswith("sysprep ")
    live = in_root(root, "/usr/sbin/sysprep", "--generalize", "--oobe", "--quiet", check=False)
    assert live.returncode == 0, live.stderr
    assert open(f"{root}/etc/machine-id").read() == "uninitialized\n"
    assert not glob.glob(f"{root}/etc/ssh/ssh_host_*")
    state = in_root(root, "/usr/sbin/sysprep", "state").stdout
    assert state.startswith("IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")
    assert os.path.exists(f"{root}/var/lib/sysprep/panther/setupact.log")
    # reboot on the live system is allowed by the command line (refused only offline)
    usage = in_root(root, "/usr/sbin/sysprep", "/generalize", "/audit", "/oobe", check=False)
    assert usage.returncode == 2 and "exclude each other" in usage.stderr


def test_a_real_debian_has_what_the_examples_name_but_their_own_programs(debian_tarball, tmp_path):
    """Checked against a real Debian root (tzdata, locales, console-setup), the examples'
    time zones, locales, keyboards and accounts are all there, and after a locale-gen the
    locale archive counts too; only the programs the examples bring themselves are missing."""
    root = extract(debian_tarball, str(tmp_path / "debian"))
    examples = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../../examples/*")))
    assert examples
    for path in examples:
        r = sysprep("answer", "validate", path, "--root", root)
        problems = [line for line in r.stderr.splitlines() if line.startswith(path)]
        assert all(
            ": /usr/local/sbin/" in p or ": /opt/factory/" in p or ": /usr/lib/oem/" in p
            for p in problems
        ), r.stderr
    german = tmp_path / "de.yaml"
    german.write_text("specialize:\n  Linux-International-Core:\n    SystemLocale: de-AT\n")
    assert sysprep("answer", "validate", str(german), "--root", root).returncode == 0
    for gen in (f"{root}/usr/sbin/locale-gen", f"{root}/etc/locale.gen"):
        os.rename(gen, gen + ".away")  # not generable any more
    assert sysprep("answer", "validate", str(german), "--root", root).returncode == 2
    in_root(root, "localedef", "-i", "de_AT", "-f", "UTF-8", "de_AT.UTF-8")  # into the archive
    r = sysprep("answer", "validate", str(german), "--root", root)
    assert r.returncode == 0, r.stderr
