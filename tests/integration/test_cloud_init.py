"""cloud-init end to end: a Debian cloud image (NoCloud) booted once as an instance, generalized
with --image, then cloned with other NoCloud seeds; the clones boot two at a time."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from sysprep.testing import images
from tests.integration import cloud
from tests.integration.cloud import Boot, Seed, boot_all, probe_file
from tests.integration.conftest import in_root
from tests.integration.qemu import Mounted

pytestmark = pytest.mark.integration

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm2sXqQfW0b6Zz4mY0eF7qj3yJ8pGkQ2c1dV5xR9sTn ops@example"
TEMPLATE = Seed(
    "iid-template-7f3a",
    "tmpl-host-7f3a",
    user="builder",
    note="template",
    runcmd_marker="ran-template",
)
ALPHA = Seed(
    "iid-clone-alpha",
    "alpha",
    user="alice",
    ssh_key=KEY,
    note="clone alpha",
    runcmd_marker="ran-alpha",
)
BETA = Seed(
    "iid-clone-beta", "beta", user="bob", ssh_key=KEY, note="clone beta", runcmd_marker="ran-beta"
)
# no local-hostname: the answer file's ComputerName stays
GAMMA = Seed("iid-clone-gamma", None, user="carol", note="clone gamma", runcmd_marker="ran-gamma")
# a local-hostname and an answer file: the seed's wins
DELTA = Seed(
    "iid-clone-delta",
    "delta",
    user="dave",
    ssh_key=KEY,
    note="clone delta",
    runcmd_marker="ran-delta",
)
UNATTEND = """\
specialize:
  Linux-Shell-Setup:
    ComputerName: web-01
oobeSystem:
  Linux-Shell-Setup:
    UserAccounts:
      LocalAccounts:
        - Name: operator
          Password: {Value: 'Op-Secret-31', PlainText: true}
"""
# what outlives the instance in each of them (the folders a package never writes)
SEARCHED = ("etc", "var", "root", "home", "boot", "srv", "opt", "tmp", "usr/local")


def sysprep(*argv: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "sysprep", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def template_facts(image: str, where: str, boot: Boot) -> dict:
    with Mounted(image, where) as m:
        return {
            "status": probe_file(m, boot.probe, "status.txt"),
            "instances": sorted(os.listdir(f"{m}/var/lib/cloud/instances")),
            "log": open(f"{m}/var/log/cloud-init.log").read(),
            "machine_id": open(f"{m}/etc/machine-id").read().strip(),
            "keys": host_keys(m),
            "hostname": open(f"{m}/etc/hostname").read().strip(),
        }


def host_keys(m: str) -> dict[str, str]:
    """The public host keys by file name: their base64 bodies."""
    d = f"{m}/etc/ssh"
    return {
        n: open(f"{d}/{n}").read().split()[1]
        for n in sorted(os.listdir(d))
        if n.endswith("_key.pub")
    }


def cloned(
    ci: cloud.CloudImage, template_image: str, work: str, name: str, unattend: str = ""
) -> str:
    """The template's disk after its instance's shutdown, generalized with --image."""
    image = images.copy(template_image, os.path.join(work, f"{name}.img"))
    argv = ["--generalize", "--image", image]
    if unattend:
        path = os.path.join(work, f"{name}-unattend.yaml")
        with open(path, "w") as f:
            f.write(unattend)
        argv += ["--unattend", path]
    sysprep(*argv)
    return image


def make_template(suite: str, work: str) -> tuple[cloud.CloudImage, Boot, dict]:
    ci = cloud.build(suite, work)
    b = Boot(
        f"{suite}-template",
        ci.image,
        TEMPLATE.iso(os.path.join(work, "seed-template.iso")),
        ci.kernel,
        ci.initrd,
    )
    boot_all([b], work)
    return ci, b, template_facts(ci.image, os.path.join(work, "m"), b)


def clone_boot(ci: cloud.CloudImage, image: str, seed: Seed, work: str, name: str) -> Boot:
    copy = images.copy(image, os.path.join(work, f"{name}.img"))
    return Boot(name, copy, seed.iso(os.path.join(work, f"seed-{name}.iso")), ci.kernel, ci.initrd)


@pytest.fixture(scope="module")
def bookworm(tmp_path_factory):
    """The template's boot, its two generalized disks (without and with an answer file) and
    two clones of the first, booted at the same time."""
    work = str(tmp_path_factory.mktemp("cloud-bookworm"))
    ci, tb, facts = make_template("bookworm", work)
    plain = cloned(ci, ci.image, work, "generalized")
    answered = cloned(ci, ci.image, work, "generalized-answer", UNATTEND)
    os.remove(ci.image)
    pair = boot_all(
        [clone_boot(ci, plain, ALPHA, work, "alpha"), clone_boot(ci, plain, BETA, work, "beta")],
        work,
    )
    yield {
        "ci": ci,
        "work": work,
        "template": facts,
        "template_boot": tb,
        "answered": answered,
        "alpha": pair[0],
        "beta": pair[1],
    }
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def bookworm_second(bookworm):
    """A clone of the answer-file disk, and the second boot of clone alpha, at the same time."""
    b = bookworm
    gamma = clone_boot(b["ci"], b["answered"], GAMMA, b["work"], "gamma")
    again = Boot("alpha-again", b["alpha"].image, b["alpha"].seed, b["ci"].kernel, b["ci"].initrd)
    boot_all([gamma, again], b["work"])
    return {"gamma": gamma, "again": again}


def check_instance(m: str, boot: Boot, seed: Seed) -> None:
    """cloud-init saw a new instance, finished without an error or a warning, applied the
    seed's user-data."""
    status = probe_file(m, boot.probe, "status.txt")
    assert "status: done" in status and "exit=0" in status, status
    doc = json.loads(probe_file(m, boot.probe, "status.json"))
    assert doc["errors"] == [] and not doc.get("recoverable_errors"), doc
    log = open(f"{m}/var/log/cloud-init.log").read()
    problems = [
        ln for ln in log.splitlines() if "[WARNING]" in ln or "[ERROR]" in ln or "Traceback" in ln
    ]
    assert problems == [], problems
    assert sorted(os.listdir(f"{m}/var/lib/cloud/instances")) == [seed.instance_id]
    assert open(f"{m}/var/lib/cloud/data/instance-id").read().strip() == seed.instance_id
    passwd = {ln.split(":")[0]: ln.split(":") for ln in open(f"{m}/etc/passwd")}
    assert seed.user in passwd
    if seed.ssh_key:
        assert (
            open(f"{m}{passwd[seed.user][5]}/.ssh/authorized_keys")
            .read()
            .strip()
            .endswith(seed.ssh_key)
        )
    assert open(f"{m}/etc/clone-note").read() == seed.note + "\n"
    assert open(f"{m}/var/tmp/runcmd-marker").read() == seed.runcmd_marker + "\n"


def check_specialized(m: str, boot: Boot, template: dict, hostname: str) -> dict:
    """sysprep finished; the clone has its own identity, its host keys made once, by cloud-init
    (it runs in this boot: sysprep's specialize pass left them to it and made none)."""
    assert "IMAGE_STATE_COMPLETE" in open(f"{m}/var/lib/sysprep/state.ini").read()
    assert probe_file(m, boot.probe, "hostname").strip() == hostname
    assert open(f"{m}/etc/hostname").read().strip() == hostname
    machine_id = open(f"{m}/etc/machine-id").read().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", machine_id) and machine_id != template["machine_id"]
    keys = host_keys(m)
    assert keys and set(keys.values()).isdisjoint(template["keys"].values())
    journal = probe_file(m, boot.probe, "journal.txt")
    assert not re.findall(r"sysprep\[\d+\]: generated /etc/ssh/", journal)
    log = open(f"{m}/var/log/cloud-init.log").read()
    # one "Running command" record per key made (cloud-init 25, on trixie, also logs each
    # command's duration, and may write a record twice with the same time stamp)
    records = {
        line for line in log.splitlines() if "Running command ['ssh-keygen', '-t', '" in line
    }
    made = sorted(re.search(r"'ssh-keygen', '-t', '(\w+)'", line)[1] for line in records)
    assert made == sorted(re.fullmatch(r"ssh_host_(\w+)_key\.pub", k)[1] for k in keys), made
    assert "ordering cycle" not in journal.lower()
    assert not os.path.exists(f"{m}/etc/cloud/cloud.cfg.d/99-sysprep.cfg")
    return {"machine_id": machine_id, "keys": keys}


def assert_runtime_compiled_by_the_images_python(m: str) -> None:
    """The bundle carries bytecode of the image's own python3 (zipimport caches none: without
    it each boot stage compiles sysprep from source)."""
    magic = in_root(
        m, "python3", "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"
    ).stdout
    with zipfile.ZipFile(f"{m}/usr/lib/sysprep/sysprep.pyz") as z:
        assert z.read("sysprep/cli/__init__.pyc")[:4].hex() == magic.strip()
        assert "sysprep/passes/boot.pyc" in z.namelist()


def template_identity_left(m: str, template: dict, seed: Seed) -> list[str]:
    """The files of the clone that hold the template's instance-id, host name, machine-id or
    host keys."""
    needles = [
        seed.instance_id,
        seed.hostname or "",
        template["machine_id"],
        *template["keys"].values(),
    ]
    r = subprocess.run(
        [
            "grep",
            "-rlaF",
            *(a for n in needles if n for a in ("-e", n)),
            *(f"{m}/{d}" for d in SEARCHED if os.path.exists(f"{m}/{d}")),
        ],
        capture_output=True,
        text=True,
    )
    return r.stdout.split()


def test_the_template_is_a_real_cloud_init_instance(bookworm):
    """What the clones are compared with: an instance folder, host keys cloud-init made."""
    t = bookworm["template"]
    assert "status: done" in t["status"], t["status"]
    assert t["instances"] == [TEMPLATE.instance_id]
    assert t["hostname"] == TEMPLATE.hostname
    assert "'ssh-keygen', '-t', 'ed25519'" in t["log"]
    assert t["keys"] and re.fullmatch(r"[0-9a-f]{32}", t["machine_id"])


def test_two_clones_with_different_seeds_are_new_instances_with_their_own_identity(bookworm):
    b, mine = bookworm, {}
    for name, seed in (("alpha", ALPHA), ("beta", BETA)):
        boot = b[name]
        with Mounted(boot.image, os.path.join(b["work"], f"m-{name}")) as m:
            check_instance(m, boot, seed)
            assert_runtime_compiled_by_the_images_python(m)
            mine[name] = check_specialized(m, boot, b["template"], seed.hostname or "")
            assert template_identity_left(m, b["template"], TEMPLATE) == []
    assert mine["alpha"]["machine_id"] != mine["beta"]["machine_id"]
    assert set(mine["alpha"]["keys"].values()).isdisjoint(mine["beta"]["keys"].values())


def test_an_answer_files_computer_name_and_account_when_the_seed_names_no_host(
    bookworm_second, bookworm
):
    b, gamma = bookworm, bookworm_second["gamma"]
    with Mounted(gamma.image, os.path.join(b["work"], "m-gamma")) as m:
        check_instance(m, gamma, GAMMA)
        check_specialized(m, gamma, b["template"], "web-01")
        assert "operator" in {ln.split(":")[0] for ln in open(f"{m}/etc/passwd")}
        assert template_identity_left(m, b["template"], TEMPLATE) == []
        assert (
            subprocess.run(
                ["grep", "-rlaF", "Op-Secret-31", f"{m}/etc", f"{m}/var", f"{m}/root"],
                capture_output=True,
                text=True,
            ).stdout
            == ""
        )


def test_a_second_boot_of_a_clone_runs_neither_sysprep_nor_cloud_inits_per_instance_modules(
    bookworm_second, bookworm
):
    b, first, again = bookworm, bookworm["alpha"], bookworm_second["again"]
    assert again.probe == 2
    assert "specialize pass" not in again.console and "oobeSystem pass" not in again.console
    with Mounted(again.image, os.path.join(b["work"], "m-again")) as m:
        journal = probe_file(m, again.probe, "journal.txt")
        assert (
            "Starting sysprep-specialize" not in journal
            and "Starting sysprep-passes" not in journal
        )
        log = open(f"{m}/var/log/cloud-init.log").read()
        second = log[log.rindex("running 'init-local'") :]
        # each stage starts every module; a per-instance one that already ran says so
        started = set(
            re.findall(r"running (config-[\w-]+) with frequency once-per-instance", second)
        )
        skipped = set(re.findall(r"(config-[\w-]+) previously ran", second))
        assert {"config-ssh", "config-users-groups", "config-runcmd"} <= started <= skipped
        assert open(f"{m}/var/tmp/runcmd-marker").read() == ALPHA.runcmd_marker + "\n"
        assert probe_file(m, again.probe, "hostname").strip() == ALPHA.hostname
        assert "status: done" in probe_file(m, again.probe, "status.txt")
        assert probe_file(m, 2, "machine-id") == probe_file(m, first.probe, "machine-id")
        assert probe_file(m, 2, "host-keys") == probe_file(m, first.probe, "host-keys")


def test_trixie_template_and_a_clone_whose_seed_host_name_wins_over_the_answer_file(
    tmp_path_factory,
):
    """Newer cloud-init (its units split differently) and systemd 257."""
    work = str(tmp_path_factory.mktemp("cloud-trixie"))
    try:
        ci, _, template = make_template("trixie", work)
        assert "status: done" in template["status"], template["status"]
        image = cloned(ci, ci.image, work, "generalized-answer", UNATTEND)
        os.remove(ci.image)
        (delta,) = boot_all([clone_boot(ci, image, DELTA, work, "delta")], work)
        with Mounted(delta.image, os.path.join(work, "m-delta")) as m:
            check_instance(m, delta, DELTA)
            assert_runtime_compiled_by_the_images_python(m)
            check_specialized(m, delta, template, "delta")
            assert "operator" in {ln.split(":")[0] for ln in open(f"{m}/etc/passwd")}
            assert template_identity_left(m, template, TEMPLATE) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)
