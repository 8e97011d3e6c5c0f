"""Network configuration: MAC addresses in every format, host names, resolv.conf, leases."""

from __future__ import annotations

import os
import stat

from sysprep.providers.builtin.hostname import forget_in_hosts
from sysprep.providers.builtin.net_hwaddr import edit_keyfile, edit_netplan, edit_networkd
from tests.providers.conftest import apply

MAC = "52:54:00:12:34:56"


def test_netplan_match_by_mac_goes_with_its_set_name():
    before = (
        "network:\n  version: 2\n  ethernets:\n    lan:\n      match:\n"
        f"        macaddress: {MAC}\n      set-name: lan\n      dhcp4: true\n"
    )
    assert (
        edit_netplan(before)
        == "network:\n  version: 2\n  ethernets:\n    lan:\n      dhcp4: true\n"
    )


def test_netplan_match_keeps_its_other_keys_and_set_name():
    before = (
        "network:\n  ethernets:\n    e:\n      match:\n        driver: virtio_net\n"
        f'        macaddress: "{MAC}"\n      set-name: e\n'
    )
    after = edit_netplan(before)
    assert MAC not in after and "driver: virtio_net" in after and "set-name: e" in after
    assert "match:" in after


def test_netplan_address_set_on_an_interface_goes_other_keys_stay():
    before = (
        f"network:\n  ethernets:\n    eth0:\n      macaddress: {MAC}\n      dhcp4: true\n"
        "    eth1:\n      dhcp4: false  # macaddress: in a comment stays\n"
    )
    after = edit_netplan(before)
    assert after == (
        "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n"
        "    eth1:\n      dhcp4: false  # macaddress: in a comment stays\n"
    )


def test_netplan_flow_style_match():
    before = f"network:\n  ethernets:\n    e:\n      match: {{macaddress: {MAC}}}\n      set-name: e\n      dhcp4: yes\n"
    assert edit_netplan(before) == "network:\n  ethernets:\n    e:\n      dhcp4: yes\n"
    kept = edit_netplan(
        f"    e:\n      match: {{name: en*, macaddress: {MAC}}}\n      set-name: e\n"
    )
    assert kept == "    e:\n      match: {name: en*}\n      set-name: e\n"


def test_netplan_without_mac_is_untouched():
    text = "network:\n  ethernets:\n    enp1s0:\n      match:\n        name: enp*\n      set-name: lan\n"
    assert edit_netplan(text) == text


def test_networkd_link_matched_only_by_mac_is_removed_network_matches_ethernet():
    assert edit_networkd(f"[Match]\nMACAddress={MAC}\n\n[Link]\nName=lan\n", "link") is None
    net = edit_networkd(f"[Match]\nMACAddress={MAC}\n\n[Network]\nDHCP=yes\n", "network")
    assert net == "[Match]\nType=ether\n\n[Network]\nDHCP=yes\n"


def test_networkd_keeps_other_match_keys_and_drops_set_addresses():
    link = edit_networkd(
        f"[Match]\nDriver=virtio_net\nPermanentMACAddress={MAC}\n\n[Link]\nName=lan\nMACAddress={MAC}\n",
        "link",
    )
    assert link == "[Match]\nDriver=virtio_net\n\n[Link]\nName=lan\n"
    netdev = f"[NetDev]\nName=br0\nKind=bridge\nMACAddress={MAC}\n"
    assert edit_networkd(netdev, "netdev") == "[NetDev]\nName=br0\nKind=bridge\n"
    plain = "[Match]\nName=en*\n\n[Network]\nDHCP=yes\n# MACAddress=in a comment\n"
    assert edit_networkd(plain, "network") == plain


def test_keyfile_drops_bound_and_literal_cloned_addresses_only():
    text = (
        f"[ethernet]\nmac-address={MAC}\ncloned-mac-address=stable\n"
        f"[wifi]\nmac-address={MAC.upper()}\ncloned-mac-address=02:00:00:00:00:01\nssid=home\n"
    )
    assert edit_keyfile(text) == "[ethernet]\ncloned-mac-address=stable\n[wifi]\nssid=home\n"


def test_net_hwaddr_on_red_hat_and_suse_keeps_the_rest_and_the_metadata(flavoured):
    for flavour, path, key in (
        ("fedora", "etc/sysconfig/network-scripts/ifcfg-eth0", "HWADDR="),
        ("suse", "etc/sysconfig/network/ifcfg-eth0", "LLADDR="),
    ):
        r = flavoured(flavour)
        p = os.path.join(r.path, path)
        os.chmod(p, 0o600)
        os.setxattr(p, "user.label", b"kept")
        apply(r.path, "net-hwaddr")
        text = open(p).read()
        assert key not in text and "BOOTPROTO" in text
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600 and os.getxattr(p, "user.label") == b"kept"


def test_net_hostname_removes_only_the_host_name_lines(flavoured):
    r = flavoured("fedora")
    apply(r.path, "net-hostname")
    text = open(f"{r.path}/etc/sysconfig/network-scripts/ifcfg-eth0").read()
    assert "HOSTNAME" not in text
    assert text.splitlines() == [
        "DEVICE=eth0",
        "BOOTPROTO=dhcp",
        "HWADDR=52:54:00:ab:cd:ef",
        "ONBOOT=yes",
    ]


def test_debian_interfaces_loses_hwaddress_only(dirty):
    apply(dirty.path, "net-hwaddr")
    assert open(f"{dirty.path}/etc/network/interfaces").read() == (
        "auto lo\niface lo inet loopback\nauto enp1s0\niface enp1s0 inet dhcp\n"
    )


def test_net_nmconn_removes_keyfiles_on_every_distribution_not_other_files(dirty):
    d = f"{dirty.path}/etc/NetworkManager/system-connections"
    open(f"{d}/notes.txt", "w").close()
    for name in ("Home Wi-Fi", "Home Wi-Fi~"):  # an older, extension-less keyfile and its backup
        with open(f"{d}/{name}", "w") as f:
            f.write("[connection]\nid=Home Wi-Fi\ntype=wifi\n[wifi-security]\npsk=secret\n")
    apply(dirty.path, "net-nmconn")
    assert sorted(os.listdir(d)) == ["Home Wi-Fi~", "notes.txt"]


def test_hosts_loses_the_old_name_on_loopback_lines_only():
    text = (
        "127.0.0.1 localhost\n127.0.1.1 build.example.org build # the template\n"
        "10.0.0.5 build-db build\n::1 localhost ip6-localhost build\n"
    )
    after = forget_in_hosts(text, {"build.example.org", "build"})
    assert after == ("127.0.0.1 localhost\n10.0.0.5 build-db build\n::1 localhost ip6-localhost\n")


def test_hostname_becomes_neutral_and_other_hosts_entries_stay(dirty):
    os.chmod(f"{dirty.path}/etc/hostname", 0o640)
    apply(dirty.path, "hostname")
    assert open(f"{dirty.path}/etc/hostname").read() == "localhost\n"
    assert stat.S_IMODE(os.stat(f"{dirty.path}/etc/hostname").st_mode) == 0o640
    assert open(f"{dirty.path}/etc/hosts").read() == "127.0.0.1 localhost\n10.1.1.1 fileserver\n"
    assert open(f"{dirty.path}/etc/machine-info").read() == "CHASSIS=vm\n"


def test_a_neutral_hostname_is_left_alone(dirty):
    with open(f"{dirty.path}/etc/hostname", "w") as f:
        f.write("localhost\n")
    os.remove(f"{dirty.path}/etc/machine-info")
    done = apply(dirty.path, "hostname")
    assert done.records == []


def test_resolv_conf_link_to_a_resolver_is_kept(dirty):
    os.remove(f"{dirty.path}/etc/resolv.conf")
    os.makedirs(f"{dirty.path}/run/systemd/resolve")
    with open(f"{dirty.path}/run/systemd/resolve/stub-resolv.conf", "w") as f:
        f.write("nameserver 127.0.0.53\n")
    os.symlink("../run/systemd/resolve/stub-resolv.conf", f"{dirty.path}/etc/resolv.conf")
    assert apply(dirty.path, "resolv-conf").records == []
    assert open(f"{dirty.path}/etc/resolv.conf").read() == "nameserver 127.0.0.53\n"


def test_resolv_conf_file_is_emptied_in_place(dirty):
    p = f"{dirty.path}/etc/resolv.conf"
    ino = os.stat(p).st_ino
    apply(dirty.path, "resolv-conf")
    assert os.stat(p).st_ino == ino and os.path.getsize(p) == 0


def test_leases_of_every_network_manager(flavoured):
    r = flavoured("suse")
    for rel in ("var/lib/dhcpcd/eth0.lease", "var/lib/dhcpcd/duid", "var/lib/dhcpcd/eth0.lease6"):
        os.makedirs(os.path.dirname(f"{r.path}/{rel}"), exist_ok=True)
        open(f"{r.path}/{rel}", "w").close()
    open(f"{r.path}/var/lib/dhcpcd/dhcpcd.conf.local", "w").close()
    apply(r.path, "net-leases")
    assert os.listdir(f"{r.path}/var/lib/dhcpcd") == ["dhcpcd.conf.local"]
    assert not os.path.exists(f"{r.path}/var/lib/wicked/lease-eth0-dhcp-ipv4.xml")
    assert not os.path.exists(f"{r.path}/var/lib/wicked/duid.xml")
    assert not os.listdir(f"{r.path}/run/systemd/netif/leases")


def test_net_hostname_in_every_format(dirty):
    root = dirty.path
    files = {
        "etc/network/interfaces.d/eth1": "iface eth1 inet dhcp\n    hostname build-7\n    metric 10\n",
        "etc/NetworkManager/system-connections/eth1.nmconnection": "[connection]\nid=eth1\n[ipv4]\nmethod=auto\ndhcp-hostname=build-7\n",
        "etc/systemd/network/40-eth1.network": "[Match]\nName=eth1\n[Network]\nDHCP=yes\n[DHCPv4]\nHostname=build-7\nUseDNS=no\n[Link]\nHostname=x\n",
        "etc/netplan/02-eth1.yaml": "network:\n  ethernets:\n    eth1:\n      dhcp4: true\n      dhcp4-overrides:\n"
        "        hostname: build-7\n        use-dns: false\n      hostname: kept\n",
    }
    for rel, text in files.items():
        os.makedirs(os.path.dirname(f"{root}/{rel}"), exist_ok=True)
        with open(f"{root}/{rel}", "w") as f:
            f.write(text)
    apply(root, "net-hostname")
    after = {rel: open(f"{root}/{rel}").read() for rel in files}
    assert after["etc/network/interfaces.d/eth1"] == "iface eth1 inet dhcp\n    metric 10\n"
    assert after["etc/NetworkManager/system-connections/eth1.nmconnection"].endswith(
        "method=auto\n"
    )
    assert after["etc/systemd/network/40-eth1.network"] == (
        "[Match]\nName=eth1\n[Network]\nDHCP=yes\n[DHCPv4]\nUseDNS=no\n[Link]\nHostname=x\n"
    )
    assert after["etc/netplan/02-eth1.yaml"] == (
        "network:\n  ethernets:\n    eth1:\n      dhcp4: true\n"
        "      dhcp4-overrides:\n        use-dns: false\n      hostname: kept\n"
    )


def test_a_hostname_that_is_not_a_regular_file_is_warned_about_not_skipped_silently(flavoured, run):
    r = flavoured()
    os.remove(f"{r.path}/etc/hostname")
    os.mkfifo(f"{r.path}/etc/hostname")
    done = run("--generalize", "--root", r.path, "--operations", "hostname")
    assert done.code == 0, done.err
    assert (
        "/etc/hostname is a named pipe (FIFO), not a regular file: its host name is not "
        "reset" in done.err
    )
    assert stat.S_ISFIFO(os.lstat(f"{r.path}/etc/hostname").st_mode)  # left as it was
    assert apply(r.path, "hostname").warnings == 1


def test_hosts_loses_the_template_fqdn_when_hostname_holds_the_short_name(dirty):
    with open(f"{dirty.path}/etc/hostname", "w") as f:
        f.write("tmpl-17\n")
    with open(f"{dirty.path}/etc/hosts", "w") as f:
        f.write(
            "127.0.0.1\tlocalhost\n127.0.1.1\ttmpl-17.example.org\ttmpl-17\n"
            "10.1.1.1 tmpl-17-db.example.org\n"
        )
    apply(dirty.path, "hostname")
    assert (
        open(f"{dirty.path}/etc/hosts").read()
        == "127.0.0.1\tlocalhost\n10.1.1.1 tmpl-17-db.example.org\n"
    )
