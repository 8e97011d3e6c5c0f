"""Real Debian roots made with debootstrap, cached under /var/cache/sysprep-tests."""

from __future__ import annotations

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def debian_tarball() -> str:
    p = subprocess.run([os.path.join(HERE, "build-debian-root")], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"building the Debian root failed:\n{p.stderr[-3000:]}")
    return p.stdout.strip().splitlines()[-1]


def extract(tarball: str, dest: str) -> str:
    os.makedirs(dest, exist_ok=True)
    subprocess.run(["tar", "-C", dest, "--xattrs", "--acls", "--numeric-owner", "-xf", tarball], check=True)
    return dest


def in_root(root: str, *argv: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a program of the root inside a bubblewrap sandbox whose / is the root."""
    cmd = ["bwrap", "--bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run",
           "--unshare-pid", "--unshare-net", "--die-with-parent", "--clearenv",
           "--setenv", "PATH", "/usr/sbin:/usr/bin:/sbin:/bin", "--setenv", "HOME", "/root",
           "--setenv", "LC_ALL", "C.UTF-8"]
    for k, v in (env or {}).items():
        cmd += ["--setenv", k, v]
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
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(data)
    if not os.path.exists(os.path.join(root, "etc/ssh/ssh_host_ed25519_key")):
        in_root(root, "ssh-keygen", "-A")
    return facts
