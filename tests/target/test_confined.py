from __future__ import annotations

import os
import stat
import subprocess
import threading

import pytest

from sysprep.target.confined import Confined, Refused


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "var/log").mkdir(parents=True)
    (r / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    return r


def test_absolute_symlink_resolves_inside_the_root(root, outside):
    os.symlink(str(outside), root / "escape")
    with Confined(str(root)) as fs:
        assert fs.realpath("escape") is None  # /tmp/.../host does not exist inside the root
        assert fs.remove("escape/canary") is None
    assert (outside / "canary").read_text() == "canary\n"


def test_a_folder_opened_for_mounting_on_is_resolved_inside_the_root(root, outside):
    os.symlink("/etc", root / "srv")
    os.symlink(str(outside), root / "away")
    with Confined(str(root)) as fs:
        fd = fs.open_dir("srv")
        try:
            st = os.fstat(fd)
            assert (st.st_dev, st.st_ino) == (
                os.stat(root / "etc").st_dev,
                os.stat(root / "etc").st_ino,
            )
        finally:
            os.close(fd)
        with pytest.raises(Refused, match="not a directory"):
            fs.open_dir("away")  # /tmp/.../host is not inside the root
        with pytest.raises(Refused, match="not a directory"):
            fs.open_dir("etc/passwd")


def test_symlink_to_etc_resolves_to_the_roots_etc(root):
    (root / "var/log").rmdir()
    os.symlink("/etc", root / "var/log")
    with Confined(str(root)) as fs:
        assert fs.realpath("var/log/passwd") == "etc/passwd"
        assert fs.read_text("var/log/passwd") == "root:x:0:0::/root:/bin/sh\n"


def test_dotdot_never_climbs_above_the_root(root, outside):
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), root / "etc/up")
    with Confined(str(root)) as fs:
        assert fs.realpath("../../../etc/passwd") == "etc/passwd"
        assert fs.glob("etc/up/*") == []
        out = fs.remove("etc/up")  # the link itself
    assert out is not None and out.kind == "symlink"
    assert (outside / "canary").exists()


def test_symlink_loop_is_refused_not_followed_forever(root):
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    with Confined(str(root)) as fs:
        assert fs.realpath("a/x") is None
        assert fs.read_bytes("a") is None
        assert fs.glob("a/*") == []
        out = fs.remove("a")
    assert out is not None and out.kind == "symlink"
    assert not os.path.lexists(root / "a")


def test_remove_of_a_symlink_never_touches_its_target(root, outside):
    os.symlink(str(outside / "canary"), root / "var/log/syslog")
    with Confined(str(root)) as fs:
        fs.remove("var/log/syslog")
        fs.clean("var/log")
    assert (outside / "canary").read_text() == "canary\n"


def test_truncate_skips_symlinks(root, outside):
    os.symlink(str(outside / "canary"), root / "etc/machine-id")
    with Confined(str(root)) as fs:
        out = fs.truncate("etc/machine-id")
    assert out is not None and out.skipped
    assert (outside / "canary").read_text() == "canary\n"


def test_hard_link_is_replaced_never_truncated(root, outside):
    os.link(outside / "canary.log", root / "var/log/linked.log")
    with Confined(str(root)) as fs:
        fs.truncate("var/log/linked.log")
        fs.write("etc/passwd", b"new\n")
    assert (outside / "canary.log").read_text() == "canary log\n"
    assert (root / "var/log/linked.log").read_bytes() == b""
    assert os.stat(root / "var/log/linked.log").st_ino != os.stat(outside / "canary.log").st_ino


def test_write_keeps_mode_owner_acl_and_xattrs(root):
    p = root / "etc/shadow"
    p.write_text("old\n")
    os.chown(p, 0, 42)
    os.chmod(p, 0o640)
    os.setxattr(p, "user.sysprep-test", b"label")
    subprocess.run(["setfacl", "-m", "u:1000:r", str(p)], check=True)
    acl_before = os.getxattr(p, "system.posix_acl_access")
    with Confined(str(root)) as fs:
        fs.write("etc/shadow", b"new\n")
    st = os.stat(p)
    assert p.read_text() == "new\n"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, 42)
    assert os.getxattr(p, "user.sysprep-test") == b"label"
    assert os.getxattr(p, "system.posix_acl_access") == acl_before
    assert [n for n in os.listdir(root / "etc") if ".sysprep-" in n] == []


def test_write_replaces_a_symlink_instead_of_following_it(root, outside):
    os.symlink(str(outside / "canary"), root / "etc/hostname")
    with Confined(str(root)) as fs:
        fs.write("etc/hostname", b"localhost\n")
    assert (root / "etc/hostname").read_text() == "localhost\n"
    assert not os.path.islink(root / "etc/hostname")
    assert (outside / "canary").read_text() == "canary\n"


def test_clean_counts_and_keeps_the_directory(root):
    for i in range(5):
        (root / f"var/log/f{i}").write_text("12345")
    (root / "var/log/sub/deeper").mkdir(parents=True)
    (root / "var/log/sub/deeper/x").write_text("1")
    with Confined(str(root)) as fs:
        out = fs.clean("var/log")
    assert out is not None and (out.files, out.dirs, out.bytes) == (6, 2, 26)
    assert os.listdir(root / "var/log") == []


def test_clean_keep_dirs_removes_files_only(root):
    (root / "var/log/nginx").mkdir()
    (root / "var/log/nginx/access.log").write_text("x")
    os.chown(root / "var/log/nginx", 33, 4)
    with Confined(str(root)) as fs:
        out = fs.clean("var/log", keep_dirs=True)
    assert out is not None and out.files == 1
    assert os.listdir(root / "var/log/nginx") == []
    assert os.stat(root / "var/log/nginx").st_uid == 33


def test_protected_directory_survives_a_clean(root):
    (root / "var/lib/sysprep").mkdir(parents=True)
    (root / "var/lib/sysprep/state.ini").write_text("x")
    with Confined(str(root)) as fs:
        fs.protect("var/lib/sysprep")
        out = fs.clean("var")
    assert (root / "var/lib/sysprep/state.ini").exists()
    assert out is not None and any(r == "protected" for _, r in out.skipped)


def test_glob_matches_like_the_shell_and_sorts(root):
    for name in ("b.log", "a.log", ".hidden.log", "c.txt"):
        (root / "var/log" / name).write_text("x")
    (root / "var/log/sub").mkdir()
    (root / "var/log/sub/d.log").write_text("x")
    with Confined(str(root)) as fs:
        assert fs.glob("var/log/*.log") == ["var/log/a.log", "var/log/b.log"]
        assert fs.glob("var/log/.*.log") == ["var/log/.hidden.log"]
        assert fs.glob("var/**/*.log") == ["var/log/a.log", "var/log/b.log", "var/log/sub/d.log"]


def test_glob_double_star_does_not_follow_symlinked_dirs(root):
    os.symlink("/", root / "var/log/loop")
    (root / "var/log/x~").write_text("x")
    with Confined(str(root)) as fs:
        assert fs.glob("**/*~") == ["var/log/x~"]


def test_dry_run_changes_nothing_and_sees_its_own_plan(root):
    (root / "var/log/a.log").write_text("x")
    (root / "var/log/sub").mkdir()
    (root / "var/log/sub/b.log").write_text("yy")
    before = sorted(os.walk(root))
    with Confined(str(root), dry_run=True) as fs:
        assert fs.remove("var/log/a.log").files == 1
        assert fs.glob("var/log/*.log") == []
        out = fs.clean("var/log")
        assert (out.files, out.dirs) == (1, 1)
        assert fs.clean("var/log").files == 0
        fs.write("etc/new", b"abc")
        assert fs.read_bytes("etc/new") == b"abc"
        assert fs.truncate("etc/passwd").bytes > 0
        assert fs.read_bytes("etc/passwd") == b""
    assert sorted(os.walk(root)) == before
    assert (root / "etc/passwd").read_text().startswith("root")


def test_swapped_symlink_mid_walk_cannot_redirect(root, outside):
    """A directory replaced by a symlink to the host while a clean runs is not followed."""
    base = root / "var/log/many"
    for i in range(50):
        d = base / f"d{i}"
        d.mkdir(parents=True)
        (d / "f").write_text("x")
    stop = threading.Event()

    def swap():
        while not stop.is_set():
            for i in range(50):
                d = base / f"d{i}"
                try:
                    os.rename(d, base / f"gone{i}")
                    os.symlink(str(outside), d)
                except OSError:
                    pass

    t = threading.Thread(target=swap)
    t.start()
    try:
        with Confined(str(root)) as fs:
            fs.clean("var/log")
    finally:
        stop.set()
        t.join()
    assert (outside / "canary").read_text() == "canary\n"
    assert (outside / "canary.log").exists()


def test_foreign_bind_mount_is_not_entered(root, outside):
    (root / "var/run").mkdir()
    subprocess.run(["mount", "--bind", str(outside), str(root / "var/run")], check=True)
    try:
        with Confined(str(root)) as fs:
            assert any(rel == "var/run" for rel, _ in fs.skipped_mounts)
            out = fs.clean("var/run")
            assert out is not None and out.skipped and out.files == 0
            assert fs.remove("var/run/canary").skipped
            whole = fs.clean("var")
            assert any(p == "var/run" for p, _ in whole.skipped)
    finally:
        subprocess.run(["umount", str(root / "var/run")], check=True)
    assert (outside / "canary").read_text() == "canary\n"


def test_same_filesystem_bind_mount_is_detected(root, tmp_path):
    """A bind mount of a folder of the same file system has the same st_dev: found by mount id."""
    host_dir = tmp_path / "same-fs"
    host_dir.mkdir()
    (host_dir / "keep").write_text("k")
    (root / "var/mnt").mkdir()
    subprocess.run(["mount", "--bind", str(host_dir), str(root / "var/mnt")], check=True)
    try:
        with Confined(str(root)) as fs:
            fs.clean("var")
    finally:
        subprocess.run(["umount", str(root / "var/mnt")], check=True)
    assert (host_dir / "keep").exists()


def test_a_symlinked_directory_is_not_emptied(root):
    """~/.cache -> / in a user's home must not empty the target (or anything else)."""
    (root / "home/bob").mkdir(parents=True)
    os.symlink("/", root / "home/bob/.cache")
    os.symlink("../../etc", root / "home/bob/.config")
    with Confined(str(root)) as fs:
        for link in ("home/bob/.cache", "home/bob/.config"):
            out = fs.clean(link)
            assert out is not None and out.kind == "symlink" and out.skipped and out.files == 0
        assert fs.clean("").skipped  # nor the root itself
    assert (root / "etc/passwd").exists()


def test_root_itself_cannot_be_removed(root):
    with Confined(str(root)) as fs:
        out = fs.remove("/")
    assert out is not None and out.skipped
    assert root.exists()


def test_refused_for_a_file_in_the_middle(root):
    with Confined(str(root)) as fs, pytest.raises(Refused):
        fs.write("etc/passwd/x", b"")


def test_dry_run_sees_the_size_of_what_it_planned_to_write(root):
    (root / "etc/conf").write_text("a long original content\n")
    with Confined(str(root), dry_run=True) as fs:
        fs.write("etc/conf", b"short\n")
        st = fs.lstat("etc/conf")
        assert st is not None and st.st_size == 6 and stat.S_ISREG(st.st_mode)
        out = fs.remove("etc/conf")
    assert out is not None and out.bytes == 6
    with Confined(str(root)) as fs:
        fs.write("etc/conf", b"short\n")
        real = fs.remove("etc/conf")
    assert real is not None and real.record() == out.record()


def test_tree_can_be_pruned_like_os_walk(root):
    for d in ("var/a/deep", "var/b/deep"):
        (root / d).mkdir(parents=True)
    with Confined(str(root)) as fs:
        seen = []
        for path, entries in fs.tree("var"):
            seen.append(path)
            entries[:] = [(n, s) for n, s in entries if n != "a"]
    assert "var/b/deep" in seen and not any(p.startswith("var/a") for p in seen)


def test_a_host_file_system_bound_in_is_foreign_even_if_fstab_names_it(root, tmp_path):
    """The image's fstab says /home is its own; the mount is the host's (also mounted elsewhere)."""
    disk = tmp_path / "home.img"
    subprocess.run(["truncate", "-s", "16M", str(disk)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True, capture_output=True)
    host_home = tmp_path / "host-home"
    host_home.mkdir()
    subprocess.run(["mount", "-o", "loop", str(disk), str(host_home)], check=True)
    try:
        (host_home / "alice").mkdir()
        (host_home / "alice/.bash_history").write_text("host user's history\n")
        (root / "home").mkdir()
        (root / "etc/fstab").write_text("UUID=x /home ext4 defaults 0 2\n")
        subprocess.run(["mount", "--bind", str(host_home), str(root / "home")], check=True)
        try:
            with Confined(str(root)) as fs:
                assert any(rel == "home" for rel, _ in fs.skipped_mounts)
                assert fs.remove("home/alice/.bash_history").skipped
        finally:
            subprocess.run(["umount", str(root / "home")], check=True)
        assert (host_home / "alice/.bash_history").exists()
    finally:
        subprocess.run(["umount", str(host_home)], check=True)


def test_the_targets_own_partition_is_entered(root, tmp_path):
    disk = tmp_path / "boot.img"
    subprocess.run(["truncate", "-s", "16M", str(disk)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(disk)], check=True, capture_output=True)
    (root / "boot").mkdir()
    (root / "etc/fstab").write_text("UUID=x /boot ext4 defaults 0 2\n")
    subprocess.run(["mount", "-o", "loop", str(disk), str(root / "boot")], check=True)
    try:
        (root / "boot/old.log").write_text("x")
        with Confined(str(root)) as fs:
            assert not any(rel == "boot" for rel, _ in fs.skipped_mounts)
            assert fs.remove("boot/old.log").files == 1
    finally:
        subprocess.run(["umount", str(root / "boot")], check=True)


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_file_in_a_missing_folder_is_refused_alike_in_a_dry_run(root, dry_run):
    with Confined(str(root), dry_run=dry_run) as fs:
        with pytest.raises(Refused, match="directory does not exist"):
            fs.write("etc/nowhere/file", b"x")
        with pytest.raises(Refused, match="directory does not exist"):
            fs.symlink("/x", "etc/nowhere/link")
        fs.mkdir("etc/made/deeper")
        assert fs.write("etc/made/deeper/file", b"x").bytes == 1  # made first: fine in both
        assert fs.write("etc/other/file", b"y", make_parents=True).bytes == 1


def test_read_bytes_tail_reads_only_the_end_and_stays_within_the_limit(root):
    (root / "var/log/big.log").write_bytes(b"a" * 100_000 + b"the end")
    with Confined(str(root)) as fs:
        assert fs.read_bytes("var/log/big.log", limit=1024, tail=7) == b"the end"
        assert fs.read_bytes("var/log/big.log", tail=1_000_000) == b"a" * 100_000 + b"the end"
        assert fs.read_bytes("var/log/missing.log", tail=7) is None
    with Confined(str(root), dry_run=True) as fs:
        fs.write("etc/new", b"abcdef")
        assert fs.read_bytes("etc/new", tail=2) == b"ef"
        assert fs.read_bytes("etc/new", tail=0) == b""
