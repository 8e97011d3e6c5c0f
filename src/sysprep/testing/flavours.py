"""What a used machine carries besides logs and histories (one item for each provider of
the catalogue), and the layouts of the other distribution families (Red Hat, SUSE, Arch),
added to a dirty root by sysprep.testing.dirty_root.build."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Callable

from sysprep.testing.files import make_dir

if TYPE_CHECKING:
    from sysprep.testing.dirty_root import DirtyRoot

Writer = Callable[..., str]


def add_catalogue(r: DirtyRoot, W: Writer) -> None:
    """What a used machine carries besides logs and histories, each item for a provider."""
    root = r.path
    if not os.path.lexists(os.path.join(root, "var/run")):
        os.symlink("/run", os.path.join(root, "var/run"))  # as on every current distribution
    mac = "52:54:00:12:34:56"
    alice = r.users.get("alice", 1000)
    # at jobs and their counter (Debian layout), process accounting
    r.keep.append(W("var/spool/cron/atjobs/.SEQ", "0001b\n", 0o600, 1, 1))
    r.changed["var/spool/cron/atjobs/.SEQ"] = "0001b"
    r.identity.append(
        W("var/spool/cron/atjobs/a0001a01b2c3d4", "#!/bin/sh\nrm -rf /data\n", 0o700, alice, 1)
    )
    make_dir(root, "var/spool/cron/atspool", 0o1770, 1, 1)
    W("var/log/account/pacct", b"\x03" * 64, 0o640, 0, 4)
    r.emptied.append("var/log/account/pacct")
    r.identity.append(W("var/log/account/pacct.0", b"\x03" * 64, 0o640, 0, 4))
    # network: MAC-bound configuration in every format, leases, NetworkManager's identity
    W(
        "etc/netplan/01-netcfg.yaml",
        "network:\n  version: 2\n  ethernets:\n    lan:\n      match:\n"
        f"        macaddress: {mac}\n      set-name: lan\n      dhcp4: true\n",
        0o600,
    )
    r.changed["etc/netplan/01-netcfg.yaml"] = mac
    r.identity.append(
        W("etc/systemd/network/10-lan.link", f"[Match]\nMACAddress={mac}\n\n[Link]\nName=lan\n")
    )
    W("etc/systemd/network/20-lan.network", f"[Match]\nMACAddress={mac}\n\n[Network]\nDHCP=yes\n")
    r.changed["etc/systemd/network/20-lan.network"] = mac
    r.keep.append(
        W("etc/systemd/network/30-wlan.network", "[Match]\nName=wlan*\n\n[Network]\nDHCP=yes\n")
    )
    r.identity.append(
        W(
            "etc/NetworkManager/system-connections/Wired connection 1.nmconnection",
            f"[connection]\nid=Wired connection 1\ntype=ethernet\n\n[ethernet]\nmac-address={mac}\n",
            0o600,
        )
    )
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
    r.identity.append(
        W("home/alice/.local/state/lesshst", ".less-history-file:\n", 0o600, alice, alice)
    )
    r.keep.append(
        W("home/alice/.config/fish/config.fish", "set -x EDITOR vim\n", 0o644, alice, alice)
    )
    r.identity.append(W("home/alice/project/.main.c.swp", b"b0VIM 9.0", 0o600, alice, alice))
    r.identity.append(W("home/alice/project/#draft.txt#", "autosave\n", 0o600, alice, alice))
    r.keep.append(
        W("home/alice/project/main.c", "int main(void) { return 0; }\n", 0o644, alice, alice)
    )
    r.keep.append(
        W("home/alice/project/.git/packed-refs~", "not an editor's\n", 0o644, alice, alice)
    )
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
    r.identity.append(
        W("etc/lvm/devices/system.devices", "IDTYPE=sys_wwid IDNAME=naa.6001 DEVNAME=/dev/sda2\n")
    )
    r.keep.append(W("etc/lvm/lvm.conf", "devices {\n}\n"))
    r.identity.append(W("var/lib/sss/db/cache_example.org.ldb", b"TDB file"))
    r.identity.append(W("var/lib/samba/private/secrets.tdb", b"TDB file", 0o600))
    r.keep.append(W("etc/samba/smb.conf", "[global]\n workgroup = EXAMPLE\n"))
    r.identity.append(W("var/lib/dovecot/instances", "/var/run/dovecot\n"))
    r.identity.append(W("run/faillock/alice", b"\x00" * 16))
    r.identity.append(W("run/utmp", b"\x07" * 384, 0o664, 0, 43))
    r.identity.append(
        W("run/blkid/blkid.tab", '<device DEVNO="0x0801" UUID="0a1b">/dev/sda1</device>\n')
    )
    r.identity.append(W("etc/docker/key.json", '{"crv":"P-256","d":"secret"}\n', 0o600))
    r.identity.append(
        W("var/lib/docker/engine-id", "3b5c0e0a-0000-4000-8000-000000000001\n", 0o600)
    )
    r.identity.append(W("var/lib/docker/swarm/certificates/swarm-node.key", "key\n", 0o600))
    r.keep.append(W("var/lib/docker/image/overlay2/repositories.json", "{}\n", 0o600))
    r.identity.append(
        W("var/lib/containerd/io.containerd.grpc.v1.introspection/uuid", "8e1c0f4e\n")
    )
    r.identity.append(W("var/lib/cni/networks/podman/10.88.0.2", "abc\n"))
    r.identity.append(W("var/lib/snapd/device/private-keys-v1/Zq3x", "key\n", 0o600))
    W(
        "var/lib/snapd/state.json",
        '{"data":{"auth":{"device":{"brand":"canonical","model":"pc",'
        '"serial":"SERIAL-1234","key-id":"Zq3x","session-macaroon":"MDAx"},"users":[{"id":1,'
        '"email":"builder@example.org"}],"last-id":1},"seeded":true},"changes":{}}',
        0o600,
    )
    r.changed["var/lib/snapd/state.json"] = "SERIAL-1234"
    r.identity.append(
        W("var/lib/tailscale/tailscaled.state", '{"_machinekey":"privkey:abc"}', 0o600)
    )
    r.identity.append(
        W("etc/salt/pki/minion/minion.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o400)
    )
    r.identity.append(W("etc/salt/minion_id", r.hostname + "\n"))
    r.keep.append(W("etc/salt/minion", "master: salt.example.org\n"))
    r.identity.append(W("etc/chef/client.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o600))
    r.keep.append(W("etc/chef/validation.pem", "-----BEGIN RSA PRIVATE KEY-----\n", 0o600))
    r.keep.append(W("etc/chef/client.rb", "chef_server_url 'https://chef.example.org'\n"))
    r.identity.append(
        W(f"etc/puppetlabs/puppet/ssl/certs/{r.hostname}.pem", "-----BEGIN CERTIFICATE-----\n")
    )
    r.identity.append(
        W(f"etc/puppetlabs/puppet/ssl/private_keys/{r.hostname}.pem", "-----BEGIN RSA\n", 0o640)
    )
    r.keep.append(W("etc/puppetlabs/puppet/puppet.conf", "[main]\nserver = puppet.example.org\n"))
    W("var/ossec/etc/client.keys", f"001 {r.hostname} any 6f1d0c9e\n", 0o640, 0, 0)
    r.emptied.append("var/ossec/etc/client.keys")
    r.keep.append(W("var/ossec/etc/ossec.conf", "<ossec_config/>\n", 0o640))
    r.identity.append(
        W("var/lib/kubelet/pki/kubelet-client-current.pem", "-----BEGIN CERTIFICATE-----\n", 0o600)
    )
    r.identity.append(W("etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600))
    r.keep.append(
        W("etc/kubernetes/bootstrap-kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600)
    )
    r.identity.append(W("var/lib/waagent/ovf-env.xml", "<Environment/>\n", 0o600))
    r.identity.append(
        W("var/lib/amazon/ssm/registration", '{"ManagedInstanceID":"mi-0abc"}', 0o600)
    )
    r.identity.append(
        W("var/lib/ubuntu-advantage/private/machine-token.json", '{"machineToken":"x"}', 0o600)
    )
    r.identity.append(
        W(
            "etc/apt/auth.conf.d/90ubuntu-advantage",
            "machine esm.ubuntu.com/apps/ubuntu/ login bearer password token\n",
            0o600,
        )
    )
    r.identity.append(
        W(
            "etc/apt/sources.list.d/ubuntu-esm-apps.sources",
            "Types: deb\nURIs: https://esm.ubuntu.com/apps/ubuntu\nSuites: jammy-apps-security\n",
        )
    )
    r.keep.append(
        W(
            "etc/apt/sources.list.d/extra.list",
            "deb http://deb.debian.org/debian bookworm-backports main\n",
        )
    )
    W("etc/machine-info", 'PRETTY_HOSTNAME="Build box"\nCHASSIS=vm\n')
    r.changed["etc/machine-info"] = "Build box"


def add_redhat(r: DirtyRoot, W: Writer) -> None:
    """Fedora / RHEL layout: ifcfg, rpm, subscription, SELinux, a host-only dracut."""
    root = r.path
    mac = "52:54:00:ab:cd:ef"
    W(
        "usr/lib/os-release",
        'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n',
    )
    os.remove(os.path.join(root, "etc/debian_version"))
    W("etc/redhat-release", "Red Hat Enterprise Linux release 9.4 (Plow)\n")
    W(
        "etc/sysconfig/network-scripts/ifcfg-eth0",
        f"DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR={mac}\nHOSTNAME={r.hostname}\nDHCP_HOSTNAME={r.hostname}\nONBOOT=yes\n",
    )
    r.changed["etc/sysconfig/network-scripts/ifcfg-eth0"] = mac
    r.identity.append(
        W(
            "etc/NetworkManager/system-connections/eth0.nmconnection",
            f"[connection]\nid=eth0\n[ethernet]\nmac-address={mac}\n",
            0o600,
        )
    )
    r.identity.append(W("var/spool/abrt/ccpp-2024-01-01-10:00:00-1234/coredump", b"\x7fELF"))
    r.identity.append(
        W("var/spool/cron/alice", "@reboot true\n", 0o600, r.users.get("alice", 1000), 0)
    )
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
    r.identity.append(
        W("var/lib/dhclient/dhclient--eth0.lease", "lease { fixed-address 10.0.2.16; }\n")
    )
    r.identity.append(W("var/lib/dhcpd/dhcpd.leases", "lease 10.0.0.50 { }\n"))
    r.identity.append(W("etc/ipa/default.conf", "[global]\nrealm = EXAMPLE.ORG\n"))
    r.identity.append(W("etc/ipa/ca.crt", "-----BEGIN CERTIFICATE-----\n"))
    r.identity.append(
        W("etc/pki/ca-trust/source/anchors/ipa-ca.crt", "-----BEGIN CERTIFICATE-----\n")
    )
    r.keep.append(W("etc/sysconfig/iptables", "*filter\nCOMMIT\n", 0o600))  # firewall-rules is off
    r.keep.append(W("var/kerberos/krb5kdc/principal", b"db"))  # kerberos-data is off
    r.identity.append(W("etc/smolt/uuid", "smolt-uuid\n"))
    W("etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n")
    make_dir(root, "etc/selinux/targeted/policy")
    # dracut, host-only by the distribution's own default; fake tools that leave a trace
    W("usr/lib/dracut/dracut.conf.d/01-dist.conf", 'hostonly="yes"\n')
    W("usr/bin/dracut", '#!/bin/sh\necho "$@" > /boot/dracut-ran\n', 0o755)
    W("usr/bin/update-ca-trust", '#!/bin/sh\necho "$@" > /etc/pki/ca-trust/updated\n', 0o755)


def add_suse(r: DirtyRoot, W: Writer) -> None:
    """openSUSE / SLES layout: sysconfig/network ifcfg, SCC registration, zypper, wicked."""
    root = r.path
    W("usr/lib/os-release", 'NAME="SLES"\nID="sles"\nID_LIKE="suse"\nVERSION_ID="15.6"\n')
    os.remove(os.path.join(root, "etc/debian_version"))
    W(
        "etc/sysconfig/network/ifcfg-eth0",
        "BOOTPROTO='dhcp'\nSTARTMODE='auto'\nLLADDR='52:54:00:aa:bb:cc'\n",
    )
    r.changed["etc/sysconfig/network/ifcfg-eth0"] = "52:54:00:aa:bb:cc"
    r.identity.append(
        W("etc/zypp/credentials.d/SCCcredentials", "username=SCC_abc\npassword=def\n", 0o600)
    )
    r.identity.append(W("etc/SUSEConnect", "---\nurl: https://scc.suse.com\n", 0o600))
    r.identity.append(
        W(
            "etc/zypp/services.d/SUSE_Linux_Enterprise_Server_15_SP6_x86_64.service",
            "[SLES]\nurl=https://updates.suse.com/\n",
        )
    )
    r.keep.append(W("etc/zypp/zypp.conf", "[main]\n"))
    r.identity.append(W("var/cache/zypp/packages/repo-oss/x86_64/foo-1.0.rpm", b"\xed\xab\xee\xdb"))
    r.identity.append(W("var/lib/wicked/lease-eth0-dhcp-ipv4.xml", "<lease/>\n"))
    r.identity.append(W("var/lib/wicked/duid.xml", "<duid/>\n"))
    r.identity.append(W("var/log/zypper.log", "zypper\n"))


def add_arch(r: DirtyRoot, W: Writer) -> None:
    """Arch layout: pacman cache, mkinitcpio with autodetect, zsh's default history file."""
    root = r.path
    W("usr/lib/os-release", 'NAME="Arch Linux"\nID=arch\n')
    os.remove(os.path.join(root, "etc/debian_version"))
    r.identity.append(W("var/cache/pacman/pkg/foo-1.0-1-x86_64.pkg.tar.zst", b"\x28\xb5\x2f\xfd"))
    r.identity.append(W("var/log/pacman.log", "[ALPM] installed foo\n"))
    r.identity.append(
        W(
            "home/alice/.histfile",
            ": 1700000000:0;ls\n",
            0o600,
            r.users.get("alice", 1000),
            r.users.get("alice", 1000),
        )
    )
    W(
        "etc/mkinitcpio.conf",
        "MODULES=()\nHOOKS=(base udev autodetect microcode modconf block filesystems fsck)\n",
    )
    r.keep.append("etc/mkinitcpio.conf")  # the image's own hooks stay; a drop-in overrides them
    W("usr/bin/mkinitcpio", '#!/bin/sh\necho "$@" > /boot/mkinitcpio-ran\n', 0o755)
