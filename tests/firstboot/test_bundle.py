"""The runtime bundle carries third-party entry-point providers into the image."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sysprep.testing.dirty_root import build
from tests.conftest import snapshot

PLUGIN = """
from sysprep.providers.base import Phase, Provider

def run(ctx):
    ctx.write("etc/acme-specialized", "yes\\n")

PROVIDER = Provider(name="acme-agent", heading="Give the ACME agent a fresh identity",
                    description="test plugin", phase=Phase.SPECIALIZE, run=run)
"""


def make_plugin(where, compiled=False):
    pkg = where / "acme_sysprep"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(PLUGIN)
    if compiled:
        (pkg / "_speedups.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    dist = where / "acme_sysprep-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-sysprep\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sysprep.providers]\nacme = acme_sysprep:PROVIDER\n")


def sysprep(*argv, pythonpath):
    env = {
        **os.environ,
        "PYTHONPATH": f"{pythonpath}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv], capture_output=True, text=True, env=env
    )


@pytest.mark.slow  # a generalize and a specialize in processes of their own
def test_entry_point_specialize_provider_runs_from_the_images_runtime(tmp_path):
    make_plugin(tmp_path / "site")
    root = build(str(tmp_path / "root")).path
    listed = sysprep("--list-operations", "--root", root, pythonpath=tmp_path / "site")
    assert "acme-agent" in listed.stdout
    r = sysprep("--generalize", "--oobe", "--root", root, "--quiet", pythonpath=tmp_path / "site")
    assert r.returncode == 0, r.stderr
    # the image's runtime alone (no PYTHONPATH, isolated): the plugin came along in the bundle
    p = subprocess.run(
        [
            sys.executable,
            "-I",
            os.path.join(root, "usr/lib/sysprep/sysprep.pyz"),
            "boot",
            "--stage",
            "specialize",
            "--root",
            root,
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert p.returncode == 0, p.stderr
    assert open(os.path.join(root, "etc/acme-specialized")).read() == "yes\n"


def test_compiled_plugin_is_refused_before_anything_changes(tmp_path):
    make_plugin(tmp_path / "site", compiled=True)
    root = build(str(tmp_path / "root")).path
    before = snapshot(root)
    r = sysprep("--generalize", "--oobe", "--root", root, pythonpath=tmp_path / "site")
    assert r.returncode == 2
    assert "compiled code" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert snapshot(root) == before


def test_runtime_bundle_holds_no_test_support_module():
    """The dirty roots and disk images of the tests (sysprep.testing) never go into an image,
    while the rest of the package does."""
    import io
    import zipfile

    from sysprep.firstboot import bundle

    data = bundle.build()
    with zipfile.ZipFile(io.BytesIO(data[data.index(b"PK") :])) as z:
        names = z.namelist()
    assert "sysprep/firstboot/bundle.py" in names and "sysprep/ui/welcome_app.py" in names
    assert [n for n in names if n.startswith("sysprep/testing/")] == []


def test_the_runtime_is_zipped_once_per_process():
    """A batch run generalizes many targets: the second one reuses the first one's bundle."""
    from sysprep.firstboot import bundle

    assert bundle.build() is bundle.build()
