"""Every built-in provider, alone, on the fixture root: what it removes, what it leaves.

One case per provider (a test fails when a provider has none): the paths it must remove or
empty or rewrite (positive), the look-alikes it must leave (negative). Each case also runs
the provider as a dry run first: the tree must not change, and the dry run must record
exactly what the real run then does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import pytest

from sysprep.providers.base import IMAGE, Phase
from sysprep.providers.registry import builtin
from tests.conftest import snapshot
from tests.providers.conftest import apply


@dataclass(frozen=True)
class Case:
    flavour: str = "debian"
    gone: tuple[str, ...] = ()  # must not exist afterwards
    kept: tuple[str, ...] = ()  # must still exist (look-alikes, folders kept)
    changed: tuple[tuple[str, str], ...] = ()  # must exist without this text
    emptied: tuple[str, ...] = ()  # must exist, empty
    created: tuple[str, ...] = ()  # must exist afterwards (and not before)
    setup: Callable[[str], None] | None = None
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)


def put(rel: str, data: str = "x\n", mode: int = 0o644) -> Callable[[str], None]:
    def write(root: str) -> None:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
        os.chmod(path, mode)

    return write


def link(rel: str, target: str) -> Callable[[str], None]:
    def make(root: str) -> None:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    return make


def mkdir(rel: str) -> Callable[[str], None]:
    return lambda root: os.makedirs(os.path.join(root, rel), exist_ok=True)


def steps(*fns: Callable[[str], None]) -> Callable[[str], None]:
    def run(root: str) -> None:
        for fn in fns:
            fn(root)

    return run


MACHINE = "HOST"  # placeholder: replaced by the fixture's host name
NM = "etc/NetworkManager/system-connections/Wired connection 1.nmconnection"
MAC = "52:54:00:12:34:56"

CASES: dict[str, Case] = {
    "abrt-data": Case(
        "fedora",
        gone=("var/spool/abrt/ccpp-2024-01-01-10:00:00-1234",),
        kept=("var/spool/abrt", "var/spool/cron/alice"),
    ),
    "amazon-ssm-agent": Case(
        gone=("var/lib/amazon/ssm/registration",), kept=("var/lib/amazon/ssm",)
    ),
    "azure-agent": Case(
        gone=("var/lib/waagent/ovf-env.xml", "var/log/azure/ext.log"),
        kept=("var/lib/waagent", "var/log/azure"),
        setup=put("var/log/azure/ext.log"),
    ),
    "backup-files": Case(
        gone=(
            "etc/default/grub.bak",
            "var/www/html/index.html~",
            "etc/udev/rules.d/70-persistent-net.rules.bak",
            "root/.profile~",
            "srv/x.bak",
        ),
        kept=(
            "var/lib/docker/volumes/data/_data/dump.bak",
            "home/alice/notes.txt~",
            "opt/app/config.yml.bak",
            "etc/ssh/sshd_config",
            "etc/default/grub.bak.d",
        ),
        setup=steps(put("root/.profile~"), put("srv/x.bak"), mkdir("etc/default/grub.bak.d")),
    ),
    "bash-history": Case(
        gone=("root/.bash_history", "home/alice/.bash_history", "home/bob/.bash_history"),
        kept=("home/alice/.bashrc", "home/alice/project/history.txt"),
    ),
    "blkid-tab": Case(
        gone=("run/blkid/blkid.tab",),
        kept=("etc/blkid/blkid.tab", "run/blkid"),
        setup=link("etc/blkid/blkid.tab", "/run/blkid/other.tab"),
    ),
    "ca-certificates": Case(
        "fedora",
        gone=("etc/pki/tls/certs/server.crt", "etc/pki/tls/private/server.key"),
        kept=("etc/pki/tls/certs/ca-bundle.crt", "etc/ssl/certs/ca-certificates.crt"),
        created=("etc/pki/ca-trust/updated",),
        setup=steps(put("etc/pki/tls/certs/server.crt"), put("etc/pki/tls/private/server.key")),
    ),
    "chef-client": Case(
        gone=("etc/chef/client.pem",), kept=("etc/chef/validation.pem", "etc/chef/client.rb")
    ),
    "cloud-init": Case(
        gone=(
            "var/lib/cloud/instances",
            "var/lib/cloud/seed",
            "var/lib/cloud/data",
            "etc/netplan/50-cloud-init.yaml",
            "etc/ssh/sshd_config.d/50-cloud-init.conf",
            "var/log/cloud-init.log",
            "var/log/cloud-init-output.log",
        ),
        kept=(
            "var/lib/cloud",
            "etc/cloud/cloud.cfg",
            "etc/ssh/sshd_config.d/10-local.conf",
            "etc/netplan/01-netcfg.yaml",
        ),
    ),
    "container-ids": Case(
        gone=(
            "etc/docker/key.json",
            "var/lib/docker/engine-id",
            "var/lib/docker/swarm",
            "var/lib/containerd/io.containerd.grpc.v1.introspection/uuid",
            "var/lib/cni/networks/podman",
        ),
        kept=(
            "var/lib/docker/image/overlay2/repositories.json",
            "var/lib/docker/volumes/data/_data/dump.bak",
        ),
    ),
    "coredumps": Case(
        gone=("var/lib/systemd/coredump/core.foo.0.zst",), kept=("var/lib/systemd/coredump",)
    ),
    "crash-data": Case(gone=("var/crash/_usr_bin_foo.0.crash",), kept=("var/crash",)),
    "credential-secret": Case(
        gone=("var/lib/systemd/credential.secret",), kept=("var/lib/systemd/random-seed",)
    ),
    "cron-spool": Case(
        gone=("var/spool/cron/crontabs/alice", "var/spool/cron/atjobs/a0001a01b2c3d4"),
        kept=("var/spool/cron/crontabs", "var/spool/cron/atspool", "etc/crontab"),
        changed=(("var/spool/cron/atjobs/.SEQ", "0001b"),),
        setup=put("etc/crontab"),
    ),
    "dhcp-client-state": Case(
        gone=("var/lib/dhcp/dhclient.enp1s0.leases",),
        kept=("var/lib/dhcp", "var/lib/NetworkManager/internal-6c2f-enp1s0.lease"),
    ),
    "dhcp-server-state": Case(
        "fedora",
        gone=("var/lib/dhcpd/dhcpd.leases",),
        kept=("var/lib/dhcpd", "var/lib/dhclient/dhclient--eth0.lease"),
    ),
    "dovecot-data": Case(
        gone=("var/lib/dovecot/instances",),
        kept=("var/lib/dovecot/sub",),
        setup=mkdir("var/lib/dovecot/sub"),
    ),
    "editor-backups": Case(
        gone=(
            "home/alice/notes.txt~",
            "home/alice/project/.main.c.swp",
            "home/alice/project/#draft.txt#",
            "opt/app/config.yml.bak",
            "usr/local/etc/tool.conf~",
            "root/.vimrc.swp~",
        ),
        kept=(
            "home/alice/notes.txt",
            "home/alice/project/main.c",
            "home/alice/project/.git/packed-refs~",
            "usr/local/etc/tool.conf",
            "opt/app/config.yml",
            "var/www/html/index.html~",
        ),
        setup=put("root/.vimrc.swp~"),
    ),
    "firewall-rules": Case(
        "fedora",
        gone=("etc/sysconfig/iptables", "etc/firewalld/zones/public.xml"),
        kept=("etc/firewalld/firewalld.conf", "etc/firewalld/zones/sub"),
        setup=steps(
            put("etc/firewalld/zones/public.xml"),
            put("etc/firewalld/firewalld.conf"),
            mkdir("etc/firewalld/zones/sub"),
        ),
    ),
    "flag-reconfiguration": Case(created=(".unconfigured",)),
    "google-guest-agent": Case(
        gone=("etc/instance_id", "var/lib/google/x"),
        kept=("var/lib/google",),
        setup=steps(
            put("usr/bin/google_guest_agent", mode=0o755),
            put("etc/instance_id", "1234\n"),
            put("var/lib/google/x"),
        ),
    ),
    "hostname": Case(
        changed=(
            ("etc/hostname", MACHINE),
            ("etc/hosts", MACHINE),
            ("etc/machine-info", "Build box"),
        )
    ),
    "initramfs": Case(
        "fedora",
        created=("etc/dracut.conf.d/zz-sysprep-generic.conf", "boot/dracut-ran"),
        kept=("usr/lib/dracut/dracut.conf.d/01-dist.conf",),
    ),
    "ipa-client": Case(
        "fedora",
        gone=(
            "etc/ipa/default.conf",
            "etc/ipa/ca.crt",
            "etc/pki/ca-trust/source/anchors/ipa-ca.crt",
        ),
        kept=("etc/krb5.conf", "etc/pki/tls/certs/ca-bundle.crt"),
        created=("etc/pki/ca-trust/updated",),
    ),
    "journal": Case(
        gone=("var/log/journal/MACHINE-ID",), kept=("var/log/journal", "var/log/syslog")
    ),
    "kerberos-data": Case(
        "fedora",
        gone=("var/kerberos/krb5kdc/principal",),
        kept=("var/kerberos/krb5kdc/kdc.conf", "var/kerberos/krb5kdc/kadm5.acl"),
        setup=steps(put("var/kerberos/krb5kdc/kdc.conf"), put("var/kerberos/krb5kdc/kadm5.acl")),
    ),
    "kerberos-hostkeytab": Case(gone=("etc/krb5.keytab",), kept=("etc/krb5.conf",)),
    "kubelet-pki": Case(
        gone=("var/lib/kubelet/pki/kubelet-client-current.pem", "etc/kubernetes/kubelet.conf"),
        kept=("var/lib/kubelet/pki", "etc/kubernetes/bootstrap-kubelet.conf"),
    ),
    "logfiles": Case(
        gone=(
            "var/log/syslog",
            "var/log/syslog.2.gz",
            "var/log/apt/history.log",
            "var/lib/logrotate/status",
            "var/log/nginx/access.log",
            "var/log/private/app/state.log",
            "var/log/installer/syslog",
        ),
        kept=("var/log/nginx", "var/log/apt", "var/log/private/app", "etc/logrotate.conf"),
        setup=put("etc/logrotate.conf"),
    ),
    "lvm-system-devices": Case(
        gone=("etc/lvm/devices/system.devices",), kept=("etc/lvm/lvm.conf", "etc/lvm/devices")
    ),
    "machine-id": Case(
        gone=("var/lib/dbus/machine-id",), changed=(("etc/machine-id", "MACHINE-ID"),)
    ),
    "mail-spool": Case(gone=("var/mail/alice", "var/mail/bob"), kept=("var/mail",)),
    "net-hostname": Case(
        "fedora",
        changed=(("etc/sysconfig/network-scripts/ifcfg-eth0", MACHINE),),
        kept=("etc/hostname",),
    ),
    "net-hwaddr": Case(
        gone=("etc/systemd/network/10-lan.link",),
        changed=(
            ("etc/network/interfaces", MAC),
            ("etc/netplan/01-netcfg.yaml", MAC),
            ("etc/systemd/network/20-lan.network", MAC),
            (NM, MAC),
        ),
        kept=("etc/systemd/network/30-wlan.network",),
    ),
    "net-leases": Case(
        gone=("run/systemd/netif/leases/2", "var/lib/NetworkManager/internal-6c2f-enp1s0.lease"),
        kept=("var/lib/NetworkManager/secret_key", "var/lib/dhcp/dhclient.enp1s0.leases"),
    ),
    "net-nmconn": Case(
        gone=(NM,),
        kept=("etc/NetworkManager/NetworkManager.conf", "etc/NetworkManager/system-connections"),
    ),
    "nm-secret-key": Case(
        gone=(
            "var/lib/NetworkManager/secret_key",
            "var/lib/NetworkManager/internal-6c2f-enp1s0.lease",
        ),
        kept=("etc/NetworkManager/NetworkManager.conf", NM),
    ),
    "pacct-log": Case(gone=("var/log/account/pacct.0",), emptied=("var/log/account/pacct",)),
    "package-manager-cache": Case(
        gone=("var/cache/apt/archives/foo_1.0_amd64.deb", "var/cache/apt/pkgcache.bin"),
        kept=("var/cache/apt/archives/partial",),
    ),
    "pam-data": Case(gone=("run/faillock/alice",), kept=("run/faillock",)),
    "passwd-backups": Case(gone=("etc/passwd-", "etc/shadow-"), kept=("etc/passwd", "etc/shadow")),
    "puppet-certs": Case(
        gone=("etc/puppetlabs/puppet/ssl/certs",),
        kept=("etc/puppetlabs/puppet/puppet.conf", "etc/puppetlabs/puppet/ssl"),
    ),
    "puppet-data-log": Case(
        gone=("var/lib/puppet/state/last_run_summary.yaml", "var/log/puppet/puppet.log"),
        kept=("var/lib/puppet/state", "etc/puppet/puppet.conf"),
        setup=steps(
            put("var/lib/puppet/state/last_run_summary.yaml"),
            put("var/log/puppet/puppet.log"),
            put("etc/puppet/puppet.conf"),
        ),
    ),
    "random-seed": Case(
        gone=("var/lib/systemd/random-seed", "boot/efi/loader/random-seed"),
        kept=("var/lib/systemd/credential.secret", "boot/efi/loader"),
    ),
    "resolv-conf": Case(emptied=("etc/resolv.conf",)),
    "rh-insights": Case(
        "fedora", gone=("etc/insights-client/machine-id",), kept=("etc/insights-client",)
    ),
    "rh-subscription-manager": Case(
        "fedora",
        gone=(
            "etc/pki/consumer/cert.pem",
            "etc/pki/consumer/key.pem",
            "etc/pki/entitlement/1234.pem",
        ),
        kept=("etc/pki/consumer", "etc/pki/product-default/479.pem", "etc/rhsm/rhsm.conf"),
    ),
    "rhn-systemid": Case(
        "fedora", gone=("etc/sysconfig/rhn/systemid",), kept=("etc/sysconfig/rhn",)
    ),
    "rpm-db": Case("fedora", gone=("var/lib/rpm/__db.001",), kept=("var/lib/rpm/rpmdb.sqlite",)),
    "salt-minion": Case(
        gone=("etc/salt/pki/minion/minion.pem", "etc/salt/minion_id"), kept=("etc/salt/minion",)
    ),
    "samba-db-log": Case(
        gone=("var/lib/samba/private/secrets.tdb",),
        kept=("etc/samba/smb.conf", "var/lib/samba/private"),
    ),
    "script": Case(
        created=("etc/script-ran",),
        setup=put("../host-script.sh", "#!/bin/sh\ntouch etc/script-ran\n", 0o755),
        options={"script": ("HOST-SCRIPT",)},
    ),
    "selinux-relabel": Case("fedora", created=(".autorelabel",)),
    "shell-history": Case(
        gone=(
            "root/.mysql_history",
            "root/.wget-hsts",
            "root/.lesshst",
            "root/.viminfo",
            "home/alice/.psql_history",
            "home/alice/.python_history",
            "home/alice/.local/share/fish/fish_history",
            "home/alice/.local/state/lesshst",
        ),
        kept=(
            "home/alice/.config/fish/config.fish",
            "home/alice/.bashrc",
            "home/alice/project/history.txt",
            "home/alice/.bash_history",
        ),
    ),
    "smolt-uuid": Case("fedora", gone=("etc/smolt/uuid",), kept=("etc/smolt",)),
    "snapd-serial": Case(
        gone=("var/lib/snapd/device/private-keys-v1/Zq3x",),
        changed=(
            ("var/lib/snapd/state.json", "SERIAL-1234"),
            ("var/lib/snapd/state.json", "builder@example.org"),
        ),
    ),
    "ssh-hostkeys": Case(
        gone=("etc/ssh/ssh_host_rsa_key", "etc/ssh/ssh_host_ed25519_key.pub"),
        kept=("etc/ssh/sshd_config", "etc/ssh/ssh_config", "etc/ssh/sshd_config.d"),
    ),
    "ssh-known-hosts": Case(
        gone=("root/.ssh/known_hosts", "home/alice/.ssh/known_hosts"),
        kept=("home/alice/.ssh/authorized_keys", "root/.ssh"),
    ),
    "ssh-userdir": Case(
        gone=("root/.ssh", "home/alice/.ssh", "home/bob/.ssh"), kept=("home/alice/.bashrc",)
    ),
    "sssd-db-log": Case(gone=("var/lib/sss/db/cache_example.org.ldb",), kept=("var/lib/sss/db",)),
    "suse-registration": Case(
        "suse",
        gone=(
            "etc/zypp/credentials.d/SCCcredentials",
            "etc/SUSEConnect",
            "etc/zypp/services.d/SUSE_Linux_Enterprise_Server_15_SP6_x86_64.service",
        ),
        kept=("etc/zypp/zypp.conf", "etc/zypp/credentials.d"),
    ),
    "tailscale": Case(gone=("var/lib/tailscale/tailscaled.state",), kept=("var/lib/tailscale",)),
    "tmp-files": Case(
        gone=("tmp/build.sh", "tmp/.X11-unix", "var/tmp/systemd-private-x"), kept=("tmp", "var/tmp")
    ),
    "ubuntu-pro": Case(
        gone=(
            "var/lib/ubuntu-advantage/private/machine-token.json",
            "etc/apt/auth.conf.d/90ubuntu-advantage",
            "etc/apt/sources.list.d/ubuntu-esm-apps.sources",
        ),
        kept=("etc/apt/sources.list.d/extra.list", "var/lib/ubuntu-advantage/private"),
    ),
    "udev-persistent-net": Case(
        gone=("etc/udev/rules.d/70-persistent-net.rules",),
        kept=("etc/udev/rules.d/99-local.rules",),
    ),
    "user-account": Case(
        gone=("home/alice", "home/bob", "var/mail/alice"),
        changed=(("etc/passwd", "alice:"), ("etc/shadow", "bob:"), ("etc/group", "alice:")),
        kept=("root/.bashrc", "home"),
    ),
    "user-caches": Case(
        gone=("home/alice/.cache/pip",), kept=("home/alice/.cache", "home/alice/.bashrc")
    ),
    "utmp": Case(gone=("run/utmp",), kept=("run", "var/run")),
    "wazuh-agent": Case(emptied=("var/ossec/etc/client.keys",), kept=("var/ossec/etc/ossec.conf",)),
    "yum-uuid": Case("fedora", gone=("var/lib/yum/uuid",), kept=("var/lib/yum",)),
    "zsh-history": Case(
        gone=("home/alice/.zsh_history", "home/bob/.zsh_history"), kept=("home/alice/.bashrc",)
    ),
}


def test_every_built_in_provider_has_a_case():
    """Each provider of the generalize catalogue (the specialize phase's are tested at boot,
    the disk-image providers on real images in tests/integration/test_images.py)."""
    assert sorted(
        p.name for p in builtin() if p.phase is not Phase.SPECIALIZE and IMAGE not in p.tags
    ) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_provider_alone_on_the_fixture(name, flavoured, tmp_path):
    case = CASES[name]
    r = flavoured(case.flavour)
    root = r.path
    if case.setup:
        case.setup(root)

    def real(rel: str) -> str:
        rel = rel.replace("MACHINE-ID", r.machine_id)
        return os.path.join(root, rel)

    def text(rel: str) -> str:
        return rel.replace(MACHINE, r.hostname).replace("MACHINE-ID", r.machine_id)

    options = {
        k: tuple(
            os.path.join(root, "..", "host-script.sh") if v == "HOST-SCRIPT" else v for v in vs
        )
        for k, vs in case.options.items()
    }
    for rel in (*case.gone, *case.kept, *(c for c, _ in case.changed), *case.emptied):
        assert os.path.lexists(real(rel)), f"the fixture lacks {rel}"
    for rel in case.created:
        assert not os.path.lexists(real(rel))

    before = snapshot(root)
    plan = apply(root, name, dry_run=True, options=options)
    assert snapshot(root) == before, "a dry run changed the tree"
    done = apply(root, name, options=options)
    assert not done.errors
    assert done.records, f"{name} did nothing on the fixture"
    assert plan.records == done.records, "the dry run did not plan exactly what the run did"

    for rel in case.gone:
        assert not os.path.lexists(real(rel)), f"{rel} survived"
    for rel in case.kept:
        assert os.path.lexists(real(rel)), f"{rel} was removed"
    for rel, value in case.changed:
        with open(real(rel), errors="replace") as f:
            assert text(value) not in f.read(), f"{rel} still holds {text(value)}"
    for rel in case.emptied:
        assert os.path.isfile(real(rel)) and os.path.getsize(real(rel)) == 0, f"{rel} not emptied"
    for rel in case.created:
        assert os.path.lexists(real(rel)), f"{rel} was not created"
