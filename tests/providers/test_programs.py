"""Providers that run programs: initramfs (the image's tools, sandboxed) and script (host)."""

from __future__ import annotations

import os

import pytest

from sysprep.errors import UsageError
from tests.providers.conftest import apply


def fake_tool(root: str, rel: str, marker: str, status: int = 0) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\necho "$@" > /{marker}\nexit {status}\n')
    os.chmod(path, 0o755)


def test_dracut_host_only_by_distribution_default_is_made_generic(flavoured):
    r = flavoured("fedora")
    plan = apply(r.path, "initramfs", dry_run=True)
    assert not os.path.exists(f"{r.path}/boot/dracut-ran")
    done = apply(r.path, "initramfs")
    assert plan.records == done.records and not done.errors
    assert [rec["op"] for rec in done.records] == ["write", "run"]
    assert (
        open(f"{r.path}/etc/dracut.conf.d/zz-sysprep-generic.conf")
        .read()
        .endswith('hostonly="no"\n')
    )
    assert open(f"{r.path}/boot/dracut-ran").read().split() == [
        "--force",
        "--no-hostonly",
        "--regenerate-all",
    ]
    # generic now: a second run changes nothing
    os.remove(f"{r.path}/boot/dracut-ran")
    assert apply(r.path, "initramfs").records == []
    assert not os.path.exists(f"{r.path}/boot/dracut-ran")


def test_dracut_generic_already_is_left_alone(flavoured):
    r = flavoured("fedora")
    os.makedirs(f"{r.path}/etc/dracut.conf.d")
    with open(f"{r.path}/etc/dracut.conf.d/02-generic-image.conf", "w") as f:
        f.write('hostonly="no"\n')
    assert apply(r.path, "initramfs").records == []


def test_initramfs_tools_with_modules_dep_is_made_generic(dirty):
    fake_tool(dirty.path, "usr/sbin/update-initramfs", "itools-ran")
    os.makedirs(f"{dirty.path}/etc/initramfs-tools/conf.d")
    with open(f"{dirty.path}/etc/initramfs-tools/initramfs.conf", "w") as f:
        f.write("MODULES=most\nBUSYBOX=auto\n")
    assert apply(dirty.path, "initramfs").records == []  # Debian's default is generic
    with open(f"{dirty.path}/etc/initramfs-tools/conf.d/local", "w") as f:
        f.write("MODULES=dep\n")
    done = apply(dirty.path, "initramfs")
    assert not done.errors
    assert (
        open(f"{dirty.path}/etc/initramfs-tools/conf.d/zz-sysprep-generic")
        .read()
        .endswith("MODULES=most\n")
    )
    assert open(f"{dirty.path}/itools-ran").read().split() == ["-u", "-k", "all"]


def test_mkinitcpio_autodetect_is_removed_from_hooks(flavoured):
    r = flavoured("arch")
    apply(r.path, "initramfs")
    dropin = open(f"{r.path}/etc/mkinitcpio.conf.d/zz-sysprep-generic.conf").read()
    assert dropin.splitlines()[-1] == "HOOKS=(base udev microcode modconf block filesystems fsck)"
    assert "autodetect" in open(f"{r.path}/etc/mkinitcpio.conf").read()  # the image's own, kept
    assert open(f"{r.path}/boot/mkinitcpio-ran").read().strip() == "-P"


def test_a_failing_rebuild_fails_the_provider(flavoured):
    r = flavoured("fedora")
    fake_tool(r.path, "usr/bin/dracut", "dracut-ran", status=1)
    assert apply(r.path, "initramfs").errors


def test_devices_persisted_keep_the_host_only_initramfs(flavoured, run):
    r = flavoured("fedora")
    res = run("--generalize", "/mode:vm", "--root", r.path)
    assert res.code == 0, res.err
    assert not os.path.exists(f"{r.path}/etc/dracut.conf.d/zz-sysprep-generic.conf")
    assert not os.path.exists(f"{r.path}/boot/dracut-ran")


def host_script(tmp_path, body: str, executable: bool = True) -> str:
    p = tmp_path / "script.sh"
    p.write_text(body)
    if executable:
        p.chmod(0o755)
    return str(p)


def test_script_runs_on_the_host_in_the_target_root(dirty, tmp_path):
    s = host_script(
        tmp_path,
        f'#!/bin/sh\npwd > etc/script-cwd\necho "$SYSPREP_ROOT" > etc/script-root\n'
        f"touch {tmp_path}/on-the-host\n",
    )
    done = apply(dirty.path, "script", options={"script": (s,)})
    assert not done.errors
    assert open(f"{dirty.path}/etc/script-cwd").read().strip() == dirty.path
    assert open(f"{dirty.path}/etc/script-root").read().strip() == dirty.path
    assert (tmp_path / "on-the-host").exists()
    assert done.records == [
        {
            "provider": "script",
            "op": "run",
            "path": s,
            "kind": "file",
            "detail": "host script, in the target root",
        }
    ]


def test_script_is_not_run_in_a_dry_run_but_listed(dirty, tmp_path):
    s = host_script(tmp_path, "#!/bin/sh\ntouch etc/script-ran\n")
    plan = apply(dirty.path, "script", dry_run=True, options={"script": (s,)})
    assert not os.path.exists(f"{dirty.path}/etc/script-ran")
    assert [r["path"] for r in plan.records] == [s]


def test_scripts_run_in_order_not_executable_ones_with_sh(dirty, tmp_path):
    a = tmp_path / "a"
    a.write_text("echo a >> etc/order\n")
    b = host_script(tmp_path, "#!/bin/sh\necho b >> etc/order\n")
    apply(dirty.path, "script", options={"script": (str(a), b)})
    assert open(f"{dirty.path}/etc/order").read() == "a\nb\n"


def test_a_failing_script_fails_the_run(dirty, tmp_path, run):
    s = host_script(tmp_path, "#!/bin/sh\necho oops >&2\nexit 4\n")
    res = run("--oobe", "--root", dirty.path, "--script", s)
    assert res.code == 1 and "status 4" in res.err


def test_no_script_no_action(dirty):
    assert apply(dirty.path, "script").records == []


def test_sandbox_is_required_for_offline_programs(flavoured, monkeypatch):
    import sysprep.target.sandbox as sandbox

    r = flavoured("fedora")
    monkeypatch.setattr(sandbox.shutil, "which", lambda *a, **k: None)
    done = apply(r.path, "initramfs")
    assert done.errors and "bubblewrap" in done.errors[0]
    with pytest.raises(UsageError):
        sandbox.bwrap()
