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
from typing import Callable


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


def write_file(root: str, rel: str, data: str | bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> str:
    """Write `rel` under a fixture root (its folders made), with this mode and owner."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    os.chown(path, uid, gid)
    return rel


def _d(root: str, rel: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    path = os.path.join(root, rel)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


FLAVOURS = ("debian", "fedora", "suse", "arch")


def build(root: str, *, bulk: int = 0, users: tuple[str, ...] = ("alice", "bob"),
          systemd_version: int = 252, flavour: str = "debian") -> DirtyRoot:
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

    for d in ("bin", "sbin", "lib", "usr/bin", "usr/sbin", "usr/lib", "etc", "var/lib", "var/cache",
              "var/spool", "var/tmp", "tmp", "run", "proc", "sys", "dev", "home", "root", "opt",
              "usr/local/bin", "boot"):
        _d(root, d, 0o1777 if d in ("tmp", "var/tmp") else 0o700 if d == "root" else 0o755)
    os_release = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                  'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n')
    W("usr/lib/os-release", os_release)
    if not os.path.lexists(os.path.join(root, "etc/os-release")):
        os.symlink("../usr/lib/os-release", os.path.join(root, "etc/os-release"))
    W("etc/debian_version", "12.7\n")
    W(f"usr/lib/systemd/libsystemd-shared-{systemd_version}.so", b"\x7fELF")
    W("usr/lib/systemd/systemd", b"\x7fELF", 0o755)
    W("usr/bin/python3.11", b"\x7fELF", 0o755)
    if not os.path.lexists(os.path.join(root, "usr/bin/python3")):
        os.symlink("python3.11", os.path.join(root, "usr/bin/python3"))
    _d(root, "usr/lib/python3.11")
    _add_shell(root)
    _add_account_tools(root)

    passwd = ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
              "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
              "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin"]
    shadow = ["root:$y$j9T$abc$def:19700:0:99999:7:::", "daemon:*:19700:0:99999:7:::",
              "www-data:*:19700:0:99999:7:::", "sshd:*:19700:0:99999:7:::"]
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
    W("etc/fstab", "UUID=0a1b2c3d-0000-4000-8000-000000000001 / ext4 errors=remount-ro 0 1\n"
                   "UUID=0a1b2c3d-0000-4000-8000-000000000002 none swap sw 0 0\n")
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
        r.identity.append(W(f"etc/ssh/ssh_host_{kind}_key",
                            f"-----BEGIN OPENSSH PRIVATE KEY-----\n{secrets.token_hex(64)}\n"
                            "-----END OPENSSH PRIVATE KEY-----\n", 0o600))
        r.identity.append(W(f"etc/ssh/ssh_host_{kind}_key.pub",
                            f"ssh-{kind} {secrets.token_hex(32)} root@{r.hostname}\n"))
    r.keep.append(W("etc/ssh/sshd_config", "PermitRootLogin prohibit-password\nHostKey /etc/ssh/ssh_host_ed25519_key\n"))
    r.keep.append(W("etc/ssh/ssh_config", "Host *\n"))
    _d(root, "etc/ssh/sshd_config.d")
    r.keep.append(W("etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n"))
    r.keep.append(W("etc/pki/tls/certs/ca-bundle.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n"))
    r.identity.append(W("var/lib/dhcp/dhclient.enp1s0.leases",
                        "lease {\n  interface \"enp1s0\";\n  fixed-address 10.0.2.15;\n}\n"))
    r.identity.append(W("var/lib/NetworkManager/internal-6c2f-enp1s0.lease", "ADDRESS=10.0.2.15\n"))
    r.identity.append(W("var/lib/NetworkManager/secret_key", secrets.token_bytes(32), 0o600))
    r.identity.append(W("etc/udev/rules.d/70-persistent-net.rules",
                        'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="52:54:00:12:34:56", NAME="eth0"\n'))
    r.keep.append(W("etc/udev/rules.d/99-local.rules", "# local rules\n"))
    W("etc/network/interfaces", "auto lo\niface lo inet loopback\nauto enp1s0\niface enp1s0 inet dhcp\n"
                                "    hwaddress ether 52:54:00:12:34:56\n")
    r.changed["etc/network/interfaces"] = "52:54:00:12:34:56"

    # logs
    log_files: dict[str, str | bytes] = {
        "var/log/syslog": "Nov 25 10:00:00 build kernel: boot\n",
        "var/log/syslog.1": "old\n", "var/log/syslog.2.gz": b"\x1f\x8b\x08\x00",
        "var/log/auth.log": "sshd: Accepted publickey for alice from 10.0.2.2\n",
        "var/log/kern.log": "kernel\n", "var/log/dpkg.log": "install foo\n",
        "var/log/alternatives.log": "update-alternatives\n", "var/log/bootstrap.log": "debootstrap\n",
        "var/log/apt/history.log": "Start-Date: 2026\n", "var/log/apt/term.log": "Log started\n",
        "var/log/apt/eipp.log.xz": b"\xfd7zXZ", "var/log/installer/syslog": "d-i\n",
        "var/log/wtmp": b"\x07" * 384, "var/log/btmp": b"", "var/log/lastlog": b"\x00" * 292,
        "var/log/faillog": b"\x00" * 64, "var/log/messages": "msg\n",
        f"var/log/journal/{r.machine_id}/system.journal": secrets.token_bytes(4096),
        f"var/log/journal/{r.machine_id}/user-1000.journal": secrets.token_bytes(4096),
        "var/log/nginx/access.log": "GET /\n", "var/log/nginx/error.log": "err\n",
        "var/log/private/app/state.log": "x\n", "var/log/unattended-upgrades/unattended-upgrades.log": "u\n",
        "var/log/cloud-init.log": "ci\n", "var/log/cloud-init-output.log": "ci\n",
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
        _d(root, home, 0o750, uid, uid)
        r.identity.append(W(f"{home}/.bash_history", f"cd\ncat secret-{name}.txt\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.zsh_history", ": 1700000000:0;ls\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.python_history", "import os\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.local/share/fish/fish_history", "- cmd: ls\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.ssh/known_hosts", "host ssh-ed25519 AAAA\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.cache/pip/http/x", "cache\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/notes.txt~", "backup\n", 0o600, uid, uid))
        r.identity.append(W(f"{home}/.ssh/authorized_keys", "ssh-ed25519 AAAA user\n", 0o600, uid, uid))
        r.keep.append(W(f"{home}/notes.txt", "keep me\n", 0o644, uid, uid))
        r.keep.append(W(f"{home}/project/history.txt", "not a shell history\n", 0o644, uid, uid))
        r.keep.append(W(f"{home}/.bashrc", "# bashrc\n", 0o644, uid, uid))
        r.identity.append(W(f"var/spool/cron/crontabs/{name}", "0 * * * * true\n", 0o600, uid, 0))
        r.identity.append(W(f"var/mail/{name}", "From root\n", 0o660, uid, 8))

    # caches, temp, crash data
    r.identity.append(W("var/cache/apt/archives/foo_1.0_amd64.deb", b"!<arch>\n"))
    r.identity.append(W("var/cache/apt/pkgcache.bin", secrets.token_bytes(256)))
    _d(root, "var/cache/apt/archives/partial")
    r.identity.append(W("tmp/build.sh", "#!/bin/sh\n", 0o755))
    r.identity.append(W("tmp/.X11-unix/X0", b""))
    r.identity.append(W("var/tmp/systemd-private-x/tmp/y", "z\n"))
    r.identity.append(W("var/crash/_usr_bin_foo.0.crash", "ProblemType: Crash\n"))
    r.identity.append(W("var/lib/systemd/coredump/core.foo.0.zst", b"\x28\xb5\x2f\xfd"))
    W("etc/resolv.conf", "nameserver 10.0.2.3\nsearch build.example\n")
    r.emptied.append("etc/resolv.conf")
    r.keep.append(W("opt/app/config.yml", "app: 1\n"))
    r.keep.append(W("usr/local/bin/tool", "#!/bin/sh\n", 0o755))

    _add_catalogue(r, W)
    {"debian": lambda: None, "fedora": lambda: _add_redhat(r, W), "suse": lambda: _add_suse(r, W),
     "arch": lambda: _add_arch(r, W)}[flavour]()
    if bulk:
        add_bulk(root, bulk, r.users)
    return r


Writer = Callable[..., str]


def _add_catalogue(r: DirtyRoot, W: Writer) -> None:
    """What a used machine carries besides logs and histories, each item for a provider."""
    root = r.path
    if not os.path.lexists(os.path.join(root, "var/run")):
        os.symlink("/run", os.path.join(root, "var/run"))  # as on every current distribution
    mac = "52:54:00:12:34:56"
    alice = r.users.get("alice", 1000)
    # at jobs and their counter (Debian layout), process accounting
    r.keep.append(W("var/spool/cron/atjobs/.SEQ", "0001b\n", 0o600, 1, 1))
    r.changed["var/spool/cron/atjobs/.SEQ"] = "0001b"
    r.identity.append(W("var/spool/cron/atjobs/a0001a01b2c3d4", "#!/bin/sh\nrm -rf /data\n", 0o700, alice, 1))
    _d(root, "var/spool/cron/atspool", 0o1770, 1, 1)
    W("var/log/account/pacct", b"\x03" * 64, 0o640, 0, 4)
    r.emptied.append("var/log/account/pacct")
    r.identity.append(W("var/log/account/pacct.0", b"\x03" * 64, 0o640, 0, 4))
    # network: MAC-bound configuration in every format, leases, NetworkManager's identity
    W("etc/netplan/01-netcfg.yaml",
      "network:\n  version: 2\n  ethernets:\n    lan:\n      match:\n"
      f"        macaddress: {mac}\n      set-name: lan\n      dhcp4: true\n", 0o600)
    r.changed["etc/netplan/01-netcfg.yaml"] = mac
    r.identity.append(W("etc/systemd/network/10-lan.link", f"[Match]\nMACAddress={mac}\n\n[Link]\nName=lan\n"))
    W("etc/systemd/network/20-lan.network", f"[Match]\nMACAddress={mac}\n\n[Network]\nDHCP=yes\n")
    r.changed["etc/systemd/network/20-lan.network"] = mac
    r.keep.append(W("etc/systemd/network/30-wlan.network", "[Match]\nName=wlan*\n\n[Network]\nDHCP=yes\n"))
    r.identity.append(W("etc/NetworkManager/system-connections/Wired connection 1.nmconnection",
                        f"[connection]\nid=Wired connection 1\ntype=ethernet\n\n[ethernet]\nmac-address={mac}\n",
                        0o600))
    r.keep.append(W("etc/NetworkManager/NetworkManager.conf", "[main]\nplugins=ifupdown,keyfile\n"))
    r.identity.append(W("run/systemd/netif/leases/2", "ADDRESS=10.0.2.15\n"))
    r.identity.append(W("etc/udev/rules.d/70-persistent-net.rules.bak", "# old\n"))  # a backup, too
    # cloud-init: instance state, seed, what it generated
    r.identity.append(W("var/lib/cloud/instances/i-0abc/obj.pkl", b"\x80\x04"))
    r.identity.append(W("var/lib/cloud/seed/nocloud/meta-data", "instance-id: i-0abc\n"))
    r.identity.append(W("var/lib/cloud/data/instance-id", "i-0abc\n"))
    r.identity.append(W("etc/netplan/50-cloud-init.yaml", "network: {version: 2}\n", 0o600))
    r.identity.append(W("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n"))
    r.keep.append(W("etc/cloud/cloud.cfg", "users: [default]\n"))
    r.keep.append(W("etc/ssh/sshd_config.d/10-local.conf", "X11Forwarding no\n"))
    # histories of other tools, caches, editor leftovers where people edit
    r.identity.append(W("root/.mysql_history", "select * from users;\n", 0o600))
    r.identity.append(W("root/.wget-hsts", "# HSTS 1.0\n", 0o600))
    r.identity.append(W("home/alice/.psql_history", "\\dt\n", 0o600, alice, alice))
    r.identity.append(W("home/alice/.local/state/lesshst", ".less-history-file:\n", 0o600, alice, alice))
    r.keep.append(W("home/alice/.config/fish/config.fish", "set -x EDITOR vim\n", 0o644, alice, alice))
    r.identity.append(W("home/alice/project/.main.c.swp", b"b0VIM 9.0", 0o600, alice, alice))
    r.identity.append(W("home/alice/project/#draft.txt#", "autosave\n", 0o600, alice, alice))
    r.keep.append(W("home/alice/project/main.c", "int main(void) { return 0; }\n", 0o644, alice, alice))
    r.keep.append(W("home/alice/project/.git/packed-refs~", "not an editor's\n", 0o644, alice, alice))
    r.identity.append(W("opt/app/config.yml.bak", "app: 0\n"))
    r.identity.append(W("usr/local/etc/tool.conf~", "old\n"))
    r.keep.append(W("usr/local/etc/tool.conf", "new\n"))
    r.identity.append(W("etc/default/grub.bak", "GRUB_TIMEOUT=5\n"))
    r.identity.append(W("var/www/html/index.html~", "<html>\n"))
    r.keep.append(W("var/lib/docker/volumes/data/_data/dump.bak", "a volume's own file\n"))
    # identities of services and agents
    r.identity.append(W("var/lib/systemd/credential.secret", secrets.token_bytes(32), 0o400))
    r.identity.append(W("boot/efi/loader/random-seed", secrets.token_bytes(32), 0o600))
    r.identity.append(W("etc/krb5.keytab", secrets.token_bytes(64), 0o600))
    r.keep.append(W("etc/krb5.conf", "[libdefaults]\n default_realm = EXAMPLE.ORG\n"))
    r.identity.append(W("etc/lvm/devices/system.devices", "IDTYPE=sys_wwid IDNAME=naa.6001 DEVNAME=/dev/sda2\n"))
    r.keep.append(W("etc/lvm/lvm.conf", "devices {\n}\n"))
    r.identity.append(W("var/lib/sss/db/cache_example.org.ldb", b"TDB file"))
    r.identity.append(W("var/lib/samba/private/secrets.tdb", b"TDB file", 0o600))
    r.keep.append(W("etc/samba/smb.conf", "[global]\n workgroup = EXAMPLE\n"))
    r.identity.append(W("var/lib/dovecot/instances", "/var/run/dovecot\n"))
    r.identity.append(W("run/faillock/alice", b"\x00" * 16))
    r.identity.append(W("run/utmp", b"\x07" * 384, 0o664, 0, 43))
    r.identity.append(W("run/blkid/blkid.tab", '<device DEVNO="0x0801" UUID="0a1b">/dev/sda1</device>\n'))
    r.identity.append(W("etc/docker/key.json", '{"crv":"P-256","d":"secret"}\n', 0o600))
    r.identity.append(W("var/lib/docker/engine-id", "3b5c0e0a-0000-4000-8000-000000000001\n", 0o600))
    r.identity.append(W("var/lib/docker/swarm/certificates/swarm-node.key", "key\n", 0o600))
    r.keep.append(W("var/lib/docker/image/overlay2/repositories.json", "{}\n", 0o600))
    r.identity.append(W("var/lib/containerd/io.containerd.grpc.v1.introspection/uuid", "8e1c0f4e\n"))
    r.identity.append(W("var/lib/cni/networks/podman/10.88.0.2", "abc\n"))
    r.identity.append(W("var/lib/snapd/device/private-keys-v1/Zq3x", "key\n", 0o600))
    W("var/lib/snapd/state.json", '{"data":{"auth":{"device":{"brand":"canonical","model":"pc",'
      '"serial":"SERIAL-1234","key-id":"Zq3x","session-macaroon":"MDAx"},"users":[{"id":1,'
      '"email":"builder@example.org"}],"last-id":1},"seeded":true},"changes":{}}', 0o600)
    r.changed["var/lib/snapd/state.json"] = "SERIAL-1234"
    r.identity.append(W("var/lib/tailscale/tailscaled.state", '{"_machinekey":"privkey:abc"}', 0o600))
    r.identity.append(W("etc/salt/pki/minion/minion.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o400))
    r.identity.append(W("etc/salt/minion_id", r.hostname + "\n"))
    r.keep.append(W("etc/salt/minion", "master: salt.example.org\n"))
    r.identity.append(W("etc/chef/client.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o600))
    r.keep.append(W("etc/chef/validation.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o600))
    r.keep.append(W("etc/chef/client.rb", "chef_server_url 'https://chef.example.org'\n"))
    r.identity.append(W(f"etc/puppetlabs/puppet/ssl/certs/{r.hostname}.pem", "-----BEGIN CERTIFICATE-----\n"))
    r.identity.append(W(f"etc/puppetlabs/puppet/ssl/private_keys/{r.hostname}.pem", "-----BEGIN RSA\n", 0o640))
    r.keep.append(W("etc/puppetlabs/puppet/puppet.conf", "[main]\nserver = puppet.example.org\n"))
    W("var/ossec/etc/client.keys", f"001 {r.hostname} any 6f1d0c9e\n", 0o640, 0, 0)
    r.emptied.append("var/ossec/etc/client.keys")
    r.keep.append(W("var/ossec/etc/ossec.conf", "<ossec_config/>\n", 0o640))
    r.identity.append(W("var/lib/kubelet/pki/kubelet-client-current.pem", "-----BEGIN CERTIFICATE-----\n", 0o600))
    r.identity.append(W("etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600))
    r.keep.append(W("etc/kubernetes/bootstrap-kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600))
    r.identity.append(W("var/lib/waagent/ovf-env.xml", "<Environment/>\n", 0o600))
    r.identity.append(W("var/lib/amazon/ssm/registration", '{"ManagedInstanceID":"mi-0abc"}', 0o600))
    r.identity.append(W("var/lib/ubuntu-advantage/private/machine-token.json", '{"machineToken":"x"}', 0o600))
    r.identity.append(W("etc/apt/auth.conf.d/90ubuntu-advantage",
                        "machine esm.ubuntu.com/apps/ubuntu/ login bearer password token\n", 0o600))
    r.identity.append(W("etc/apt/sources.list.d/ubuntu-esm-apps.sources",
                        "Types: deb\nURIs: https://esm.ubuntu.com/apps/ubuntu\nSuites: jammy-apps-security\n"))
    r.keep.append(W("etc/apt/sources.list.d/extra.list", "deb http://deb.debian.org/debian bookworm-backports main\n"))
    W("etc/machine-info", 'PRETTY_HOSTNAME="Build box"\nCHASSIS=vm\n')
    r.changed["etc/machine-info"] = "Build box"


def _add_redhat(r: DirtyRoot, W: Writer) -> None:
    """Fedora / RHEL layout: ifcfg, rpm, subscription, SELinux, a host-only dracut."""
    root = r.path
    mac = "52:54:00:ab:cd:ef"
    W("usr/lib/os-release", 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n')
    os.remove(os.path.join(root, "etc/debian_version"))
    W("etc/redhat-release", "Red Hat Enterprise Linux release 9.4 (Plow)\n")
    W("etc/sysconfig/network-scripts/ifcfg-eth0",
      f'DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR={mac}\nHOSTNAME={r.hostname}\nDHCP_HOSTNAME={r.hostname}\nONBOOT=yes\n')
    r.changed["etc/sysconfig/network-scripts/ifcfg-eth0"] = mac
    r.identity.append(W("etc/NetworkManager/system-connections/eth0.nmconnection",
                        f"[connection]\nid=eth0\n[ethernet]\nmac-address={mac}\n", 0o600))
    r.identity.append(W("var/spool/abrt/ccpp-2024-01-01-10:00:00-1234/coredump", b"\x7fELF"))
    r.identity.append(W("var/spool/cron/alice", "@reboot true\n", 0o600, r.users.get("alice", 1000), 0))
    r.keep.append(W("var/spool/at/.SEQ", "00000\n", 0o600, 2, 2))
    r.identity.append(W("var/spool/at/a00001019a2b3c", "#!/bin/sh\n", 0o700))
    W("var/account/pacct", b"\x03" * 64, 0o600)
    r.emptied.append("var/account/pacct")
    r.identity.append(W("var/lib/rpm/__db.001", b"\x00" * 64))
    r.keep.append(W("var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\x00"))
    r.identity.append(W("var/lib/yum/uuid", "2f1e0d9c-0000-4000-8000-000000000001\n"))
    r.identity.append(W("var/cache/dnf/fedora-1234/packages/foo-1.0.rpm", b"\xed\xab\xee\xdb"))
    r.identity.append(W("etc/pki/consumer/cert.pem", "-----BEGIN CERTIFICATE-----\n"))
    r.identity.append(W("etc/pki/consumer/key.pem", "-----BEGIN PRIVATE KEY-----\n", 0o640))
    r.identity.append(W("etc/pki/entitlement/1234.pem", "-----BEGIN CERTIFICATE-----\n"))
    r.keep.append(W("etc/pki/product-default/479.pem", "-----BEGIN CERTIFICATE-----\n"))
    r.keep.append(W("etc/rhsm/rhsm.conf", "[server]\nhostname = subscription.rhsm.redhat.com\n"))
    r.identity.append(W("etc/sysconfig/rhn/systemid", "<?xml version='1.0'?><params/>\n", 0o600))
    r.identity.append(W("etc/insights-client/machine-id", "6c1c4e3a-0000-4000-8000-000000000001\n"))
    r.identity.append(W("var/lib/dhclient/dhclient--eth0.lease", "lease { fixed-address 10.0.2.16; }\n"))
    r.identity.append(W("var/lib/dhcpd/dhcpd.leases", "lease 10.0.0.50 { }\n"))
    r.identity.append(W("etc/ipa/default.conf", "[global]\nrealm = EXAMPLE.ORG\n"))
    r.identity.append(W("etc/ipa/ca.crt", "-----BEGIN CERTIFICATE-----\n"))
    r.identity.append(W("etc/pki/ca-trust/source/anchors/ipa-ca.crt", "-----BEGIN CERTIFICATE-----\n"))
    r.keep.append(W("etc/sysconfig/iptables", "*filter\nCOMMIT\n", 0o600))  # firewall-rules is off
    r.keep.append(W("var/kerberos/krb5kdc/principal", b"db"))  # kerberos-data is off
    r.identity.append(W("etc/smolt/uuid", "smolt-uuid\n"))
    W("etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n")
    _d(root, "etc/selinux/targeted/policy")
    # dracut, host-only by the distribution's own default; fake tools that leave a trace
    W("usr/lib/dracut/dracut.conf.d/01-dist.conf", 'hostonly="yes"\n')
    W("usr/bin/dracut", '#!/bin/sh\necho "$@" > /boot/dracut-ran\n', 0o755)
    W("usr/bin/update-ca-trust", '#!/bin/sh\necho "$@" > /etc/pki/ca-trust/updated\n', 0o755)


def _add_suse(r: DirtyRoot, W: Writer) -> None:
    """openSUSE / SLES layout: sysconfig/network ifcfg, SCC registration, zypper, wicked."""
    root = r.path
    W("usr/lib/os-release", 'NAME="SLES"\nID="sles"\nID_LIKE="suse"\nVERSION_ID="15.6"\n')
    os.remove(os.path.join(root, "etc/debian_version"))
    W("etc/sysconfig/network/ifcfg-eth0", "BOOTPROTO='dhcp'\nSTARTMODE='auto'\nLLADDR='52:54:00:aa:bb:cc'\n")
    r.changed["etc/sysconfig/network/ifcfg-eth0"] = "52:54:00:aa:bb:cc"
    r.identity.append(W("etc/zypp/credentials.d/SCCcredentials", "username=SCC_abc\npassword=def\n", 0o600))
    r.identity.append(W("etc/SUSEConnect", "---\nurl: https://scc.suse.com\n", 0o600))
    r.identity.append(W("etc/zypp/services.d/SUSE_Linux_Enterprise_Server_15_SP6_x86_64.service",
                        "[SLES]\nurl=https://updates.suse.com/\n"))
    r.keep.append(W("etc/zypp/zypp.conf", "[main]\n"))
    r.identity.append(W("var/cache/zypp/packages/repo-oss/x86_64/foo-1.0.rpm", b"\xed\xab\xee\xdb"))
    r.identity.append(W("var/lib/wicked/lease-eth0-dhcp-ipv4.xml", "<lease/>\n"))
    r.identity.append(W("var/lib/wicked/duid.xml", "<duid/>\n"))
    r.identity.append(W("var/log/zypper.log", "zypper\n"))


def _add_arch(r: DirtyRoot, W: Writer) -> None:
    """Arch layout: pacman cache, mkinitcpio with autodetect, zsh's default history file."""
    root = r.path
    W("usr/lib/os-release", 'NAME="Arch Linux"\nID=arch\n')
    os.remove(os.path.join(root, "etc/debian_version"))
    r.identity.append(W("var/cache/pacman/pkg/foo-1.0-1-x86_64.pkg.tar.zst", b"\x28\xb5\x2f\xfd"))
    r.identity.append(W("var/log/pacman.log", "[ALPM] installed foo\n"))
    r.identity.append(W("home/alice/.histfile", ": 1700000000:0;ls\n", 0o600, r.users.get("alice", 1000),
                        r.users.get("alice", 1000)))
    W("etc/mkinitcpio.conf", "MODULES=()\nHOOKS=(base udev autodetect microcode modconf block filesystems fsck)\n")
    r.keep.append("etc/mkinitcpio.conf")  # the image's own hooks stay; a drop-in overrides them
    W("usr/bin/mkinitcpio", '#!/bin/sh\necho "$@" > /boot/mkinitcpio-ran\n', 0o755)


BUSYBOX = ("/bin/busybox", "/usr/bin/busybox")
SHELL_TOOLS = ("sh", "sleep", "cat", "echo", "touch", "ls", "rm", "mkdir", "true", "false", "id",
               "env", "printf", "test", "[")

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
    places = ["var/log/app", "tmp/work", "var/tmp/build"] + [f"home/{u}/.cache/thumbnails" for u in users]
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
    p = argparse.ArgumentParser(prog="python -m sysprep.testing.dirty_root",
                                description="Build a realistic dirty Linux root for trying sysprep.")
    p.add_argument("dir")
    p.add_argument("--bulk", type=int, default=0, help="extra files in logs, temp folders and homes")
    p.add_argument("--flavour", choices=FLAVOURS, default="debian",
                   help="the layout of a distribution family to add (default: debian)")
    ns = p.parse_args(argv)
    if os.path.realpath(ns.dir) == "/":
        print("refusing to dirty /", file=sys.stderr)
        return 2
    r = build(ns.dir, bulk=ns.bulk, flavour=ns.flavour)
    print(f"dirty root at {r.path}: machine-id {r.machine_id}, host {r.hostname}, "
          f"users {', '.join(r.users)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
