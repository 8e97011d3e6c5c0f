"""The boot-time units fit the image's systemd."""

from __future__ import annotations

import os

import pytest

from sysprep.firstboot import units
from sysprep.testing.dirty_root import build


@pytest.mark.parametrize(("version", "imports"), [(252, False), (254, True), (257, True)])
def test_the_specialize_unit_imports_credentials_only_where_systemd_knows_the_key(
    tmp_path, run, version, imports
):
    # systemd 252 logs "Unknown key name 'ImportCredential'" for each line at every boot
    root = build(str(tmp_path / "root"), systemd_version=version).path
    assert run("--generalize", "--root", root).code == 0
    with open(os.path.join(root, units.UNIT_DIR, units.SPECIALIZE_UNIT)) as f:
        text = f.read()
    lines = [ln for ln in text.splitlines() if ln.startswith("ImportCredential=")]
    assert lines == ([f"ImportCredential={n}" for n in units.CREDENTIALS] if imports else [])
    assert "@CREDENTIALS@" not in text
