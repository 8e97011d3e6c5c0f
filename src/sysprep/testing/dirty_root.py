"""A realistic, dirty Linux root in seconds: what a used Debian machine leaves behind.

Used by the tests, the demo and the benchmarks; also useful to authors of providers.
`python -m sysprep.testing.dirty_root DIR [--bulk N]` builds one.

Every secret-looking value is random per build, so a test can check that the generalized
tree no longer contains it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import dataclass, field

from sysprep.testing import flavours
from sysprep.testing.files import make_dir
from sysprep.testing.files import write_file as write_file


@dataclass
class DirtyRoot:
    path: str
    machine_id: str = ""
    hostname: str = ""
    users: dict[str, int] = field(default_factory=dict)
    flavour: str = "debian"
    identity: list[str] = field(default_factory=list)  # paths that must not survive generalize
    keep: list[str] = field(default_factory=list)  # look-alikes that must survive
    # files that survive generalize, rewritten: path -> a value they must no longer contain
    changed: dict[str, str] = field(default_factory=dict)
    # files that survive generalize emptied (truncated in place)
    emptied: list[str] = field(default_factory=list)


FLAVOURS = ("debian", "fedora", "suse", "arch")


def build(
    root: str,
    *,
    bulk: int = 0,
    users: tuple[str, ...] = ("alice", "bob"),
    systemd_version: int = 252,
    flavour: str = "debian",
) -> DirtyRoot:
    """Make a dirty root at `root` (created if missing); `bulk` extra files in logs, temp and homes.

    `flavour` adds the layout of another distribution family (fedora: Red Hat; suse; arch)
    on top of the common, Debian-like base: providers find what they handle by what exists.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r} (one of {', '.join(FLAVOURS)})")
    os.makedirs(root, exist_ok=True)
    r = DirtyRoot(root, flavour=flavour)
    r.machine_id = secrets.token_hex(16)
    r.hostname = f"build-host-{secrets.randbelow(1000)}"

    def W(rel: str, data: str | bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> str:
        return write_file(root, rel, data, mode, uid, gid)

    for d in (
        "bin",
        "sbin",
        "lib",
        "usr/bin",
        "usr/sbin",
        "usr/lib",
        "etc",
        "var/lib",
        "var/cache",
        "var/spool",
        "var/tmp",
        "tmp",
        "run",
        "proc",
        "sys",
        "dev",
        "home",
        "root",
        "opt",
        "usr/local/bin",
        "boot",
    ):
        make_dir(root, d, 0o1777 if d in ("tmp", "var/tmp") else 0o700 if d == "root" else 0o755)
    os_release = (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n'
    )
    W("usr/lib/os-release", os_release)
    if not os.path.lexists(os.path.join(root, "etc/os-release")):
        os.symlink("../usr/lib/os-release", os.path.join(root, "etc/os-release"))
    W("etc/debian_version", "12.7\n")
    W(f"usr/lib/systemd/libsystemd-shared-{systemd_version}.so", b"\x7fELF")
    W("usr/lib/systemd/systemd", b"\x7fELF", 0o755)
    W("usr/bin/python3.11", b"\x7fELF", 0o755)
    if not os.path.lexists(os.path.join(root, "usr/bin/python3")):
        os.symlink("python3.11", os.path.join(root, "usr/bin/python3"))
    make_dir(root, "usr/lib/python3.11")
    _add_shell(root)
    _add_account_tools(root)

    passwd = [
        "root:x:0:0:root:/root:/bin/bash",
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
        "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin",
    ]
    shadow = [
        "root:$y$j9T$abc$def:19700:0:99999:7:::",
        "daemon:*:19700:0:99999:7:::",
        "www-data:*:19700:0:99999:7:::",
        "sshd:*:19700:0:99999:7:::",
    ]
    group = ["root:x:0:", "daemon:x:1:", "sudo:x:27:", "www-data:x:33:", "users:x:100:"]
    for i, name in enumerate(users):
        uid = 1000 + i
        r.users[name] = uid
        passwd.append(f"{name}:x:{uid}:{uid}:{name.title()}:/home/{name}:/bin/bash")
        shadow.append(f"{name}:$y$j9T$salt{i}$hash{i}:19700:0:99999:7:::")
        group.append(f"{name}:x:{uid}:")
    W("etc/passwd", "\n".join(passwd) + "\n")
    W("etc/shadow", "\n".join(shadow) + "\n", 0o640, 0, 42)
    W("etc/group", "\n".join(group) + "\n")
    W("etc/gshadow", "".join(f"{g.split(':')[0]}:*::\n" for g in group), 0o640, 0, 42)
    W("etc/passwd-", "\n".join(passwd) + "\n")
    W("etc/shadow-", "\n".join(shadow) + "\n", 0o600)
    W("etc/login.defs", "UID_MIN 1000\nUID_MAX 60000\nENCRYPT_METHOD YESCRYPT\n")
    W(
        "etc/fstab",
        "UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 errors=remount-ro 0 1\n"
        "UUID=0a1b2c3d-0000-4000-8000-000000000002 none swap sw 0 0\n",
    )
    W("etc/hostname", r.hostname + "\n")
    W("etc/hosts", f"127.0.0.1 localhost\n127.0.1.1 {r.hostname}\n10.1.1.1 fileserver\n")
    r.changed["etc/hostname"] = r.hostname
    r.changed["etc/hosts"] = r.hostname
    r.keep += ["etc/passwd", "etc/group", "etc/fstab", "etc/hosts", "etc/os-release"]

    # identity
    W("etc/machine-id", r.machine_id + "\n", 0o444)
    r.changed["etc/machine-id"] = r.machine_id
    r.identity.append(W("var/lib/dbus/machine-id", r.machine_id + "\n", 0o444))
    r.identity.append(W("var/lib/systemd/random-seed", secrets.token_bytes(512), 0o600))
    for kind in ("rsa", "ecdsa", "ed25519"):
        r.identity.append(
            W(
                f"etc/ssh/ssh_host_{kind}_key",
                f"-----BEGIN OPENSSH PRIVATE KEY-----\n{secrets.token_hex(64)}\n"
                "-----END OPENSSH PRIVATE KEY-----\n",
                0o600,
            )
        )
        r.identity.append(
            W(
                f"etc/ssh/ssh_host_{kind}_key.pub",
                f"ssh-{kind} {secrets.token_hex(32)} root@{r.hostname}\n",
            )
        )
    r.keep.append(
        W(
            "etc/ssh/sshd_config",
            "PermitRootLogin prohibit-password\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
        )
    )
    r.keep.append(W("etc/ssh/ssh_config", "Host *\n"))
    make_dir(root, "etc/ssh/sshd_config.d")
    r.keep.append(W("etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n"))
    r.keep.append(W("etc/pki/tls/certs/ca-bundle.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n"))
    r.identity.append(
        W(
            "var/lib/dhcp/dhclient.enp1s0.leases",
            'lease {\n  interface "enp1s0";\n  fixed-address 10.0.2.15;\n}\n',
        )
    )
    r.identity.append(W("var/lib/NetworkManager/internal-6c2f-enp1s0.lease", "ADDRESS=10.0.2.15\n"))
    r.identity.append(W("var/lib/NetworkManager/secret_key", secrets.token_bytes(32), 0o600))
    r.identity.append(
        W(
            "etc/udev/rules.d/70-persistent-net.rules",
            'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n',
        )
    )
    r.keep.append(W("etc/udev/rules.d/99-local.rules", "# local rules\n"))
    W(
        "etc/network/interfaces",
        "auto lo\niface lo inet loopback\nauto enp1s0\niface enp1s0 inet dhcp\n"
        "    hwaddress ether 52:54:00:12:34:56\n",
    )
    r.changed["etc/network/interfaces"] = "52:54:00:12:34:56"

    # logs
    log_files: dict[str, str | bytes] = {
        "var/log/syslog": "Nov 25 10:00:00 build kernel: boot\n",
        "var/log/syslog.1": "old\n",
        "var/log/syslog.2.gz": b"\x1f\x8b\x08\x00",
        "var/log/auth.log": "sshd: Accepted publickey for alice from 10.0.2.2\n",
        "var/log/kern.log": "kernel\n",
        "var/log/dpkg.log": "install foo\n",
        "var/log/alternatives.log": "update-alternatives\n",
        "var/log/bootstrap.log": "debootstrap\n",
        "var/log/apt/history.log": "Start-Date: 2026\n",
        "var/log/apt/term.log": "Log started\n",
        "var/log/apt/eipp.log.xz": b"\xfd7zXZ",
        "var/log/installer/syslog": "d-i\n",
        "var/log/wtmp": b"\x07" * 384,
        "var/log/btmp": b"",
        "var/log/lastlog": b"\x00" * 292,
        "var/log/faillog": b"\x00" * 64,
        "var/log/messages": "msg\n",
        f"var/log/journal/{r.machine_id}/system.journal": secrets.token_bytes(4096),
        f"var/log/journal/{r.machine_id}/user-1000.journal": secrets.token_bytes(4096),
        "var/log/nginx/access.log": "GET /\n",
        "var/log/nginx/error.log": "err\n",
        "var/log/private/app/state.log": "x\n",
        "var/log/unattended-upgrades/unattended-upgrades.log": "u\n",
        "var/log/cloud-init.log": "ci\n",
        "var/log/cloud-init-output.log": "ci\n",
    }
    for rel, data in log_files.items():
        r.identity.append(W(rel, data, 0o640))
    for d in ("var/log/nginx", "var/log/apt", "var/log/private", "var/log/journal"):
        r.keep.append(d)
    r.identity.append(W("var/lib/logrotate/status", "logrotate state -- version 2\n"))
    r.identity.append(W("root/.bash_history", "ls\nsudo rm -rf /tmp/x\n", 0o600))
    r.identity.append(W("root/.lesshst", "x\n", 0o600))
    r.identity.append(W("root/.viminfo", "x\n", 0o600))
    r.identity.append(W("root/.ssh/known_hosts", "github.com ssh-ed25519 AAAA\n", 0o600))
    r.keep.append(W("root/.bashrc", "# bashrc\n"))

    for name, uid in r.users.items():
        home = f"home/{name}"
        make_dir(root, home, 0o750, uid, uid)
        r.identity.append(
            W(f"{home}/.bash_history", f"cd\ncat secret-{name}.txt\n", 0o600, uid, uid)
        )
        r.identity.append(W(f"{home}/.zsh_history", ": 1700000000:0;ls\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.python_history", "import os\n", 0o600, uid, uid))
        r.identity.append(
            W(f"{home}/.local/share/fish/fish_history", "- cmd: ls\n", 0o600, uid, uid)
        )
        r.identity.append(W(f"{home}/.ssh/known_hosts", "host ssh-ed25519 AAAA\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.cache/pip/http/x", "cache\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/notes.txt~", "backup\n", 0o600, uid, uid))
        r.identity.append(
            W(f"{home}/.ssh/authorized_keys", "ssh-ed25519 AAAA user\n", 0o600, uid, uid)
        )
        r.keep.append(W(f"{home}/notes.txt", "keep me\n", 0o644, uid, uid))
        r.keep.append(W(f"{home}/project/history.txt", "not a shell history\n", 0o644, uid, uid))
        r.keep.append(W(f"{home}/.bashrc", "# bashrc\n", 0o644, uid, uid))
        r.identity.append(W(f"var/spool/cron/crontabs/{name}", "0 * * * * true\n", 0o600, uid, 0))
        r.identity.append(W(f"var/mail/{name}", "From root\n", 0o660, uid, 8))

    # caches, temp, crash data
    r.identity.append(W("var/cache/apt/archives/foo_1.0_amd64.deb", b"!<arch>\n"))
    r.identity.append(W("var/cache/apt/pkgcache.bin", secrets.token_bytes(256)))
    make_dir(root, "var/cache/apt/archives/partial")
    r.identity.append(W("tmp/build.sh", "#!/bin/sh\n", 0o755))
    r.identity.append(W("tmp/.X11-unix/X0", b""))
    r.identity.append(W("var/tmp/systemd-private-x/tmp/y", "z\n"))
    r.identity.append(W("var/crash/_usr_bin_foo.0.crash", "ProblemType: Crash\n"))
    r.identity.append(W("var/lib/systemd/coredump/core.foo.0.zst", b"\x28\xb5\x2f\xfd"))
    W("etc/resolv.conf", "nameserver 10.0.2.3\nsearch build.example\n")
    r.emptied.append("etc/resolv.conf")
    r.keep.append(W("opt/app/config.yml", "app: 1\n"))
    r.keep.append(W("usr/local/bin/tool", "#!/bin/sh\n", 0o755))

    flavours.add_catalogue(r, W)
    {
        "debian": lambda: None,
        "fedora": lambda: flavours.add_redhat(r, W),
        "suse": lambda: flavours.add_suse(r, W),
        "arch": lambda: flavours.add_arch(r, W),
    }[flavour]()
    if bulk:
        add_bulk(root, bulk, r.users)
    return r


BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")
SHELL_TOOLS = (
    "sh",
    "sleep",
    "cat",
    "echo",
    "touch",
    "ls",
    "rm",
    "mkdir",
    "true",
    "false",
    "id",
    "env",
    "printf",
    "test",
    "[",
)

USERADD = r"""#!/bin/sh
# useradd stand-in for fixture roots: passwd, shadow, group and home
shell=/bin/sh; comment=""; groups=""
while [ $# -gt 1 ]; do
  case "$1" in
    --create-home) shift;;
    --shell) shell=$2; shift 2;;
    --comment) comment=$2; shift 2;;
    --groups) groups=$2; shift 2;;
    *) shift;;
  esac
done
name=$1
if grep -q "^$name:" /etc/passwd; then echo "useradd: user '$name' already exists" >&2; exit 9; fi
uid=$((1000 + $(wc -l < /etc/passwd)))
echo "$name:x:$uid:$uid:$comment:/home/$name:$shell" >> /etc/passwd
echo "$name:!:19700:0:99999:7:::" >> /etc/shadow
echo "$name:x:$uid:" >> /etc/group
for g in $(echo "$groups" | tr , ' '); do
  sed -i -e "/^$g:/{s/:\$/:$name/;t" -e "s/\$/,$name/}" /etc/group
done
mkdir -p /home/$name
"""
CHPASSWD = r"""#!/bin/sh
# chpasswd --encrypted stand-in: NAME:HASH lines on stdin
while IFS=: read -r name hash; do
  sed -i "s|^$name:[^:]*:|$name:$hash:|" /etc/shadow
done
"""
ACCOUNT_TOOLS = ("grep", "sed", "wc", "tr", "mkdir")


def _add_account_tools(root: str) -> None:
    """useradd, usermod and chpasswd as busybox scripts: the boot can make accounts."""
    write_file(root, "usr/sbin/useradd", USERADD, 0o755)
    write_file(root, "usr/sbin/usermod", "#!/bin/sh\nexit 0\n", 0o755)
    write_file(root, "usr/sbin/chpasswd", CHPASSWD, 0o755)
    for tool in ACCOUNT_TOOLS:
        link = os.path.join(root, "bin", tool)
        if not os.path.lexists(link):
            os.symlink("busybox", link)


def _add_shell(root: str) -> None:
    """A static busybox as /bin/sh and friends, so the image's own scripts can run in it."""
    src = next((p for p in BUSYBOX if os.path.isfile(p)), None)
    if src is None:
        return
    dst = os.path.join(root, "bin/busybox")
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    os.chmod(dst, 0o755)
    for tool in SHELL_TOOLS:
        link = os.path.join(root, "bin", tool)
        if not os.path.lexists(link):
            os.symlink("busybox", link)


def add_bulk(root: str, count: int, users: dict[str, int]) -> int:
    """Spread `count` small files over logs, temp folders and users' caches (a used machine)."""
    places = ["var/log/app", "tmp/work", "var/tmp/build"] + [
        f"home/{u}/.cache/thumbnails" for u in users
    ]
    made = 0
    per_dir = 500
    payload = b"x" * 100
    while made < count:
        base = places[made // per_dir % len(places)]
        sub = os.path.join(root, base, f"d{made // (per_dir * len(places))}")
        os.makedirs(sub, exist_ok=True)
        for i in range(min(per_dir, count - made)):
            with open(os.path.join(sub, f"f{made + i}.log"), "wb") as f:
                f.write(payload)
        made += min(per_dir, count - made)
    return made


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sysprep.testing.dirty_root",
        description="Build a realistic dirty Linux root for trying sysprep.",
    )
    p.add_argument("dir")
    p.add_argument(
        "--bulk", type=int, default=0, help="extra files in logs, temp folders and homes"
    )
    p.add_argument(
        "--flavour",
        choices=FLAVOURS,
        default="debian",
        help="the layout of a distribution family to add (default: debian)",
    )
    ns = p.parse_args(argv)
    if os.path.realpath(ns.dir) == "/":
        print("refusing to dirty /", file=sys.stderr)
        return 2
    r = build(ns.dir, bulk=ns.bulk, flavour=ns.flavour)
    print(
        f"dirty root at {r.path}: machine-id {r.machine_id}, host {r.hostname}, "
        f"users {', '.join(r.users)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
