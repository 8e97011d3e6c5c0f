"""Boot a disk image in qemu (software emulation: /dev/kvm here does not work) and watch its
serial console; drive it through QMP."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import time

QEMU = "qemu-system-x86_64"

# What the guests printed about sysprep, boot by boot: shown in pytest's summary (see
# tests/conftest.py), so that a CI log shows the passes running at boot.
SEEN: list[tuple[str, list[str]]] = []
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def remember(name: str, console: str, *, most: int = 80) -> None:
    """Keep the console lines of one boot that speak of sysprep (its units and its passes)."""
    lines = [_ESCAPES.sub("", line).strip() for line in console.splitlines()]
    lines = [line for line in lines if "sysprep" in line.lower()]
    SEEN.append(
        (name, lines[:most] + ([f"... {len(lines) - most} more"] if len(lines) > most else []))
    )


def make_ext4_image(root: str, image: str, size: str = "3G", label: str = "sysroot") -> None:
    """A raw disk image whose whole device is one ext4 file system made from `root`."""
    if os.path.exists(image):
        os.remove(image)
    subprocess.run(["truncate", "-s", size, image], check=True)
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-L", label, "-d", root, image], check=True, capture_output=True
    )


def kernel_and_initrd(root: str) -> tuple[str, str]:
    kernels = sorted(glob.glob(os.path.join(root, "boot/vmlinuz-*")))
    initrds = sorted(glob.glob(os.path.join(root, "boot/initrd.img-*")))
    if not kernels or not initrds:
        raise RuntimeError(f"no kernel/initrd in {root}/boot")
    return kernels[-1], initrds[-1]


class VM:
    """One qemu guest with its serial console in a file and a QMP socket."""

    def __init__(
        self,
        image: str,
        kernel: str,
        initrd: str,
        workdir: str,
        *,
        name: str = "vm",
        append: str = "",
        memory: int = 1024,
        extra: tuple[str, ...] = (),
    ) -> None:
        """`extra`: more qemu arguments (-smbios type=11,..., -fw_cfg ... for credentials)."""
        self.console = os.path.join(workdir, f"{name}-console.log")
        self.qmp_path = os.path.join(workdir, f"{name}-qmp.sock")
        self.serial_path = os.path.join(workdir, f"{name}-serial.sock")
        for p in (self.console, self.qmp_path, self.serial_path):
            if os.path.exists(p):
                os.remove(p)
        cmdline = f"root=/dev/vda rw console=ttyS0 systemd.show_status=1 {append}".strip()
        self.argv = [
            QEMU,
            "-machine",
            "q35,accel=tcg",
            "-cpu",
            "max",
            "-smp",
            "1",
            "-m",
            str(memory),
            "-kernel",
            kernel,
            "-initrd",
            initrd,
            "-append",
            cmdline,
            "-drive",
            f"file={image},format=raw,if=virtio,cache=unsafe",
            "-netdev",
            "user,id=n0",
            "-device",
            "virtio-net-pci,netdev=n0",
            "-display",
            "none",
            "-monitor",
            "none",
            "-chardev",
            f"socket,id=s0,path={self.serial_path},server=on,wait=off,logfile={self.console}",
            "-serial",
            "chardev:s0",
            "-qmp",
            f"unix:{self.qmp_path},server=on,wait=off",
            "-device",
            "virtio-rng-pci",
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> VM:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def output(self) -> str:
        try:
            with open(self.console, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, text: str, timeout: float, *, count: int = 1) -> bool:
        """Wait until `text` appeared `count` times on the console (or qemu exited)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.output().count(text) >= count:
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return self.output().count(text) >= count
            time.sleep(1)
        return False

    def type(self, text: str) -> None:
        """Type on the serial console (a login shell there reads it)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.serial_path)
        for ch in text:
            s.sendall(ch.encode())
            time.sleep(0.01)
        s.close()

    def qmp(self, command: str, **arguments: object) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.qmp_path)
        f = s.makefile("rw")
        f.readline()  # greeting
        f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
        f.flush()
        f.readline()
        msg: dict[str, object] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        f.write(json.dumps(msg) + "\n")
        f.flush()
        f.readline()
        s.close()

    def send_keys(self, *keys: str) -> None:
        """Press keys on the guest's keyboard (QEMU key names: 'ctrl', 'shift', 'f3', 'a'...)."""
        self.qmp("send-key", keys=[{"type": "qcode", "data": k} for k in keys])

    def poweroff(self, timeout: float = 120) -> int:
        """ACPI power button, then wait; killed if it does not stop in time."""
        assert self.proc is not None
        if self.proc.poll() is None:
            try:
                self.qmp("system_powerdown")
            except OSError:
                pass
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def wait_exit(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait()


def available() -> bool:
    return shutil.which(QEMU) is not None


class Mounted:
    """A raw ext4 image mounted read-only at a temporary folder (for checks from outside)."""

    def __init__(self, image: str, where: str, *, writable: bool = False) -> None:
        self.image, self.where, self.writable = image, where, writable

    def __enter__(self) -> str:
        os.makedirs(self.where, exist_ok=True)
        opts = "loop" if self.writable else "loop,ro,noload"
        subprocess.run(["mount", "-o", opts, self.image, self.where], check=True)
        return self.where

    def __exit__(self, *exc: object) -> None:
        # another process walking the tree (du, a file indexer) makes the mount busy for a
        # moment: try again for a while before calling it a failure
        for _ in range(30):
            r = subprocess.run(["umount", self.where], capture_output=True, text=True)
            if r.returncode == 0:
                return
            if "busy" not in r.stderr:
                break
            time.sleep(1)
        raise RuntimeError(f"umount {self.where}: {r.stderr.strip()}")
