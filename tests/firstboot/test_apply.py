"""Answer-file settings applied at boot, against fixture roots (offline: tools in the sandbox)."""

from __future__ import annotations

import os

import pytest

from sysprep.answer.types import LocalAccount
from sysprep.firstboot import apply
from sysprep.log import RunLog
from sysprep.providers.base import Context, Phase, Provider, Settings
from sysprep.request import TargetKind, TargetSpec
from sysprep.target import open_target
from sysprep.testing.dirty_root import build

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm2sXqQfW0b6Zz4mY0eF7qj3yJ8pGkQ2c1dV5xR9sTn a@b"


@pytest.fixture
def root(tmp_path):
    return build(str(tmp_path / "root")).path


def applying(root, fn):
    p = Provider(name="t", heading="t", description="", phase=Phase.SPECIALIZE, run=lambda c: None)
    with open_target(TargetSpec(TargetKind.ROOT, root=root), dry_run=False) as target:
        ctx = Context(target, RunLog(quiet=True), p, Settings(), dry_run=False)
        fn(ctx)
        return ctx.errors


def test_authorized_keys_of_an_existing_account(root):
    os.makedirs(os.path.join(root, "home/alice/.ssh"), exist_ok=True)
    os.chown(os.path.join(root, "home/alice/.ssh"), 1000, 1000)
    errors = applying(root, lambda ctx: apply._authorized_keys(ctx, "alice", (KEY,)))
    assert errors == []
    path = os.path.join(root, "home/alice/.ssh/authorized_keys")
    assert KEY in open(path).read()
    assert os.stat(path).st_uid == 1000


@pytest.mark.parametrize("target", ["/etc/sudoers.d", "/etc/systemd/system/getty@.service.d"])
def test_a_planted_ssh_link_is_not_followed(root, target):
    """alice points ~/.ssh at a folder root reads; the keys must not be written (or chowned) there."""
    ssh = os.path.join(root, "home/alice/.ssh")
    for name in os.listdir(ssh):
        os.remove(os.path.join(ssh, name))
    os.rmdir(ssh)
    os.symlink(target, ssh)
    errors = applying(root, lambda ctx: apply._authorized_keys(ctx, "alice", (KEY,)))
    assert errors and "not a folder owned by alice" in errors[0]
    assert not os.path.exists(os.path.join(root, target.lstrip("/")))


def test_a_home_that_is_a_link_gets_no_keys(root):
    os.rename(os.path.join(root, "home/bob"), os.path.join(root, "bob-real"))
    os.symlink("/etc", os.path.join(root, "home/bob"))
    errors = applying(root, lambda ctx: apply._authorized_keys(ctx, "bob", (KEY,)))
    assert errors and "no home folder" in errors[0]
    assert not os.path.exists(os.path.join(root, "etc/.ssh"))


def test_set_hostname_and_hosts(root):
    assert applying(root, lambda ctx: apply.set_hostname(ctx, "web-01.example.com")) == []
    assert open(os.path.join(root, "etc/hostname")).read() == "web-01.example.com\n"
    assert "127.0.1.1\tweb-01.example.com web-01" in open(os.path.join(root, "etc/hosts")).read()


def test_keymap_and_locale_files_are_made_even_without_etc_default(root):
    import shutil

    shutil.rmtree(os.path.join(root, "etc/default"), ignore_errors=True)
    assert (
        applying(
            root, lambda ctx: (apply.set_keymap(ctx, "de"), apply.set_locale(ctx, "de_DE.UTF-8"))
        )
        == []
    )
    assert "KEYMAP=de" in open(os.path.join(root, "etc/vconsole.conf")).read()
    assert "XKBLAYOUT=de" in open(os.path.join(root, "etc/default/keyboard")).read()
    assert "LANG=de_DE.UTF-8" in open(os.path.join(root, "etc/locale.conf")).read()


def test_a_british_console_keymap_gets_the_xkb_layout_gb(root):
    assert applying(root, lambda ctx: apply.set_keymap(ctx, "uk")) == []
    assert "KEYMAP=uk" in open(os.path.join(root, "etc/vconsole.conf")).read()
    assert "XKBLAYOUT=gb" in open(os.path.join(root, "etc/default/keyboard")).read()


def test_account_names_useradd_would_reject_are_refused(root):
    from sysprep.errors import UsageError

    with pytest.raises(UsageError):
        applying(root, lambda ctx: apply.ensure_account(ctx, LocalAccount("Bad Name")))
