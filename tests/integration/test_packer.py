"""examples/packer for real, then the Ansible collection over SSH on its clone: Packer (the
Debian package, qemu builder) builds the template from a bootable Debian image with
cloud-init, sysprep being its shutdown_command; the template boots as a clone that
sysprep.linux.image_state waits for over SSH until IMAGE_STATE_COMPLETE, with the answer
file's settings; then the collection's playbook reseal_fleet (sysprep.linux.generalize with
power_off) reseals that live clone and powers it off, the task returning its result before
the guest goes down. One build and one clone boot for all of it."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from sysprep.testing import images
from sysprep.testing.images import Recipe
from tests.integration.conftest import debian_root_tarball
from tests.integration.qemu import VM, remember
from tests.integration.test_ansible import env, results, tool

pytestmark = pytest.mark.integration

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "packer")
COLLECTIONS = os.path.join(HERE, "..", "..", "ansible")
PASSWORD = "Clone-Sudo-31"

CLONE_PLAY = """
- hosts: clone
  gather_facts: false
  become: true
  tasks:
    - name: wait for the clone's SSH
      ansible.builtin.wait_for_connection: {timeout: 900, sleep: 5}
    - name: wait for the clone's passes
      sysprep.linux.image_state: {wait: true, timeout: 900}
      register: state
    - name: the answer file's host name
      ansible.builtin.slurp: {src: /etc/hostname}
    - name: the answer file's time zone
      ansible.builtin.stat: {path: /etc/localtime}

# the collection's own playbook generalizes the live clone and powers it off
- ansible.builtin.import_playbook: sysprep.linux.reseal_fleet
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bios_vm(image: str, workdir: str, name: str, ssh_port: int) -> VM:
    """qemu.VM booting through the image's own boot loader (SeaBIOS, GRUB), SSH forwarded."""
    vm = VM(image, "", "", workdir, name=name)
    argv, skip = [], False
    for arg in vm.argv:
        if skip or arg in ("-kernel", "-initrd", "-append"):
            skip = not skip
            continue
        argv.append(
            f"user,id=n0,hostfwd=tcp:127.0.0.1:{ssh_port}-:22" if arg == "user,id=n0" else arg
        )
    vm.argv = argv
    return vm


def packer_dir(tmp_path, key_pub: str) -> str:
    """examples/packer copied as a user would use it: make-seed, the runtime bundle, and an
    answer file with an SSH-key admin account for the test's Ansible."""
    work = str(tmp_path / "packer")
    shutil.copytree(EXAMPLE, work)
    subprocess.run(["./make-seed"], cwd=work, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, "-m", "sysprep.firstboot.bundle", f"{work}/sysprep.pyz"],
        check=True,
        capture_output=True,
    )
    answer = yaml.safe_load(open(f"{work}/unattend.yaml"))
    answer["oobeSystem"]["Linux-Shell-Setup"]["UserAccounts"] = {
        "LocalAccounts": [
            {
                "Name": "ops",
                "Sudo": True,
                "Password": {"Value": PASSWORD, "PlainText": True},
                "AuthorizedKeys": [key_pub],
            }
        ]
    }
    with open(f"{work}/test-unattend.yaml", "w") as f:
        yaml.safe_dump(answer, f)
    return work


def test_packer_template_then_ansible_on_its_clone(tmp_path):
    if not shutil.which("packer"):
        pytest.fail("packer is not installed (scripts/setup installs Debian's)")
    key = str(tmp_path / "ops_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    work = packer_dir(tmp_path, open(key + ".pub").read().strip())
    src, _ = images.cached(
        Recipe("gpt-lvm", "debian", tarball=debian_root_tarball("bookworm", "cloud-init"))
    )
    source = images.copy(src, f"{work}/source.raw")
    out = f"{work}/out"
    build = subprocess.run(
        [
            "packer",
            "build",
            "-var",
            f"source_image={source}",
            "-var",
            f"output_dir={out}",
            "-var",
            "format=raw",
            "-var",
            "answer_file=test-unattend.yaml",
            "-var",
            "ssh_timeout=40m",
            ".",
        ],  # TCG on a loaded machine is slow
        cwd=work,
        capture_output=True,
        text=True,
        timeout=3000,
        env={**os.environ, "PACKER_CHECKPOINT_DISABLE": "1"},
    )
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-2000:]
    template = f"{out}/template.raw"

    state = subprocess.run(
        [sys.executable, "-m", "sysprep", "state", "--image", template, "--json"],
        capture_output=True,
        text=True,
    )
    assert '"image_state": "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"' in state.stdout, state.stderr
    files = images.read_files(
        template,
        [
            "/root/.ssh/authorized_keys",
            "/etc/ssh/ssh_host_ed25519_key",
            "/etc/sysprep/unattend.yaml",
            "/var/lib/sysprep/unattend.xml",
        ],
    )
    cached = files.pop("/var/lib/sysprep/unattend.xml")
    assert files == dict.fromkeys(files)  # the build's key, the host keys, the answer file: gone
    assert cached and "packer-clone" in cached and PASSWORD not in cached  # cached, hashed

    port = free_port()
    inventory = tmp_path / "inventory"
    inventory.write_text(
        f"clone ansible_host=127.0.0.1 ansible_port={port} ansible_user=ops "
        f"ansible_ssh_private_key_file={key} ansible_become_password={PASSWORD} "
        "ansible_python_interpreter=/usr/bin/python3 "
        "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
    )
    play = tmp_path / "clone.yml"
    play.write_text(CLONE_PLAY)
    vm = bios_vm(template, str(tmp_path), "packer-clone", port).start()
    try:
        p = subprocess.run(
            [
                tool("ansible-playbook"),
                "-i",
                str(inventory),
                str(play),
                "-e",
                "sysprep_hosts=clone",
            ],
            capture_output=True,
            text=True,
            env=env(COLLECTIONS),
            timeout=1800,
        )
        down = vm.wait_exit(300)
    finally:
        vm.kill()
        remember("packer-clone", vm.output())
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-2000:] + vm.output()[-3000:]
    waited, hostname, localtime, generalized, shown = results(p.stdout)[1:]
    assert waited["status"] == "final" and waited["image_state"] == "IMAGE_STATE_COMPLETE"
    assert base64.b64decode(hostname["content"]).decode().strip() == "packer-clone"
    assert localtime["stat"]["lnk_source"] == "/usr/share/zoneinfo/Europe/Berlin"
    # the task's result came back before the guest went down: `ok`/changed, not unreachable
    assert generalized["changed"] is True and generalized["power"] == "poweroff"
    assert generalized["image_state"] == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    assert shown["msg"].startswith("clone: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE")
    assert down is not None, "the guest did not power off"
    state = subprocess.run(
        [sys.executable, "-m", "sysprep", "state", "--image", template, "--json"],
        capture_output=True,
        text=True,
    )
    assert '"image_state": "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"' in state.stdout, state.stderr
