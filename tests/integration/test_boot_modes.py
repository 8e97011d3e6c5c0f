"""Real boots of the reseal modes: `--generalize --image X` alone (headless: the clones
finish unattended and reach a login prompt with no key pressed), and `--no-boot-passes` on a
Debian root without python3 (only the SSH host key unit is left; the boot makes the keys and
a new machine-id)."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from sysprep.firstboot import keygen
from sysprep.testing import images
from tests.integration.conftest import in_root
from tests.integration.qemu import Mounted, kernel_and_initrd, make_ext4_image
from tests.integration.test_boot import DONE, boot, enabled_units, host_keys, sysprep, used_machine

pytestmark = pytest.mark.integration

WELCOME = "the welcome is shown on"


@pytest.fixture(scope="module")
def used(debian_tarball, tmp_path_factory):
    """A used machine's disk image (not generalized) and its root, next to it."""
    work = str(tmp_path_factory.mktemp("modes"))
    root, facts = used_machine(debian_tarball, work)
    image = os.path.join(work, "used.img")
    make_ext4_image(root, image)
    kernel, initrd = kernel_and_initrd(root)
    yield {"work": work, "root": root, "image": image, "kernel": kernel, "initrd": initrd, **facts}
    shutil.rmtree(work, ignore_errors=True)


def sysprep_files(root: str) -> list[str]:
    """Files of sysprep's in /etc and /usr: what a boot of the image would run."""
    found = []
    for top in ("etc", "usr"):
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            found += [
                os.path.relpath(os.path.join(folder, n), root)
                for n in dirs + files
                if "sysprep" in n
            ]
    return sorted(found)


def test_generalize_image_alone_boots_headless_to_complete_and_a_login_and_clones_differ(
    used, tmp_path
):
    image = images.copy(used["image"], str(tmp_path / "headless.img"))
    r = sysprep("--generalize", "--image", image)
    assert r.returncode == 0, r.stderr
    assert "reseal headless" in r.stdout
    ids, keys = [], []
    for name in ("headless-b", "headless-c"):
        clone = images.copy(image, str(tmp_path / f"{name}.img"))
        # boot() waits for the passes to finish, then for a login prompt: no key is pressed
        out = boot(clone, used["kernel"], used["initrd"], str(tmp_path), name, DONE)
        assert "resealed headless (no --oobe): no welcome" in out and WELCOME not in out
        assert out.index(DONE) < out.rindex("login:")
        with Mounted(clone, str(tmp_path / f"m-{name}")) as m:
            state = open(f"{m}/var/lib/sysprep/state.ini").read()
            assert "ImageState = IMAGE_STATE_COMPLETE" in state and "PendingPasses = \n" in state
            ids.append(open(f"{m}/etc/machine-id").read().strip())
            keys.append(host_keys(m))
    assert len(ids[0]) == 32 and len({*ids, used["machine_id"]}) == 3
    assert keys[0] and keys[1]
    assert set(keys[0].values()).isdisjoint(keys[1].values())
    assert set(keys[0].values()).isdisjoint(used["keys"].values())


def test_no_boot_passes_on_a_root_without_python3_boots_with_new_keys_and_machine_id(
    used, tmp_path
):
    root = used["root"]
    purge = [
        p
        for p in in_root(root, "dpkg-query", "-W", "-f", "${Package}\\n").stdout.split()
        if "python" in p
    ]
    in_root(root, "dpkg", "--purge", *purge)
    assert not os.path.exists(os.path.join(root, "usr/bin/python3"))
    r = sysprep("--generalize", "--no-boot-passes", "--root", root)
    assert r.returncode == 0, r.stderr
    assert sysprep_files(root) == sorted([keygen.UNIT_FILE, keygen.WANTS])
    assert not [n for n in os.listdir(os.path.join(root, "etc/ssh")) if n.startswith("ssh_host_")]
    image = str(tmp_path / "no-python.img")
    make_ext4_image(root, image)
    out = boot(image, used["kernel"], used["initrd"], str(tmp_path), "no-python", "login:")
    assert "sysprep-specialize" not in out
    assert "Starting systemd-firstboot" not in re.sub(r"\x1b\[[0-9;]*m", "", out)  # no first boot
    with Mounted(image, str(tmp_path / "m")) as m:
        machine_id = open(f"{m}/etc/machine-id").read().strip()
        assert re.fullmatch(r"[0-9a-f]{32}", machine_id) and machine_id != used["machine_id"]
        keys = host_keys(m)
        assert keys and set(keys.values()).isdisjoint(used["keys"].values())
        assert sysprep_files(m) == []  # the key unit removed itself
        assert "ImageState = IMAGE_STATE_COMPLETE" in open(f"{m}/var/lib/sysprep/state.ini").read()
        # systemd's first boot changed no unit's enablement
        assert enabled_units(m) == used["enabled"]


def test_a_specialize_command_that_never_ends_times_out_to_undeployable_and_the_boot_goes_on(
    used, tmp_path
):
    """The passes unit's start timeout (lowered by a drop-in, as docs/first-boot.md says):
    the boot is not held, the state says what happened."""
    image = images.copy(used["image"], str(tmp_path / "stuck.img"))
    answer = tmp_path / "stuck.yaml"
    answer.write_text(
        "specialize:\n  Linux-Deployment:\n    RunSynchronous:\n"
        "      - Order: 1\n        Path: sleep 3600\n        Description: Never ends\n"
    )
    r = sysprep("--generalize", "--image", image, "--unattend", str(answer))
    assert r.returncode == 0, r.stderr
    with Mounted(image, str(tmp_path / "w"), writable=True) as m:
        os.makedirs(f"{m}/etc/systemd/system/sysprep-passes.service.d")
        with open(f"{m}/etc/systemd/system/sysprep-passes.service.d/timeout.conf", "w") as f:
            f.write("[Service]\nTimeoutStartSec=40s\n")
    out = boot(image, used["kernel"], used["initrd"], str(tmp_path), "stuck", "Never ends")
    assert "login:" in out[out.index("Never ends") :]
    with Mounted(image, str(tmp_path / "m")) as m:
        state = open(f"{m}/var/lib/sysprep/state.ini").read()
        assert "ImageState = IMAGE_STATE_UNDEPLOYABLE" in state
        assert "LastError = sysprep-passes.service timed out" in state, state
        assert "during the specialize pass" in state
