"""The guardian: a small helper that outlives sysprep just long enough to clean up after it.

sysprep starts it (in its own session, so Ctrl+C in the terminal does not reach it) with a
pipe on its standard input. The guardian starts qemu-storage-daemon when a qcow2 image is
exported (as its child, killed with it by PDEATHSIG) and then waits for that pipe to close.
sysprep closes it after its own orderly clean-up; if sysprep dies (even by SIGKILL), the
kernel closes it. Either way the guardian then unmounts whatever is left under the work
folder, detaches the loop devices over the images, stops qemu-storage-daemon *after* the
file systems are gone (so their last writes reach the qcow2 file), removes the work folder
and exits.

This file runs as a script (`python -I -S -c <this source> <json>`): standard library only.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

LOOP_CLR_FD = 0x4C01


# A copy of sysprep.rules.fstab.unescape: this script runs alone (standard library only).
def _unescape(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(workdir: str) -> list[tuple[str, str]]:
    """(mount point, fs type) of the mounts at or below workdir, in mount order."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) < 5:
                continue
            point = _unescape(fields[4])
            if point == workdir or point.startswith(workdir + "/"):
                found.append((point, right.split()[0] if right else ""))
    return found


def unmount_all(workdir: str, *, fuse: bool) -> None:
    for _ in range(3):
        left = [(p, t) for p, t in mounts_under(workdir) if t.startswith("fuse") == fuse]
        if not left:
            return
        for point, _t in reversed(left):
            if subprocess.run(
                ["umount", point], stdin=subprocess.DEVNULL, capture_output=True
            ).returncode:
                subprocess.run(
                    ["umount", "-l", point], stdin=subprocess.DEVNULL, capture_output=True
                )


def our_loops(workdir: str, images: list[str]) -> list[str]:
    found: list[str] = []
    try:
        names = os.listdir("/sys/block")
    except OSError:
        return found
    for name in names:
        if not name.startswith("loop"):
            continue
        try:
            with open(f"/sys/block/{name}/loop/backing_file", encoding="utf-8") as f:
                backing = f.read().strip()
            with open(f"/sys/block/{name}/loop/autoclear", encoding="utf-8") as f:
                autoclear = f.read().strip() == "1"
        except OSError:
            continue
        if autoclear and (backing in images or backing.startswith(workdir + "/")):
            found.append(f"/dev/{name}")
    return found


def detach_loops(workdir: str, images: list[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        devices = our_loops(workdir, images)
        if not devices:
            return
        for dev in devices:
            try:
                fd = os.open(dev, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.ioctl(fd, LOOP_CLR_FD)
            except OSError:
                pass
            finally:
                os.close(fd)
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def remove_workdir(workdir: str) -> None:
    if mounts_under(workdir):
        return  # never walk into a file system that is still mounted
    for dirpath, dirnames, filenames in os.walk(workdir, topdown=False):
        for name in filenames:
            try:
                os.unlink(os.path.join(dirpath, name))
            except OSError:
                pass
        for name in dirnames:
            try:
                os.rmdir(os.path.join(dirpath, name))
            except OSError:
                pass
    try:
        os.rmdir(workdir)
    except OSError:
        pass


def main() -> int:
    cfg = json.loads(sys.argv[1])
    workdir, images = cfg["workdir"], list(cfg["images"])
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    proc = None
    if cfg.get("qsd"):
        with open(cfg["log"], "wb") as log:
            proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "KILL", "--", *cfg["qsd"]],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd="/",
            )
    sys.stdout.write(f"{proc.pid if proc else 0}\n")
    sys.stdout.flush()
    while os.read(0, 4096):  # until sysprep closes the pipe, or dies
        pass
    unmount_all(workdir, fuse=False)
    detach_loops(workdir, images)
    stop(proc)
    unmount_all(workdir, fuse=True)
    remove_workdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
