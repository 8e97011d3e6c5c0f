"""Run code that belongs to a target: in the live system as is, for an offline target in a
bubblewrap sandbox whose root is the target (no network, no host paths, no host processes).

Code from an offline image is untrusted; it never runs in a bare chroot.

The sandbox keeps the real user ids (no user namespace; sysprep runs as root): a user
namespace made by bwrap maps uid and gid 0 only, where package scripts and account tools
(useradd, chown, install -o) could not give a file to any other user of the image. What
the sandbox may do is bounded by its capabilities instead: file ownership and permissions
only, in a mount namespace holding nothing but the target (no CAP_SYS_ADMIN: no mount,
no namespace of its own; no CAP_SYS_CHROOT, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_MKNOD,
CAP_NET_*, CAP_SYS_PTRACE), with its own network, PID, IPC, UTS and cgroup namespaces, and
bwrap's read-only /proc/sys and /proc/sysrq-trigger.
"""

from __future__ import annotations

import shutil
import stat
from typing import TYPE_CHECKING, Mapping, Sequence

from sysprep.errors import UsageError
from sysprep.run import Completed, run

if TYPE_CHECKING:
    from sysprep.target import Target

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What package scripts and account tools need to manage files they do not own, and to
# switch to an account of the image (su, runuser, setpriv in a maintainer script).
# Never CAP_DAC_READ_SEARCH: outside a user namespace it allows open_by_handle_at(2), which
# opens any inode of a file system the sandbox can see a file of, by handle, so the image's
# code could read the host's files beside a --root directory ("shocker"); DAC_OVERRIDE
# already reads and searches everything the sandbox shows.
KEPT_CAPS = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_KILL",
    "CAP_SETFCAP",
)


def bwrap() -> str:
    path = shutil.which("bwrap", path=SANDBOX_PATH)
    if path is None:
        raise UsageError(
            "running code from an offline target needs bubblewrap (bwrap): install "
            "it (apt install bubblewrap / dnf install bubblewrap), or disable the "
            "image's own providers with --disable NAME"
        )
    return path


def sandbox_argv(
    target: Target, argv: Sequence[str], env: Mapping[str, str], cwd: str = "/"
) -> list[str]:
    """The bwrap command line that runs `argv` with the target as its root."""
    cmd = [
        bwrap(),
        "--bind",
        target.host_root,
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        # network, pid, ipc, uts, cgroup: nothing of the host; not the user namespace (see
        # above): the image's uids and gids stay themselves
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sysprep-sandbox",
        "--clearenv",
        # root inside, but without CAP_SYS_ADMIN and friends: no mount or umount (the masks
        # below hold), no module loading, no raw devices or ptrace
        "--cap-drop",
        "ALL",
        *(a for cap in KEPT_CAPS for a in ("--cap-add", cap)),
    ]
    # bwrap binds recursively: mask mounts under the root that are not the target's own
    for rel, _ in target.fs.skipped_mounts:
        if rel in ("proc", "dev") or rel.startswith(("proc/", "dev/")):
            continue
        st = target.fs.lstat(rel)
        if st is None:
            continue
        if stat.S_ISDIR(st.st_mode):
            cmd += ["--tmpfs", "/" + rel]
        else:
            cmd += ["--ro-bind", "/dev/null", "/" + rel]
    for k, v in {"PATH": SANDBOX_PATH, "LC_ALL": "C.UTF-8", "HOME": "/root", **env}.items():
        cmd += ["--setenv", k, v]
    cmd += ["--chdir", cwd, "--", *argv]
    return cmd


def run_in_target(
    target: Target,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = False,
    output_fd: int | None = None,
    input: str | None = None,
) -> Completed:
    """Run a program of the target (a path inside it); output captured or streamed to a fd."""
    env = dict(env or {})
    if target.live:
        return run(
            argv, env=env, timeout=timeout, check=check, cwd="/", output_fd=output_fd, input=input
        )
    return run(
        sandbox_argv(target, argv, env),
        timeout=timeout,
        check=check,
        output_fd=output_fd,
        input=input,
    )
