"""What sysprep tells cloud-init for the clone's first boot (the drop-in in cloud.cfg.d), and
when it stops telling it. The real boots are in tests/integration/test_cloud_init.py."""

from __future__ import annotations

import os

import yaml

from sysprep.firstboot import units
from tests.passes.test_boot import boot


def drop_in(root: str) -> str:
    with open(os.path.join(root, units.CLOUD_CFG)) as f:
        return f.read()


def test_cloud_init_drop_in_is_valid_cloud_config_that_leaves_no_key_type_to_make(dirty, run):
    """cloud-init's schema wants at least one key type (an empty list is logged as an invalid
    cloud-config on every clone); the types listed are those ssh-keygen -A made, so the ssh
    module finds each and makes none."""
    assert run("--generalize", "--root", dirty.path).code == 0
    text = drop_in(dirty.path)
    assert text.startswith("#cloud-config\n")
    cfg = yaml.safe_load(text)
    assert cfg["ssh_deletekeys"] is False
    assert sorted(cfg["ssh_genkeytypes"]) == ["ecdsa", "ed25519", "rsa"]


def test_instance_metadata_host_name_wins_over_the_answer_files_computer_name(dirty, run, tmp_path):
    """The seed is per clone, the answer file the template's: cloud-init is not told to keep
    the host name sysprep set (it keeps it anyway when the metadata names no host)."""
    answer = tmp_path / "u.yaml"
    answer.write_text("specialize:\n  Linux-Shell-Setup:\n    ComputerName: web-01\n")
    assert run("--generalize", "--root", dirty.path, "--unattend", str(answer)).code == 0
    assert "preserve_hostname" not in yaml.safe_load(drop_in(dirty.path))


def test_cloud_init_drop_in_goes_with_the_guards_when_no_pass_is_pending(dirty, run):
    """Once the clone is specialized, a later instance of it (re-captured with cloud-init
    clean) gets cloud-init's own behaviour: new host keys from cloud-init."""
    root = dirty.path
    assert run("--generalize", "--root", root).code == 0
    boot(run, root, "specialize")
    assert os.path.exists(os.path.join(root, units.CLOUD_CFG))  # cloud-init has not run yet
    boot(run, root, "passes")
    assert not os.path.exists(os.path.join(root, units.CLOUD_CFG))
    assert os.path.exists(os.path.join(root, "etc/cloud/cloud.cfg"))
