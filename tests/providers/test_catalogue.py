"""The catalogue as a whole: virt-sysprep's names and defaults, phases, tags, listing,
selection, and the whole default set on every flavour of the fixture."""

from __future__ import annotations

import json
import os

import pytest

from sysprep.passes.prepare import make_plan
from sysprep.providers.base import ACTIVATION, HARDWARE, Phase
from sysprep.providers.registry import Registry
from sysprep.providers.registry import builtin as all_builtin
from sysprep.request import Request, Selection, TargetKind, TargetSpec
from sysprep.testing.dirty_root import FLAVOURS
from tests.conftest import snapshot
from tests.contract import parse

# virt-sysprep's operations and their defaults (guestfs-tools, sysprep/sysprep_operation_*.ml;
# fs-uuids and lvm-uuids act on the devices of a disk image and are skipped on other targets).
VIRT_SYSPREP = {
    "fs-uuids": False,
    "lvm-uuids": True,
    "abrt-data": True,
    "backup-files": True,
    "bash-history": True,
    "blkid-tab": True,
    "ca-certificates": False,
    "crash-data": True,
    "cron-spool": True,
    "dhcp-client-state": True,
    "dhcp-server-state": True,
    "dovecot-data": True,
    "firewall-rules": False,
    "flag-reconfiguration": False,
    "ipa-client": True,
    "kerberos-data": False,
    "kerberos-hostkeytab": True,
    "logfiles": True,
    "lvm-system-devices": True,
    "machine-id": True,
    "mail-spool": True,
    "net-hostname": True,
    "net-hwaddr": True,
    "net-nmconn": True,
    "pacct-log": True,
    "package-manager-cache": True,
    "pam-data": True,
    "passwd-backups": True,
    "puppet-data-log": True,
    "rh-subscription-manager": True,
    "rhn-systemid": True,
    "rpm-db": True,
    "samba-db-log": True,
    "script": True,
    "smolt-uuid": True,
    "ssh-hostkeys": True,
    "ssh-userdir": True,
    "sssd-db-log": True,
    "tmp-files": True,
    "udev-persistent-net": True,
    "user-account": False,
    "utmp": True,
    "yum-uuid": True,
    "zsh-history": True,
}
ADDITIONS = {
    "random-seed",
    "credential-secret",
    "cloud-init",
    "shell-history",
    "ssh-known-hosts",
    "azure-agent",
    "google-guest-agent",
    "amazon-ssm-agent",
    "net-leases",
    "nm-secret-key",
    "container-ids",
    "journal",
    "coredumps",
    "hostname",
    "editor-backups",
    "user-caches",
    "snapd-serial",
    "tailscale",
    "salt-minion",
    "chef-client",
    "puppet-certs",
    "wazuh-agent",
    "kubelet-pki",
    "resolv-conf",
    "selinux-relabel",
    "initramfs",
    "suse-registration",
    "ubuntu-pro",
    "rh-insights",
    "swap",
}
# acting on disk images only (tested on real images: tests/integration/test_images.py)
IMAGE_PROVIDERS = {"fs-uuids", "lvm-uuids", "swap"}
HARDWARE_PROVIDERS = {"udev-persistent-net", "net-hwaddr", "initramfs"}
ACTIVATION_PROVIDERS = {
    "rh-subscription-manager",
    "rhn-systemid",
    "suse-registration",
    "ubuntu-pro",
    "rh-insights",
}


def builtin():
    """The generalize catalogue: built-ins of the cleanup and generalize phases (the
    specialize phase's providers run at boot: tests/passes/test_boot.py)."""
    return [p for p in all_builtin() if p.phase is not Phase.SPECIALIZE]


def by_name():
    return {p.name: p for p in builtin()}


def test_every_virt_sysprep_operation_with_its_default():
    found = by_name()
    for name, default in VIRT_SYSPREP.items():
        assert name in found, name
        assert found[name].default is default, name


def test_the_additions_are_there_and_on_by_default():
    found = by_name()
    assert set(found) >= ADDITIONS
    assert all(found[n].default for n in ADDITIONS)
    assert set(found) == set(VIRT_SYSPREP) | ADDITIONS


def test_tags_group_hardware_and_activation():
    found = by_name()
    assert {n for n, p in found.items() if HARDWARE in p.tags} == HARDWARE_PROVIDERS
    assert {n for n, p in found.items() if ACTIVATION in p.tags} == ACTIVATION_PROVIDERS


def test_every_provider_documents_itself():
    """What `providers show` and the man page print: a heading without a final period (the
    registry rule of virt-sysprep), a description of whole sentences of its own (not the
    heading again, not another provider's), and the paths it acts on."""
    seen: dict[str, str] = {}
    for p in builtin():
        assert p.phase in (Phase.CLEANUP, Phase.GENERALIZE)
        assert p.paths, p.name
        assert p.heading[:1].isupper() and not p.heading.endswith("."), p.name
        text = p.description.strip()
        assert text[:1].isupper() and text.endswith((".", ")")), p.name
        assert p.heading.lower() not in text.lower(), p.name
        assert seen.setdefault(text, p.name) == p.name, (
            f"{p.name} repeats {seen[text]}'s description"
        )


def test_safe_providers_are_cleanup_identities_are_generalize():
    found = by_name()
    for n in (
        "tmp-files",
        "logfiles",
        "package-manager-cache",
        "crash-data",
        "coredumps",
        "user-caches",
        "bash-history",
        "backup-files",
    ):
        assert found[n].phase is Phase.CLEANUP, n
    for n in (
        "machine-id",
        "ssh-hostkeys",
        "net-hwaddr",
        "user-account",
        "cron-spool",
        "nm-secret-key",
        "rh-subscription-manager",
        "hostname",
        "initramfs",
    ):
        assert found[n].phase is Phase.GENERALIZE, n


def test_list_operations_prints_name_star_heading_in_80_columns(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = run("--list-operations")
    assert r.code == 0
    lines = {line.split(" ", 1)[0]: line for line in r.out.splitlines()}
    for p in builtin():
        mark = "*" if p.default else " "
        full = f"{p.name} {mark} {p.heading}"
        # virt-sysprep's format, one line each; a heading too long for 80 columns is cut
        assert lines[p.name] == full if len(full) <= 80 else (lines[p.name] == full[:77] + "..."), (
            p.name
        )
    assert lines["user-account"].startswith("user-account   Remove")
    assert lines["machine-id"].startswith("machine-id * ")


def test_list_operations_includes_the_images_own_providers(dirty, run):
    d = f"{dirty.path}/etc/sysprep/providers.d/generalize"
    os.makedirs(d)
    with open(f"{d}/enroll", "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(f"{d}/enroll", 0o755)
    r = run("--list-operations", "--root", dirty.path)
    assert "x-enroll * Run the image's own generalize provider" in r.out


def test_providers_show_prints_description_paths_and_limits(run):
    r = run("providers", "show", "backup-files")
    assert r.code == 0
    assert "backup-files - Remove editor backup files from the guest" in r.out
    assert "phase:    cleanup" in r.out and "default:  on" in r.out
    assert "touches:\n  /etc/**/*.bak" in r.out
    assert "limits:\n  Container storage" in r.out
    j = parse(run("providers", "show", "initramfs", "--json").out, "provider")
    assert j["tags"] == ["hardware"] and j["phase"] == "generalize" and j["paths"]
    assert run("providers", "show", "no-such").code == 2


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ("defaults", {n for n, d in VIRT_SYSPREP.items() if d} | ADDITIONS),
        ("all", set(VIRT_SYSPREP) | ADDITIONS),
        (
            "defaults,-logfiles,-ssh-userdir,user-account",
            ({n for n, d in VIRT_SYSPREP.items() if d} | ADDITIONS | {"user-account"})
            - {"logfiles", "ssh-userdir"},
        ),
        ("all,-defaults", {n for n, d in VIRT_SYSPREP.items() if not d}),
    ],
)
def test_operations_set_arithmetic(ops, expected):
    reg = Registry(list(builtin()))
    chosen = reg.select(Selection(operations=tuple(ops.split(","))), tuple(Phase))
    assert {p.name for p in chosen} == expected


def _request(root: str, **kw) -> Request:
    return Request(generalize=True, target=TargetSpec(TargetKind.ROOT, root=root), **kw)


def test_devices_persisted_skips_the_hardware_providers(dirty, run):
    r = run("--generalize", "--mode", "vm", "--root", dirty.path, "--json", "--dry-run")
    report = parse(r.out, "report")
    skipped = {p["name"] for p in report["providers"] if p["status"] == "skipped"}
    # (and the disk-image providers on by default: this target is a directory)
    assert skipped == HARDWARE_PROVIDERS | {"lvm-uuids", "swap"}
    assert not any(rec["provider"] in HARDWARE_PROVIDERS for rec in report["plan"])
    real = run("--generalize", "--mode", "vm", "--root", dirty.path)
    assert real.code == 0, real.err
    assert os.path.exists(f"{dirty.path}/etc/udev/rules.d/70-persistent-net.rules")
    assert "hwaddress" in open(f"{dirty.path}/etc/network/interfaces").read()
    assert not os.path.exists(f"{dirty.path}/etc/ssh/ssh_host_rsa_key")  # the rest ran


def test_skip_rearm_skips_the_activation_providers(flavoured):
    r = flavoured("fedora")
    from sysprep.target import open_target

    with open_target(TargetSpec(TargetKind.ROOT, root=r.path), dry_run=True) as target:
        plan = make_plan(_request(r.path), target, Registry.load(), {"skip_rearm": True})
    assert {p.name for p, _ in plan.skipped} - IMAGE_PROVIDERS == ACTIVATION_PROVIDERS
    assert not ACTIVATION_PROVIDERS & {p.name for p in plan.providers}


def test_an_option_for_a_provider_that_does_not_run_is_refused(dirty, run):
    before = snapshot(dirty.path)
    r = run("--generalize", "--root", dirty.path, "--keep-user-accounts", "alice")
    assert r.code == 2 and "user-account" in r.err and "--enable user-account" in r.err
    r = run(
        "--oobe", "--root", dirty.path, "--enable", "user-account", "--remove-user-accounts", "bob"
    )
    assert r.code == 2 and "only with --generalize" in r.err
    assert snapshot(dirty.path) == before
    ok = run(
        "--generalize",
        "--root",
        dirty.path,
        "--enable",
        "user-account",
        "--keep-user-accounts",
        "alice",
        "--dry-run",
    )
    assert ok.code == 0, ok.err


def test_oobe_alone_runs_the_cleanup_phase_only(flavoured, run):
    r = flavoured("fedora")
    res = run("--oobe", "--root", r.path, "--json")
    assert res.code == 0, res.err
    ran = {p["name"] for p in parse(res.out, "report")["providers"]}
    assert ran == {p.name for p in builtin() if p.default and p.phase is Phase.CLEANUP} | {
        "boot-passes"
    }
    assert not os.path.exists(f"{r.path}/tmp/build.sh")  # cleanup
    assert os.path.exists(f"{r.path}/etc/ssh/ssh_host_rsa_key")  # identity kept
    assert os.path.exists(f"{r.path}/etc/pki/consumer/cert.pem")  # never rearmed by /oobe alone
    assert open(f"{r.path}/etc/hostname").read().strip() == r.hostname


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_generalize_with_defaults_on_every_flavour(flavour, flavoured, run):
    r = flavoured(flavour)
    before = snapshot(r.path)
    plan = run("--generalize", "--oobe", "--root", r.path, "--json", "--dry-run")
    assert plan.code == 0, plan.err
    assert snapshot(r.path) == before
    res = run("--generalize", "--oobe", "--root", r.path, "--quiet")
    assert res.code == 0, res.err
    with open(f"{r.path}/var/lib/sysprep/panther/actions.jsonl") as f:
        record = [json.loads(line) for line in f]
    # the record in the image names the template's identity <machine-id>... (the plan, on the
    # host, has the exact paths)
    planned = json.dumps(parse(plan.out, "report")["plan"]).replace(r.machine_id, "<machine-id>")
    assert json.loads(planned) == [rec for rec in record if "provider" in rec]
    assert r.machine_id not in json.dumps(record)
    p = lambda rel: os.path.join(r.path, rel)
    assert [x for x in r.identity if os.path.lexists(p(x))] == []
    assert [x for x in r.keep if not os.path.lexists(p(x))] == []
    for rel, value in r.changed.items():
        assert value not in open(p(rel), errors="replace").read(), rel
    for rel in r.emptied:
        assert os.path.getsize(p(rel)) == 0, rel
    assert open(p("etc/machine-id")).read() == "uninitialized\n"
    # a second run finds nothing left to do, but the empty pacct that logfiles removes again
    # (it empties every folder of /var/log) and pacct-log recreates, as virt-sysprep does
    again = run("--generalize", "--oobe", "--root", r.path, "--json", "--dry-run")
    plan = parse(again.out, "report")["plan"]
    churn = [
        (rec["provider"], rec["op"], rec["path"], rec.get("files"))
        for rec in plan
        if rec["provider"] != "boot-passes"
    ]  # sysprep reinstalls itself on every run
    assert churn == [
        ("logfiles", "clean", "/var/log", 1),
        ("pacct-log", "write", "/var/log/account/pacct", None),
    ]
