"""A private mount namespace for the image's mounts: invisible to the host, gone with us.

Python 3.12 has os.unshare; on older interpreters sysprep re-executes itself under
`unshare --mount --propagation private` (same PID: unshare execs, it does not fork). The
environment remembers which namespace we came from, so the new process knows it is done.
"""

from __future__ import annotations

import os
import shutil
import sys

from sysprep.errors import RunError
from sysprep.run import CLEAN_PATH, run

ENV = "SYSPREP_HOST_MNTNS"
MAIN_MODULES = ("sysprep.__main__", "sysprep")


def current() -> int:
    return os.stat("/proc/self/ns/mnt").st_ino


def is_private() -> bool:
    """True when this process runs in a mount namespace that sysprep made for itself."""
    marker = os.environ.get(ENV, "")
    return marker.isdigit() and int(marker) != current()


def ensure_private() -> None:
    """Enter a private mount namespace (re-executing sysprep if needed); returns inside it."""
    if is_private():
        return
    if os.environ.get(ENV):
        raise RunError("could not enter a private mount namespace (unshare had no effect)")
    host = current()
    unshare = getattr(os, "unshare", None)
    if unshare is not None:  # Python 3.12+
        unshare(os.CLONE_NEWNS)  # type: ignore[attr-defined]
        run(["mount", "--make-rprivate", "/"])
        os.environ[ENV] = str(host)
        return
    _reexec(host)


def _is_sysprep_program() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name in MAIN_MODULES:
        return True
    return os.path.basename(sys.argv[0]) == "sysprep"


def _reexec(host: int) -> None:
    if not _is_sysprep_program():
        raise RunError(
            "disk images need a private mount namespace: run sysprep as a command "
            "(or under Python 3.12 or newer)"
        )
    tool = shutil.which("unshare", path=CLEAN_PATH)
    if tool is None:
        raise RunError("disk images need unshare (util-linux) to mount privately")
    with open("/proc/self/cmdline", "rb") as f:
        cmdline = [a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\0")[:-1]]
    cmdline[0] = sys.executable  # the interpreter running us, whatever name started it
    env = dict(os.environ)
    env[ENV] = str(host)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.execve(tool, [tool, "--mount", "--propagation", "private", "--", *cmdline], env)
