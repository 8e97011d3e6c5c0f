"""The whole default catalogue on a real, used Debian 12 root.

virt-sysprep's default operations are applied here as data (their path lists, taken from
guestfs-tools' sysprep/sysprep_operation_*.ml) to the dirtied tree: sysprep --generalize
with its defaults must remove every match, plus its own additions; and --dry-run must list
exactly what the real run removes, no more, no less.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
import subprocess
import sys

import pytest

from sysprep.target.confined import Confined
from tests.contract import parse
from tests.integration.conftest import USED_MACHINE, dirty_like_a_used_machine, extract, in_root

pytestmark = pytest.mark.integration

# Globs of virt-sysprep's default operations that act on a Debian guest (operations limited
# to Red Hat distributions or to yum/rpm do nothing there). Each matching path is removed
# (rm or rm_rf), except where RESET says it is rewritten.
VIRT_SYSPREP_GLOBS = {
    "abrt-data": ["/var/spool/abrt/*"],
    "bash-history": ["/root/.bash_history", "/home/*/.bash_history"],
    "blkid-tab": [
        "/var/run/blkid.tab",
        "/var/run/blkid.tab.old",
        "/etc/blkid/blkid.tab",
        "/etc/blkid/blkid.tab.old",
        "/etc/blkid.tab",
        "/etc/blkid.tab.old",
        "/dev/.blkid.tab",
        "/dev/.blkid.tab.old",
    ],
    "crash-data": ["/var/crash/*", "/var/log/dump/*"],
    "cron-spool": ["/var/spool/atjobs/*", "/var/spool/atspool/*"],  # and SPOOL_TREES
    "dhcp-client-state": ["/var/lib/dhclient/*", "/var/lib/dhcp/*"],
    "dhcp-server-state": ["/var/lib/dhcpd/*"],
    "dovecot-data": ["/var/lib/dovecot/*"],
    "ipa-client": [
        "/etc/ipa/ca.crt",
        "/etc/ipa/default.conf",
        "/var/lib/ipa-client/sysrestore/*",
        "/var/lib/ipa-client/pki/*",
        "/etc/pki/ca-trust/source/anchors/ipa-ca.crt",
        "/usr/local/share/ca-certificates/ipa-ca.crt",
        "/etc/pki/ca-trust/source/ipa.p11-kit",
    ],
    "kerberos-hostkeytab": ["/etc/krb5.keytab"],
    "logfiles": [
        "/var/log/*.log*",
        "/var/log/audit/*",
        "/var/log/btmp*",
        "/var/log/cron*",
        "/var/log/dmesg*",
        "/var/log/lastlog*",
        "/var/log/maillog*",
        "/var/log/mail/*",
        "/var/log/messages*",
        "/var/log/secure*",
        "/var/log/spooler*",
        "/var/log/tallylog*",
        "/var/log/wtmp*",
        "/var/log/apache2/*_log",
        "/var/log/apache2/*_log-*",
        "/var/log/ntp",
        "/var/log/tuned/tuned.log",
        "/var/log/debug*",
        "/var/log/syslog*",
        "/var/log/faillog*",
        "/var/log/firewalld*",
        "/var/log/grubby*",
        "/var/log/xferlog*",
        "/var/log/BackupPC/LOG",
        "/var/log/ceph/*.log",
        "/var/log/chrony/*.log",
        "/var/log/cups/*_log*",
        "/var/log/glusterfs/*glusterd.vol.log",
        "/var/log/glusterfs/glusterfs.log",
        "/var/log/httpd/*log",
        "/var/log/jetty/jetty-console.log",
        "/var/log/libvirt/libxl/*.log",
        "/var/log/libvirt/libvirtd.log",
        "/var/log/libvirt/lxc/*.log",
        "/var/log/libvirt/qemu/*.log",
        "/var/log/libvirt/uml/*.log",
        "/var/named/data/named.run",
        "/var/log/ppp/connect-errors",
        "/var/log/setroubleshoot/*.log",
        "/var/log/squid/*.log",
        "/var/lib/logrotate.status",
        "/root/install.log",
        "/root/install.log.syslog",
        "/root/anaconda-ks.cfg",
        "/root/original-ks.cfg",
        "/root/anaconda-post.log",
        "/root/initial-setup-ks.cfg",
        "/var/log/anaconda.syslog",
        "/var/log/anaconda/*",
        "/var/log/installer/*",
        "/var/cache/gdm/*",
        "/var/lib/AccountService/users/*",
        "/var/lib/fprint/*",
        "/var/cache/fontconfig/*",
        "/var/cache/man/*",
        "/var/log/sa/*",
        "/var/log/gdm/*",
        "/var/log/lightdm/*",
        "/var/log/ntpstats/*",
        "/etc/Pegasus/*.cnf",
        "/etc/Pegasus/*.crt",
        "/etc/Pegasus/*.csr",
        "/etc/Pegasus/*.pem",
        "/etc/Pegasus/*.srl",
        "/var/log/rhsm/*",
        "/var/log/journal/*",
        "/var/log/aptitude*",
        "/var/log/apt/*",
        "/var/log/exim4/*",
        "/var/log/ConsoleKit/*",
    ],
    "lvm-system-devices": ["/etc/lvm/devices/system.devices"],
    "machine-id": ["/etc/machine-id"],
    "mail-spool": ["/var/spool/mail/*", "/var/mail/*"],
    "pacct-log": ["/var/log/account/pacct*"],
    "package-manager-cache": ["/var/cache/apt/archives/*"],
    "pam-data": ["/var/run/console/*", "/var/run/faillock/*", "/var/run/sepermit/*"],
    "passwd-backups": [
        "/etc/group-",
        "/etc/gshadow-",
        "/etc/passwd-",
        "/etc/shadow-",
        "/etc/subuid-",
        "/etc/subgid-",
    ],
    "puppet-data-log": ["/var/log/puppet/*", "/var/lib/puppet/*/*", "/var/lib/puppet/*/*/*"],
    "samba-db-log": [
        "/var/log/samba/old/*",
        "/var/log/samba/*",
        "/var/lib/samba/*/*",
        "/var/lib/samba/*",
    ],
    "smolt-uuid": ["/etc/sysconfig/hw-uuid", "/etc/smolt/uuid", "/etc/smolt/hw-uuid"],
    "ssh-hostkeys": ["/etc/ssh/*_host_*"],
    "ssh-userdir": ["/root/.ssh", "/home/*/.ssh"],
    "sssd-db-log": ["/var/log/sssd/*", "/var/lib/sss/db/*"],
    "tmp-files": ["/tmp/*", "/tmp/.*", "/var/tmp/*", "/var/tmp/.*"],
    "udev-persistent-net": ["/etc/udev/rules.d/70-persistent-net.rules"],
    "utmp": ["/var/run/utmp"],
    "zsh-history": ["/root/.zsh_history", "/home/*/.zsh_history"],
}
# cron-spool: every file under these, at any depth, but at's counter .SEQ (reset instead).
SPOOL_TREES = ("var/spool/cron", "var/spool/at")
# backup-files: files matching these names anywhere under these folders.
BACKUP_PLACES, BACKUP_NAMES = ("etc", "root", "srv", "tmp", "var"), ("*.bak", "*~")
# Rewritten rather than removed: virt-sysprep empties machine-id, sysprep makes it
# systemd's first-boot "uninitialized"; at's counter goes back to 00000.
RESET = {"etc/machine-id": "uninitialized\n", "var/spool/cron/atjobs/.SEQ": "00000\n"}


def tree(root: str) -> dict[str, os.stat_result]:
    """Every path under root (relative), with its lstat; symlinks are not followed."""
    found = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            found[os.path.relpath(p, root)] = os.lstat(p)
    return found


def virt_sysprep_matches(root: str) -> set[str]:
    """virt-sysprep's default path lists applied to the tree (resolved inside the root)."""
    found: set[str] = set()
    with Confined(root, dry_run=True) as fs:
        for globs in VIRT_SYSPREP_GLOBS.values():
            for g in globs:
                found.update(fs.glob(g.lstrip("/")))
    for top in SPOOL_TREES:
        for d, _, files in os.walk(os.path.join(root, top)):
            found.update(os.path.relpath(os.path.join(d, f), root) for f in files if f != ".SEQ")
    for top in BACKUP_PLACES:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                p = os.path.join(d, f)
                if stat.S_ISREG(os.lstat(p).st_mode) and any(
                    fnmatch.fnmatchcase(f, g) for g in BACKUP_NAMES
                ):
                    found.add(os.path.relpath(p, root))
    return found


def covered(plan: list[dict], before: dict[str, os.stat_result]) -> set[str]:
    """The paths that the plan's remove and clean actions name, expanded over the tree."""
    out: set[str] = set()
    for rec in plan:
        path = str(rec["path"]).lstrip("/")
        below = {p for p in before if p.startswith(path + "/")}
        if rec["op"] == "remove":
            out |= {path} | below
        elif rec["op"] == "clean":
            files_only = "folders kept" in str(rec.get("detail", ""))
            out |= {p for p in below if not (files_only and stat.S_ISDIR(before[p].st_mode))}
    return out


def sysprep(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_defaults_remove_what_virt_sysprep_removes_and_more_and_the_plan_is_exact(
    debian_tarball, tmp_path
):
    root = extract(debian_tarball, str(tmp_path / "debian"))
    facts = dirty_like_a_used_machine(root)
    expected = virt_sysprep_matches(root)
    # the dirtying reached every kind of operation: the comparison means something
    assert {
        "etc/ssh/ssh_host_ed25519_key",
        "var/log/dpkg.log",
        "var/cache/apt/archives/nginx_1.22_amd64.deb",
        "var/spool/cron/crontabs/alice",
        "tmp/.X11-unix",
        "etc/passwd-",
        "home/alice/.ssh",
        "etc/apt/sources.list~",
        "run/utmp",
    } - expected <= {"run/utmp"}
    assert len(expected) > 50
    before = tree(root)

    plan_run = sysprep("--generalize", "--oobe", "--root", root, "--dry-run", "--json")
    assert plan_run.returncode == 0, plan_run.stderr
    assert {p: (s.st_mode, s.st_size, s.st_mtime_ns, s.st_ino) for p, s in tree(root).items()} == {
        p: (s.st_mode, s.st_size, s.st_mtime_ns, s.st_ino) for p, s in before.items()
    }
    plan = parse(plan_run.stdout, "report")["plan"]

    real = sysprep("--generalize", "--oobe", "--root", root, "--quiet")
    assert real.returncode == 0, real.stderr
    after = tree(root)
    with open(f"{root}/var/lib/sysprep/panther/actions.jsonl") as f:
        record = [json.loads(line) for line in f]
    # the record in the image names the template's machine-id <machine-id> (the plan, on the
    # host, has the exact path)
    redacted = json.loads(json.dumps(plan).replace(facts["machine_id"], "<machine-id>"))
    assert redacted == [r for r in record if "provider" in r], (
        "the dry run did not plan what the run did"
    )

    # everything virt-sysprep's defaults would remove is gone (or, for a folder that sysprep
    # keeps, emptied of files; or reset)
    left = []
    for path in sorted(expected):
        if path in RESET:
            with open(f"{root}/{path}") as f:
                assert f.read() == RESET[path], path
        elif path in after and not (
            stat.S_ISDIR(after[path].st_mode)
            and not any(
                p.startswith(path + "/") and not stat.S_ISDIR(s.st_mode) for p, s in after.items()
            )
        ):
            left.append(path)
    assert left == []

    # the additions
    for rel in USED_MACHINE:
        if rel not in RESET:
            assert rel not in after, rel
    assert f"var/log/journal/{facts['machine_id']}" not in after
    assert "var/lib/dbus/machine-id" not in after
    assert open(f"{root}/etc/hostname").read() == "localhost\n"
    assert os.path.getsize(f"{root}/etc/resolv.conf") == 0
    assert "hwaddress" not in open(f"{root}/etc/network/interfaces").read()
    # look-alikes and what the image needs are kept
    for rel in (
        "etc/ssh/sshd_config",
        "home/alice/.bashrc",
        "var/log/apt",
        "var/cache/apt/archives/partial",
        "var/spool/cron/crontabs",
        "etc/apt/sources.list",
        "etc/network/interfaces",
        "tmp",
        "var/tmp",
        "etc/pam.d/common-auth",
        "usr/bin/python3",
    ):
        assert rel in after, rel
    assert "alice:" in open(f"{root}/etc/passwd").read()  # user-account is off by default

    # --dry-run listed exactly what disappeared: nothing more, nothing less
    removed = set(before) - set(after)
    assert removed == covered(plan, before)
    assert expected - set(RESET) - removed <= {
        p for p in expected if stat.S_ISDIR(before[p].st_mode)
    }


def test_host_only_initramfs_is_rebuilt_generic_in_the_sandbox(debian_tarball, tmp_path):
    root = extract(debian_tarball, str(tmp_path / "debian"))
    conf = f"{root}/etc/initramfs-tools/initramfs.conf"
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("\nMODULES=most", "\nMODULES=dep"))
    (initrd,) = [p for p in os.listdir(f"{root}/boot") if p.startswith("initrd.img-")]
    before = os.stat(f"{root}/boot/{initrd}").st_mtime_ns
    plan = sysprep(
        "--generalize", "--root", root, "--operations", "initramfs", "--dry-run", "--json"
    )
    assert plan.returncode == 0, plan.stderr
    assert [
        (r["op"], r["path"])
        for r in parse(plan.stdout, "report")["plan"]
        if r["provider"] == "initramfs"
    ] == [
        ("write", "/etc/initramfs-tools/conf.d/zz-sysprep-generic"),
        ("run", "/usr/sbin/update-initramfs"),
    ]
    assert os.stat(f"{root}/boot/{initrd}").st_mtime_ns == before  # not run in a dry run
    r = sysprep("--generalize", "--root", root, "--operations", "initramfs")
    assert r.returncode == 0, r.stderr
    assert os.stat(f"{root}/boot/{initrd}").st_mtime_ns != before
    listing = in_root(root, "lsinitramfs", f"/boot/{initrd}").stdout
    # drivers for hardware the build host did not have: a generic initramfs
    assert "/nvme.ko" in listing and "/virtio_blk.ko" in listing and "/ahci.ko" in listing
    # with devices persisted, nothing happens
    with open(conf, "a") as f:
        f.write("MODULES=dep\n")
    os.remove(f"{root}/etc/initramfs-tools/conf.d/zz-sysprep-generic")
    vm = sysprep("--generalize", "/mode:vm", "--root", root, "--operations", "initramfs", "--json")
    assert {p["name"]: p["status"] for p in parse(vm.stdout, "report")["providers"]}[
        "initramfs"
    ] == "skipped"


ACCOUNT = """\
<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <settings pass="oobeSystem">
    <component name="Linux-Shell-Setup">
      <UserAccounts>
        <LocalAccounts>
          <LocalAccount wcm:action="add">
            <Name>operator2</Name>
            <Password><Value>pw-Secret-1</Value><PlainText>true</PlainText></Password>
          </LocalAccount>
        </LocalAccounts>
      </UserAccounts>
      <OOBE><SkipMachineOOBE>true</SkipMachineOOBE></OOBE>
    </component>
  </settings>
</unattend>
"""


def test_offline_boot_passes_create_an_account_that_owns_its_home(debian_tarball, tmp_path):
    """useradd runs in the sandbox with the image's real ids: the account and its home
    belong to its own uid, not to root or to nobody (65534)."""
    root = extract(debian_tarball, str(tmp_path / "debian"))
    answer = tmp_path / "unattend.xml"
    answer.write_text(ACCOUNT)
    r = sysprep("--generalize", "--oobe", "--root", root, "--unattend", str(answer))
    assert r.returncode == 0, r.stderr
    for stage in ("specialize", "passes"):
        r = sysprep("boot", "--stage", stage, "--root", root)
        assert r.returncode == 0, r.stderr
    (entry,) = [
        line.split(":") for line in open(f"{root}/etc/passwd") if line.startswith("operator2:")
    ]
    uid, gid = int(entry[2]), int(entry[3])
    assert uid >= 1000
    st = os.stat(f"{root}/home/operator2")
    assert (st.st_uid, st.st_gid) == (uid, gid)
