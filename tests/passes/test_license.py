"""`sysprep license`: no activation on Linux, and only registrations that really exist."""

from __future__ import annotations

import json

from sysprep.testing.dirty_root import build, write_file

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UBUNTU = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n'


def plain_root(root: str, os_release: str = DEBIAN) -> str:
    write_file(root, "etc/os-release", os_release)
    write_file(root, "etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n")
    write_file(
        root,
        "etc/apt/sources.list.d/backports.list",
        "deb http://deb.debian.org/debian bookworm-backports main\n",
    )
    return root


def registrations(run, root: str) -> list[dict[str, object]]:
    r = run("license", "--root", root, "--json")
    assert r.code == 0, r.err
    return list(json.loads(r.out)["registrations"])


def test_plain_debian_has_no_activation_and_no_registration(tmp_path, run):
    root = plain_root(str(tmp_path / "root"))
    r = run("license", "--root", root)
    assert r.code == 0, r.err
    assert "Activation:          none (Linux has no product activation" in r.out
    assert "Registrations found: none" in r.out
    assert "Retail" not in r.out and "Ubuntu Pro" not in r.out and "ubuntu-pro" not in r.out
    assert "Rearms counted:      0" in r.out


def test_an_apt_source_with_a_suite_name_is_not_an_ubuntu_pro_registration(tmp_path, run):
    root = plain_root(str(tmp_path / "root"), UBUNTU)
    write_file(
        root,
        "etc/apt/sources.list.d/ubuntu.sources",
        "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\n"
        "Suites: jammy jammy-updates jammy-backports\n",
    )
    # the Pro client installed but not attached: its configuration and an unattached status
    write_file(
        root,
        "etc/ubuntu-advantage/uaclient.conf",
        "contract_url: https://contracts.canonical.com\n",
    )
    write_file(root, "var/lib/ubuntu-advantage/status.json", '{"attached": false}\n')
    assert registrations(run, root) == []


def test_a_real_ubuntu_pro_attachment_is_reported(tmp_path, run):
    root = plain_root(str(tmp_path / "root"), UBUNTU)
    write_file(
        root,
        "var/lib/ubuntu-advantage/private/machine-token.json",
        '{"machineToken": "token"}',
        0o600,
    )
    write_file(
        root,
        "etc/apt/auth.conf.d/90ubuntu-advantage",
        "machine esm.ubuntu.com/apps/ubuntu/ login bearer password token\n",
        0o600,
    )
    found = registrations(run, root)
    assert [(r["provider"], r["files"]) for r in found] == [
        (
            "ubuntu-pro",
            [
                "/etc/apt/auth.conf.d/90ubuntu-advantage",
                "/var/lib/ubuntu-advantage/private/machine-token.json",
            ],
        )
    ]


def test_a_red_hat_subscription_is_reported_by_its_consumer_certificate(tmp_path, run):
    root = build(str(tmp_path / "root"), flavour="fedora").path
    found = {r["provider"]: r["files"] for r in registrations(run, root)}
    assert found["rh-subscription-manager"][:2] == [
        "/etc/pki/consumer/cert.pem",
        "/etc/pki/consumer/key.pem",
    ]
    assert found["rhn-systemid"] == ["/etc/sysconfig/rhn/systemid"]
