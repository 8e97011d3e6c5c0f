"""Real Debian roots made with debootstrap, cached under /var/cache/sysprep-tests."""

from __future__ import annotations

import os
import subprocess

import pytest

from sysprep.testing.files import chroot_argv

HERE = os.path.dirname(os.path.abspath(__file__))


def debian_root_tarball(suite: str = "bookworm", extra: str = "") -> str:
    """The cached debootstrap root of a Debian suite, with EXTRA packages (comma-separated)
    added to the base set; built first (a few minutes) when missing."""
    p = subprocess.run(
        [os.path.join(HERE, "build-debian-root"), suite, extra], capture_output=True, text=True
    )
    if p.returncode != 0:
        pytest.fail(f"building the Debian {suite} root failed:\n{p.stderr[-3000:]}")
    return p.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def debian_tarball() -> str:
    return debian_root_tarball()


def extract(tarball: str, dest: str) -> str:
    os.makedirs(dest, exist_ok=True)
    subprocess.run(
        ["tar", "-C", dest, "--xattrs", "--acls", "--numeric-owner", "-xf", tarball], check=True
    )
    return dest


def extract_guest(tarball: str, dest: str) -> str:
    """`extract`, with the fstab a qemu guest (tests/integration/qemu.py) boots from: /dev/vda."""
    extract(tarball, dest)
    with open(os.path.join(dest, "etc/fstab"), "w") as f:
        f.write("/dev/vda / ext4 defaults 0 1\n")
    return dest


def in_root(
    root: str, *argv: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a program of the root inside a bubblewrap sandbox whose / is the root."""
    cmd = chroot_argv(root, env=env)
    return subprocess.run([*cmd, *argv], capture_output=True, text=True, check=check)


def dirty_like_a_used_machine(root: str) -> dict[str, str]:
    """Use the real root as a machine would have been used: users, histories, logs, leases."""
    in_root(root, "useradd", "-m", "-s", "/bin/bash", "alice")
    in_root(root, "useradd", "-m", "-s", "/bin/bash", "bob")
    facts = {"machine_id": open(os.path.join(root, "etc/machine-id")).read().strip()}
    files = {
        "root/.bash_history": "apt-get install -y nginx\n",
        "home/alice/.bash_history": "ssh build@10.0.0.1\n",
        "home/bob/.bash_history": "history\n",
        "var/log/syslog": "Nov 25 kernel: eth0 up\n",
        "var/log/auth.log": "sshd: Accepted password for alice\n",
        "var/log/syslog.1": "older\n",
        f"var/log/journal/{facts['machine_id']}/system.journal": "journal",
        "var/lib/dhcp/dhclient.eth0.leases": "lease { fixed-address 10.0.2.15; }\n",
        "var/log/nginx/access.log": "GET /\n",
    }
    files.update(USED_MACHINE)
    files[f"var/log/journal/{facts['machine_id']}/user-1000.journal"] = "journal"
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(data)
    with open(os.path.join(root, "etc/network/interfaces"), "a") as f:
        f.write("\nauto eth0\niface eth0 inet dhcp\n    hwaddress ether 52:54:00:12:34:56\n")
    # a crontab made by the image's own crontab(1); the rest of the spools by hand
    in_root(root, "sh", "-c", "echo '0 3 * * * /usr/bin/true' | crontab -u alice -")
    if not os.path.exists(os.path.join(root, "etc/ssh/ssh_host_ed25519_key")):
        in_root(root, "ssh-keygen", "-A")
    return facts


# What a machine in use accumulates, beyond the logs and histories above: something for
# each of virt-sysprep's default operations and for sysprep's additions.
USED_MACHINE = {
    "home/alice/.zsh_history": ": 1700000000:0;ls\n",
    "root/.zsh_history": "ls\n",
    "home/alice/.python_history": "import os\n",
    "home/bob/.local/share/fish/fish_history": "- cmd: ls\n",
    "root/.lesshst": ".less-history-file:\n",
    "root/.viminfo": "# viminfo\n",
    "root/.wget-hsts": "# HSTS\n",
    "home/alice/.ssh/known_hosts": "github.com ssh-ed25519 AAAA\n",
    "home/alice/.ssh/authorized_keys": "ssh-ed25519 AAAA alice\n",
    "root/.ssh/authorized_keys": "ssh-ed25519 AAAA builder\n",
    "home/alice/.cache/thumbnails/normal/x.png": "png",
    "home/alice/report.txt~": "old\n",
    "home/alice/.report.txt.swp": "b0VIM\n",
    "etc/apt/sources.list~": "deb http://old\n",
    "etc/default/locale.bak": "LANG=C\n",
    "var/www/index.html~": "<html>\n",
    "opt/tool/settings.bak": "x\n",
    "tmp/build-1234/out.o": "obj\n",
    "tmp/.X11-unix/X0": "",
    "var/tmp/cache.tmp": "t\n",
    "var/mail/alice": "From root\n",
    "var/spool/cron/atjobs/.SEQ": "0002a\n",
    "var/spool/cron/atjobs/a0002a01c2d3e4": "#!/bin/sh\n",
    "var/crash/_usr_bin_tool.0.crash": "ProblemType: Crash\n",
    "var/lib/systemd/coredump/core.tool.1000.zst": "core",
    "var/lib/systemd/random-seed": "seed" * 128,
    "var/lib/systemd/credential.secret": "secret" * 8,
    "var/cache/apt/archives/nginx_1.22_amd64.deb": "!<arch>\n",
    "var/cache/man/index.db": "db",
    "var/lib/NetworkManager/secret_key": "k" * 32,
    "var/lib/NetworkManager/internal-eth0.lease": "ADDRESS=10.0.2.15\n",
    "etc/udev/rules.d/70-persistent-net.rules": 'SUBSYSTEM=="net", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n',
    "etc/krb5.keytab": "keytab",
    "etc/lvm/devices/system.devices": "IDTYPE=sys_wwid\n",
    "var/lib/cloud/instances/i-1/obj.pkl": "pickle",
    "var/lib/cloud/seed/nocloud/meta-data": "instance-id: i-1\n",
    "var/log/cloud-init.log": "ci\n",
    "var/log/nginx/error.log.1": "err\n",
    "var/lib/logrotate/status": "logrotate state -- version 2\n",
    "var/log/installer/syslog": "d-i\n",
    "var/lib/samba/private/secrets.tdb": "tdb",
    "var/lib/sss/db/cache.ldb": "ldb",
    "var/lib/tailscale/tailscaled.state": "{}",
    "var/lib/docker/engine-id": "id\n",
}
