from __future__ import annotations

import io
import os
import signal
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest

from sysprep.__main__ import main
from sysprep.testing.dirty_root import DirtyRoot, build

# A test run started in the background by a non-interactive shell (`cmd &`) inherits SIGINT
# ignored, and so would every sysprep it starts (an ignored signal stays ignored across exec):
# the tests of Ctrl+C need it delivered. A handler is reset to the default by exec.
signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class Result:
    code: int
    out: str
    err: str


def sysprep(*argv: str) -> Result:
    """Run the real command line in this process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def run():
    return sysprep


@pytest.fixture
def dirty(tmp_path) -> DirtyRoot:
    return build(str(tmp_path / "root"))


@pytest.fixture
def outside(tmp_path):
    """A folder outside the target root, holding canary files that must never change."""
    d = tmp_path / "host"
    d.mkdir()
    (d / "canary").write_text("canary\n")
    (d / "canary.log").write_text("canary log\n")
    return d


def snapshot(root: str) -> dict[str, tuple]:
    """Content and metadata of every entry under root (mode, owner, times, xattrs)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            try:
                xattrs = tuple(
                    sorted(
                        (n, os.getxattr(p, n, follow_symlinks=False))
                        for n in os.listxattr(p, follow_symlinks=False)
                    )
                )
            except OSError:
                xattrs = ()
            if os.path.islink(p):
                content = os.readlink(p).encode()
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    content = f.read()
            else:
                content = b""
            snap[os.path.relpath(p, root)] = (
                st.st_mode,
                st.st_uid,
                st.st_gid,
                st.st_size,
                st.st_mtime_ns,
                st.st_nlink,
                xattrs,
                content,
            )
        st = os.lstat(dirpath)
        snap[os.path.relpath(dirpath, root) + "/"] = (
            st.st_mode,
            st.st_uid,
            st.st_gid,
            st.st_mtime_ns,
        )
    return snap


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
PY = sys.executable


def pytest_terminal_summary(terminalreporter) -> None:
    """The qemu boots' console lines about sysprep: the boot-time passes as the guest ran them."""
    qemu = sys.modules.get("tests.integration.qemu")
    for name, lines in getattr(qemu, "SEEN", []):
        terminalreporter.write_sep("-", f"guest console of boot {name!r}: lines about sysprep")
        for line in lines:
            terminalreporter.write_line(line)
