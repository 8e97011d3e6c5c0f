"""The Debian package: built by scripts/package (dpkg-buildpackage, lintian without errors),
installed with `apt install ./sysprep_*.deb` into a fresh Debian 12 root, where it works."""

from __future__ import annotations

import os
import re
import shutil
import sys

import pytest

from sysprep.testing.dirty_root import build as build_dirty_root
from tests.packaging.conftest import TOP, extract, in_chroot

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _pins() -> dict[str, str]:
    with open(os.path.join(TOP, "debian", "vendor.txt")) as f:
        return dict(line.strip().split("==") for line in f if line.strip() and line[0] != "#")


def test_every_vendored_pin_satisfies_the_requirement_in_pyproject():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with open(os.path.join(TOP, "pyproject.toml"), "rb") as f:
        reqs = {
            canonicalize_name(r.name): r
            for r in map(Requirement, tomllib.load(f)["project"]["dependencies"])
        }
    for name, version in _pins().items():
        req = reqs.get(canonicalize_name(name))
        if req is None:  # what textual imports without naming it in pyproject
            continue
        assert req.specifier.contains(version), f"{name}=={version} is outside {req}"


def test_vendored_and_debian_dependencies_cover_every_library_the_runtime_bundles():
    """bundle.VENDORED are the modules an image's runtime needs: each comes from Debian
    (debian/control's Depends) or from the package's vendor folder."""
    from sysprep.firstboot.bundle import VENDORED

    with open(os.path.join(TOP, "debian", "control")) as f:
        depends = re.search(r"^Depends:(.*?)^\S", f.read(), re.M | re.S)
    assert depends
    from_debian = {
        "defusedxml": "python3-defusedxml",
        "yaml": "python3-yaml",
        "typing_extensions": "python3-typing-extensions",
    }
    for pkg in from_debian.values():
        assert pkg in depends.group(1)
    modules = {
        "textual",
        "rich",
        "pygments",
        "platformdirs",
        "markdown_it",
        "mdit_py_plugins",
        "mdurl",
        "linkify_it",
        "uc_micro",
    }
    assert set(VENDORED) == modules | set(from_debian)
    assert len(_pins()) == len(modules)


@pytest.mark.integration
def test_deb_builds_lintian_clean_of_errors_and_installs_and_generalizes_in_debian_12(
    deb, debian_tarball, tmp_path
):
    root = extract(debian_tarball, str(tmp_path / "debian12"))
    shutil.copy(deb, os.path.join(root, "tmp"))
    name = os.path.basename(deb)
    home_before = in_chroot(root, "find", "/root", "/home").stdout
    in_chroot(root, "apt-get", "update", "-q")
    in_chroot(root, "sh", "-c", f"cd /tmp && apt install -y -q ./{name}")

    assert in_chroot(root, "sysprep", "--version").stdout.strip() == "sysprep 0.1.0"
    assert in_chroot(root, "find", "/root", "/home").stdout == home_before  # nothing in a home
    # the terminal UIs import: the vendored textual and rich with Debian's typing_extensions
    ui = (
        "import importlib, pkgutil, sysprep.ui, textual; "
        "[importlib.import_module('sysprep.ui.' + m.name) for m in pkgutil.iter_modules(sysprep.ui.__path__)]; "
        "print(textual.__file__)"
    )
    assert in_chroot(root, "python3", "-c", ui).stdout.startswith("/usr/share/sysprep/vendor/")
    page = in_chroot(root, "sh", "-c", "MANWIDTH=80 man -P cat sysprep").stdout
    assert "SYSPREP(8)" in page and "--generalize" in page
    for path in (
        "/usr/share/bash-completion/completions/sysprep",
        "/usr/share/zsh/vendor-completions/_sysprep",
        "/usr/share/fish/vendor_completions.d/sysprep.fish",
    ):
        assert os.path.isfile(root + path)

    # the tests' support package is not installed
    probe = "import importlib.util as u; print(u.find_spec('sysprep.testing'))"
    assert in_chroot(root, "python3", "-c", probe).stdout.strip() == "None"
    # a root to generalize (the test helpers are not in the package: made from this checkout)
    build_dirty_root(os.path.join(root, "srv/t"))
    run = in_chroot(root, "sysprep", "--generalize", "--root", "/srv/t", check=False)
    assert run.returncode == 0, run.stderr
    assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in run.stdout
    assert not os.path.exists(os.path.join(root, "srv/t/etc/ssh/ssh_host_ed25519_key"))

    # the runtime injected for the boot-time passes runs alone, on the root's python3: every
    # library it needs comes from the bundle, none from the package's vendor folder or Debian
    bundle = "/srv/t/usr/lib/sysprep/sysprep.pyz"
    assert in_chroot(root, "python3", "-I", bundle, "--version").stdout.strip() == "sysprep 0.1.0"
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib; "
        "from sysprep.firstboot.bundle import VENDORED; "
        "print('\\n'.join(importlib.import_module(m).__file__ for m in VENDORED))"
    )
    files = in_chroot(root, "python3", "-I", "-c", probe, bundle).stdout.split()
    assert files and all(f.startswith(bundle + "/") for f in files), files
    wrapper = open(os.path.join(root, "srv/t/usr/sbin/sysprep")).read()
    assert "exec /usr/bin/python3 /usr/lib/sysprep/sysprep.pyz" in wrapper
