"""Files and folders of a fixture root, made with their mode and owner."""

from __future__ import annotations

import os


def write_file(
    root: str, rel: str, data: str | bytes, mode: int = 0o644, uid: int = 0, gid: int = 0
) -> str:
    """Write `rel` under a fixture root (its folders made), with this mode and owner."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    os.chown(path, uid, gid)
    return rel


def make_dir(root: str, rel: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    path = os.path.join(root, rel)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


def chroot_argv(
    root: str, *, network: bool = False, env: dict[str, str] | None = None
) -> list[str]:
    """The bubblewrap command that runs a program of `root` with `root` as /: its own /dev,
    /proc and /run, a clean environment (plus `env`), and the host's network and resolver
    only with `network` (apt fetching packages)."""
    argv = ["bwrap", "--bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/run"]
    argv += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"] if network else ["--unshare-net"]
    argv += ["--unshare-pid", "--die-with-parent", "--clearenv"]
    fixed = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C.UTF-8"}
    for k, v in {**fixed, **(env or {})}.items():
        argv += ["--setenv", k, v]
    return argv
