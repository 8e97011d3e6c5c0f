"""What sysprep tells cloud-init for the clone's first boot (the drop-in in cloud.cfg.d), and
when it stops telling it. The real boots are in tests/integration/test_cloud_init.py."""

from __future__ import annotations

import glob
import os

import yaml

from sysprep.firstboot import units
from sysprep.providers.builtin import new_ssh_hostkeys
from sysprep.testing.dirty_root import write_file
from tests.passes.test_boot import boot


def drop_in(root: str) -> str:
    with open(os.path.join(root, units.CLOUD_CFG)) as f:
        return f.read()


def test_cloud_init_drop_in_is_valid_cloud_config_that_lets_cloud_init_make_the_keys(dirty, run):
    """In a boot where cloud-init runs, its ssh module makes the host keys (all its types);
    keys sysprep made are the clone's own and are not deleted."""
    assert run("--generalize", "--root", dirty.path).code == 0
    text = drop_in(dirty.path)
    assert text.startswith("#cloud-config\n")
    cfg = yaml.safe_load(text)
    assert cfg == {"ssh_deletekeys": False}


# ssh-keygen -A for the fixture root (its busybox shell): makes each missing type, and
# records each one it made, so a test sees every key made once
KEYGEN = r"""#!/bin/sh
for t in rsa ecdsa ed25519; do
  [ -e /etc/ssh/ssh_host_${t}_key ] && continue
  echo "$t key" > /etc/ssh/ssh_host_${t}_key
  echo "$t" >> /etc/ssh/made
done
"""


def keyed_clone(dirty, run, *, cloud_init: bool) -> str:
    root = dirty.path
    write_file(root, "usr/bin/ssh-keygen", KEYGEN, 0o755)
    assert run("--generalize", "--root", root).code == 0
    assert not glob.glob(os.path.join(root, "etc/ssh/ssh_host_*_key"))
    if cloud_init:  # what cloud-init's generator writes when it finds a datasource
        write_file(root, new_ssh_hostkeys.CLOUD_ENABLED, "")
    return root


def made(root: str) -> list[str]:
    path = os.path.join(root, "etc/ssh/made")
    return sorted(open(path).read().split()) if os.path.exists(path) else []


def cloud_init_runs(root: str, types: tuple[str, ...]) -> None:
    """cloud-init.service in the clone's boot: its ssh module makes these key types."""
    write_file(root, new_ssh_hostkeys.CLOUD_STARTED, "{}\n")
    for t in types:
        write_file(root, f"etc/ssh/ssh_host_{t}_key", f"{t} key by cloud-init\n", 0o600)


def test_clone_leaves_its_ssh_host_keys_to_cloud_init_when_cloud_init_runs_in_that_boot(dirty, run):
    root = keyed_clone(dirty, run, cloud_init=True)
    boot(run, root, "specialize")
    assert (
        "cloud-init runs in this boot"
        in open(os.path.join(root, "var/log/sysprep/setupact.log")).read()
    )
    assert made(root) == [] and not glob.glob(os.path.join(root, "etc/ssh/ssh_host_*_key"))
    cloud_init_runs(root, ("rsa", "ecdsa", "ed25519"))
    boot(run, root, "passes")
    assert made(root) == []  # each key made once, by cloud-init
    assert open(os.path.join(root, "etc/ssh/ssh_host_rsa_key")).read() == "rsa key by cloud-init\n"


def test_the_later_stage_makes_the_key_types_cloud_init_did_not_make(dirty, run):
    """Its ssh module disabled or failed: the clone has every key type all the same."""
    root = keyed_clone(dirty, run, cloud_init=True)
    boot(run, root, "specialize")
    cloud_init_runs(root, ("ed25519",))
    boot(run, root, "passes")
    assert made(root) == ["ecdsa", "rsa"]
    assert (
        open(os.path.join(root, "etc/ssh/ssh_host_ed25519_key")).read()
        == "ed25519 key by cloud-init\n"
    )


def test_clone_makes_its_ssh_host_keys_early_when_cloud_init_does_not_run(dirty, run):
    root = keyed_clone(dirty, run, cloud_init=False)
    boot(run, root, "specialize")
    assert made(root) == ["ecdsa", "ed25519", "rsa"]
    boot(run, root, "passes")
    assert made(root) == ["ecdsa", "ed25519", "rsa"]  # not again


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
