"""Providers that remove, empty or rewrite files: the details that matter."""

from __future__ import annotations

import json
import os
import stat

from tests.providers.conftest import apply


def test_cron_spool_keeps_and_resets_the_at_counter_with_its_owner(dirty):
    seq = f"{dirty.path}/var/spool/cron/atjobs/.SEQ"
    apply(dirty.path, "cron-spool")
    st = os.stat(seq)
    assert open(seq).read() == "00000\n"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1, 1)
    assert os.listdir(f"{dirty.path}/var/spool/cron/atjobs") == [".SEQ"]
    assert os.listdir(f"{dirty.path}/var/spool/cron/crontabs") == []


def test_cron_spool_on_red_hat_layout_and_a_counter_already_reset(flavoured):
    r = flavoured("fedora")
    done = apply(r.path, "cron-spool")
    assert os.listdir(f"{r.path}/var/spool/at") == [".SEQ"]
    assert not os.path.exists(f"{r.path}/var/spool/cron/alice")
    assert not any(rec["path"] == "/var/spool/at/.SEQ" for rec in done.records)  # 00000 already


def test_pacct_is_emptied_in_place_where_it_exists(flavoured):
    r = flavoured("fedora")
    p = f"{r.path}/var/account/pacct"
    ino = os.stat(p).st_ino
    apply(r.path, "pacct-log")
    assert os.stat(p).st_ino == ino and os.path.getsize(p) == 0
    assert os.listdir(f"{r.path}/var/log/account") == ["pacct"]


def test_pacct_is_recreated_when_logfiles_removed_it(dirty):
    apply(dirty.path, "logfiles", "pacct-log")
    p = f"{dirty.path}/var/log/account/pacct"
    assert os.path.getsize(p) == 0 and stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_no_pacct_without_process_accounting(dirty):
    import shutil

    shutil.rmtree(f"{dirty.path}/var/log/account")
    assert apply(dirty.path, "pacct-log").records == []
    assert not os.path.exists(f"{dirty.path}/var/account")


def test_tmp_folders_keep_their_sticky_mode(dirty):
    apply(dirty.path, "tmp-files")
    for d in ("tmp", "var/tmp"):
        assert os.listdir(f"{dirty.path}/{d}") == []
        assert stat.S_IMODE(os.stat(f"{dirty.path}/{d}").st_mode) == 0o1777


def test_logfiles_keeps_every_folder_with_its_owner(dirty):
    os.chown(f"{dirty.path}/var/log/nginx", 33, 4)
    apply(dirty.path, "logfiles")
    st = os.stat(f"{dirty.path}/var/log/nginx")
    assert (st.st_uid, st.st_gid) == (33, 4) and os.listdir(f"{dirty.path}/var/log/nginx") == []
    files = [os.path.join(d, f) for d, _, fs in os.walk(f"{dirty.path}/var/log") for f in fs]
    assert files == []


def test_journal_removes_machine_folders_and_namespaces_only(dirty):
    j = f"{dirty.path}/var/log/journal"
    os.makedirs(f"{j}/{dirty.machine_id}.backup")
    os.makedirs(f"{j}/remote")
    apply(dirty.path, "journal")
    assert sorted(os.listdir(j)) == ["remote"]


def test_backup_files_finds_hidden_backups_and_leaves_folders_and_other_places(dirty):
    root = dirty.path
    for rel in ("etc/.hidden~", "var/lib/app/state.bak", "usr/share/doc/x.bak"):
        os.makedirs(os.path.dirname(f"{root}/{rel}"), exist_ok=True)
        open(f"{root}/{rel}", "w").close()
    os.symlink("/etc/passwd", f"{root}/etc/passwd.bak")  # not a regular file: left, as virt-sysprep
    apply(root, "backup-files")
    assert not os.path.lexists(f"{root}/etc/.hidden~") and not os.path.lexists(
        f"{root}/var/lib/app/state.bak"
    )
    assert os.path.islink(f"{root}/etc/passwd.bak") and os.path.isfile(f"{root}/etc/passwd")
    assert os.path.exists(f"{root}/usr/share/doc/x.bak")  # not one of virt-sysprep's folders


def test_blkid_cache_that_is_a_link_is_left_alone(dirty):
    os.makedirs(f"{dirty.path}/etc/blkid")
    os.symlink("../../run/blkid/blkid.tab", f"{dirty.path}/etc/blkid/blkid.tab")
    apply(dirty.path, "blkid-tab")
    assert os.path.islink(f"{dirty.path}/etc/blkid/blkid.tab")


def test_snapd_keeps_its_state_but_the_device_identity(dirty):
    apply(dirty.path, "snapd-serial")
    state = json.load(open(f"{dirty.path}/var/lib/snapd/state.json"))
    assert state["data"]["auth"] == {"device": {"brand": "canonical", "model": "pc"}}
    assert state["data"]["seeded"] is True and state["changes"] == {}
    assert stat.S_IMODE(os.stat(f"{dirty.path}/var/lib/snapd/state.json").st_mode) == 0o600


def test_snapd_state_that_is_not_json_fails_the_provider(dirty):
    with open(f"{dirty.path}/var/lib/snapd/state.json", "w") as f:
        f.write("{broken")
    assert apply(dirty.path, "snapd-serial").errors


def test_instance_id_without_the_google_agent_is_not_touched(dirty):
    with open(f"{dirty.path}/etc/instance_id", "w") as f:
        f.write("app instance\n")
    assert apply(dirty.path, "google-guest-agent").records == []
    assert os.path.exists(f"{dirty.path}/etc/instance_id")


def test_zypper_services_stay_on_an_unregistered_system(flavoured):
    r = flavoured("suse")
    os.remove(f"{r.path}/etc/zypp/credentials.d/SCCcredentials")
    os.remove(f"{r.path}/etc/SUSEConnect")
    assert apply(r.path, "suse-registration").records == []
    assert os.listdir(f"{r.path}/etc/zypp/services.d")


def test_ubuntu_pro_removes_only_the_pro_sources(dirty):
    src = f"{dirty.path}/etc/apt/sources.list.d"
    with open(f"{src}/ppa.list", "w") as f:
        f.write("deb https://ppa.launchpadcontent.net/x/ppa/ubuntu jammy main\n")
    apply(dirty.path, "ubuntu-pro")
    assert sorted(os.listdir(src)) == ["extra.list", "ppa.list"]


def test_no_relabel_flag_when_selinux_is_disabled_or_absent(flavoured, dirty):
    assert apply(dirty.path, "selinux-relabel").records == []  # no SELinux at all
    r = flavoured("fedora")
    with open(f"{r.path}/etc/selinux/config", "w") as f:
        f.write("SELINUX=disabled\nSELINUXTYPE=targeted\n")
    assert apply(r.path, "selinux-relabel").records == []
    assert not os.path.exists(f"{r.path}/.autorelabel")


def test_cloud_init_runs_the_images_clean_hooks_in_the_sandbox(dirty, outside):
    d = f"{dirty.path}/etc/cloud/clean.d"
    os.makedirs(d)
    with open(f"{d}/10-hook", "w") as f:
        f.write(f"#!/bin/sh\ntouch /hook-ran\nls {outside} > /hook-saw 2>&1\ntrue\n")
    os.chmod(f"{d}/10-hook", 0o755)
    with open(f"{d}/README", "w") as f:
        f.write("not executable\n")
    plan = apply(dirty.path, "cloud-init", dry_run=True)
    assert not os.path.exists(f"{dirty.path}/hook-ran")
    done = apply(dirty.path, "cloud-init")
    assert not done.errors and plan.records == done.records
    assert [r["path"] for r in done.records if r["op"] == "run"] == ["/etc/cloud/clean.d/10-hook"]
    assert os.path.exists(f"{dirty.path}/hook-ran")
    assert "No such file" in open(f"{dirty.path}/hook-saw").read()  # the host is not visible


def test_ca_store_is_rebuilt_only_when_a_certificate_went(flavoured):
    r = flavoured("fedora")
    assert apply(r.path, "ca-certificates").records == []  # only the bundles: nothing to do
    assert not os.path.exists(f"{r.path}/etc/pki/ca-trust/updated")


def test_editor_lock_links_go_and_system_homes_are_not_walked(dirty):
    root = dirty.path
    os.symlink("alice@build.1234:1700000000", f"{root}/home/alice/project/.#main.c")
    with open(f"{root}/etc/passwd", "a") as f:
        f.write("svc:x:1800:1800::/usr/lib/svc:/bin/bash\n")
    os.makedirs(f"{root}/usr/lib/svc")
    open(f"{root}/usr/lib/svc/shipped.bak", "w").close()
    apply(root, "editor-backups")
    assert not os.path.lexists(f"{root}/home/alice/project/.#main.c")
    assert os.path.exists(f"{root}/usr/lib/svc/shipped.bak")
