"""The running system's root is never an offline target: not through a bind mount, not as
the disk (or the file behind the loop device) that holds it. Only the validation runs here:
nothing may ever run against the host."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from sysprep import cli
from sysprep.errors import UsageError
from sysprep.target import hostroot
from sysprep.target.image import formats


def test_a_bind_mount_of_the_host_root_is_refused_as_root(tmp_path):
    where = tmp_path / "host-root"
    where.mkdir()
    subprocess.run(["mount", "--bind", "/", str(where)], check=True)
    try:
        with pytest.raises(UsageError, match="names the running system"):
            cli.parse(["--generalize", "--root", str(where)])
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_copy_of_a_root_is_not_the_host_root(dirty):
    assert cli.parse(["--generalize", "--root", dirty.path])[0].target.root == dirty.path


def _node_of(dev: int) -> str | None:
    try:
        with open(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/uevent") as f:
            names = [line.split("=", 1)[1].strip() for line in f if line.startswith("DEVNAME=")]
    except OSError:
        return None
    return f"/dev/{names[0]}" if names and os.path.exists(f"/dev/{names[0]}") else None


def test_the_disk_of_the_host_root_is_refused_as_an_image():
    node = _node_of(os.stat("/").st_dev)
    if node is None:
        pytest.skip("the root file system is not on a block device here")
    with pytest.raises(UsageError, match="holds the running system's root file system"):
        formats.check(node, None, writable=True)


@pytest.fixture
def partitioned_loop(tmp_path):
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(16 * 1024 * 1024)
    subprocess.run(
        ["sfdisk", "-q", str(image)], input="label: gpt\nsize=8MiB\n", text=True, check=True
    )
    dev = subprocess.run(
        ["losetup", "-P", "-f", "--show", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        yield str(image), dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)


def test_what_holds_a_partition_of_a_loop_device_includes_the_disk_and_its_file(partitioned_loop):
    image, dev = partitioned_loop
    name = os.path.basename(dev)
    sysfs = f"/sys/block/{name}/{name}p1/dev"
    for _ in range(10):  # the kernel scans the partition table (where it can: not everywhere)
        if os.path.exists(sysfs):
            break
        time.sleep(0.1)
    else:
        pytest.skip("no partition scanning of loop devices here")
    major, minor = open(sysfs).read().strip().split(":")
    held = hostroot.backing_of([os.makedev(int(major), int(minor))])
    assert held.holds(os.stat(dev))
    assert held.holds(os.stat(image))
    assert not held.holds(os.stat("/etc/hostname"))


def test_the_file_behind_a_loop_device_holds_what_is_on_that_device(partitioned_loop):
    # the image file of a loop device holding / is as much the host's root as the device
    image, dev = partitioned_loop
    held = hostroot.backing_of([os.stat(dev).st_rdev])
    assert held.holds(os.stat(image)) and held.holds(os.stat(dev))
    assert not held.holds(os.stat("/etc/hostname"))
