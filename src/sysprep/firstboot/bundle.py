"""The self-contained runtime: a zipapp of sysprep and its vendored pure-Python dependencies,
run by the target's own python3 (3.9 or newer)."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import sysprep
from sysprep.errors import RunError, UsageError
from sysprep.target.confined import Confined, Outcome

if TYPE_CHECKING:
    from sysprep.target import Target

BUNDLE = "usr/lib/sysprep/sysprep.pyz"
WRAPPER = "usr/sbin/sysprep"
README = "usr/lib/sysprep/README"
MANPAGE = "usr/share/man/man8/sysprep.8"
MIN_PYTHON = (3, 9)
# Pure-Python packages bundled with sysprep (imported by name from the bundle).
# textual's own imports: rich, markdown_it (+ mdurl, mdit_py_plugins, linkify_it, uc_micro for
# its Markdown widget), pygments, platformdirs, typing_extensions; pyproject keeps each at a
# version that runs on Python 3.9.
VENDORED = (
    "defusedxml",
    "yaml",
    "rich",
    "textual",
    "markdown_it",
    "mdit_py_plugins",
    "mdurl",
    "linkify_it",
    "uc_micro",
    "pygments",
    "platformdirs",
    "typing_extensions",
)

# sysprep's own folders that never go into an image: the dirty roots and disk images of the
# tests, the demo and the benchmarks (not in the wheel either: pyproject.toml)
TEST_ONLY = ("testing",)

_MAIN = b"import sys\nfrom sysprep.__main__ import main\nsys.exit(main())\n"
_WRAPPER = '#!/bin/sh\n# sysprep runtime, installed by sysprep\nexec {python} /{bundle} "$@"\n'


def _package_root() -> Path:
    return Path(sysprep.__file__).resolve().parent


def _running_bundle() -> Path | None:
    """The zip this code runs from, when it runs from the bundle inside an image."""
    here = str(_package_root())
    m = re.match(r"^(.*?\.pyz)/", here + "/")
    return Path(m.group(1)) if m and os.path.isfile(m.group(1)) else None


def _add_tree(
    zf: zipfile.ZipFile, root: Path, arc_prefix: str, *, skip: tuple[str, ...] = ()
) -> None:
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".so") or not path.is_file():
            continue
        if path.relative_to(root).parts[0] in skip:
            continue
        info = zipfile.ZipInfo(
            f"{arc_prefix}/{path.relative_to(root).as_posix()}", (2020, 1, 1, 0, 0, 0)
        )
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, path.read_bytes())


def _vendored_roots() -> list[tuple[str, Path]]:
    import importlib.util

    found = []
    for name in VENDORED:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:  # the image's runtime would fail at boot
            raise RunError(
                f"the runtime for the image needs the Python package {name!r}, which "
                "is not installed here: install sysprep with its dependencies "
                "(pip install sysprep)"
            )
        origin = Path(spec.origin)
        found.append((name, origin.parent if origin.name == "__init__.py" else origin))
    return found


def _plugin_roots(plugins: list[tuple[str, str]]) -> list[tuple[str, Path]]:
    """Source folders of the packages that provide entry-point providers; compiled code is
    refused, since the bundle must run on any image's python3."""
    import importlib.util

    roots: dict[str, Path] = {}
    for name, value in plugins:
        top = value.split(":")[0].split(".")[0]
        if top == "sysprep" or top in roots:
            continue
        spec = importlib.util.find_spec(top)
        if spec is None or spec.origin is None:
            raise UsageError(
                f"provider entry point {name} ({value}): its package {top} cannot be "
                "found to put it into the image's runtime"
            )
        origin = Path(spec.origin)
        root = origin.parent if origin.name == "__init__.py" else origin
        compiled = [
            p
            for p in ([root] if root.is_file() else root.rglob("*"))
            if p.suffix in (".so", ".pyd")
        ]
        if compiled:
            raise UsageError(
                f"provider entry point {name} ({value}): its package {top} contains "
                f"compiled code ({compiled[0].name}) and cannot run from the image's "
                "runtime; ship it in the image as an executable provider "
                "(/etc/sysprep/providers.d/PHASE/) instead"
            )
        roots[top] = root
    return sorted(roots.items())


# Built once per process and set of plugins: a batch run (and the test suite) generalizes many
# targets, and zipping the package and its vendored libraries takes a second or more.
_BUILT: dict[str, bytes] = {}


def build() -> bytes:
    """The bundle's bytes: reproducible (fixed timestamps, sorted entries)."""
    running = _running_bundle()
    if running is not None:
        return running.read_bytes()
    import json

    from sysprep.providers.registry import entry_point_specs

    plugins = entry_point_specs()
    key = json.dumps(plugins)
    if key not in _BUILT:
        _BUILT[key] = _build(plugins)
    return _BUILT[key]


def _build(plugins: list[tuple[str, str]]) -> bytes:
    import json

    from sysprep.providers.registry import PLUGINS_RESOURCE

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("__main__.py", (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, _MAIN)
        _add_tree(zf, _package_root(), "sysprep", skip=TEST_ONLY)
        info = zipfile.ZipInfo(f"sysprep/{PLUGINS_RESOURCE}", (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        zf.writestr(info, json.dumps(plugins))
        for name, root in [*_plugin_roots(plugins), *_vendored_roots()]:
            if root.is_dir():
                _add_tree(zf, root, name)
            else:
                info = zipfile.ZipInfo(root.name, (2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                zf.writestr(info, root.read_bytes())
    return b"#!/usr/bin/env python3\n" + buf.getvalue()


def target_python(fs: Confined) -> tuple[str, tuple[int, int]] | None:
    """The target's python3 (path inside it) and its version, read from the file names."""
    for cand in ("usr/bin/python3", "usr/local/bin/python3", "bin/python3"):
        real = fs.realpath(cand)
        st = fs.stat(cand)
        if real is None or st is None or not stat.S_ISREG(st.st_mode):
            continue
        m = re.search(r"python(\d+)\.(\d+)$", real)
        if m:
            return "/" + cand, (int(m.group(1)), int(m.group(2)))
        versions = sorted(
            (int(x.group(1)), int(x.group(2)))
            for x in (re.match(r"^python(\d+)\.(\d+)$", n) for n in fs.listdir("usr/lib"))
            if x
        )
        if versions:
            return "/" + cand, versions[-1]
    return None


def python_problem(fs: Confined) -> str | None:
    """Why the target's python3 cannot run the boot-time passes; None when it can."""
    found = target_python(fs)
    if found is None:
        return "the image has no python3 (sysprep's boot-time passes run on the image's own python3, 3.9 or newer)"
    _, version = found
    if version < MIN_PYTHON:
        return (
            f"the image's python3 is {version[0]}.{version[1]} (sysprep's boot-time passes "
            "need 3.9 or newer)"
        )
    return None


def require_python(fs: Confined) -> str:
    problem = python_problem(fs)
    found = target_python(fs)
    if problem is not None or found is None:
        raise UsageError(
            f"{problem}: install or upgrade it (e.g. apt install python3-minimal) "
            "before generalizing"
        )
    return found[0]


# zipimport never caches compiled code: without .pyc entries every boot stage compiles
# sysprep and its libraries from source, tens of seconds of an emulated clone's first boot.
# The image's own python3 compiles them (its bytecode version), as unchecked hash-based
# .pyc next to each .py, which zipimport prefers; another python3 ignores them (another magic
# number) and compiles the source as before. pygments is left out: big, and only the
# welcome's rare paths import it.
NOT_PRECOMPILED = ("pygments/",)
PRECOMPILE = r"""
import importlib.util, os, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc
path, skip = sys.argv[1], tuple(sys.argv[2:])
with open(path, "rb") as f:
    head = f.read(4096)
tmp = path + ".compiling"
with zipfile.ZipFile(path) as zin, open(tmp, "wb") as out:
    out.write(head[:head.index(b"PK\x03\x04")])
    with zipfile.ZipFile(out, "w") as z:
        for info in zin.infolist():
            if info.filename.endswith(".pyc"):
                continue
            src = zin.read(info)
            z.writestr(info, src)
            if info.filename.endswith(".py") and not info.filename.startswith(skip):
                code = compile(src, path + "/" + info.filename, "exec", dont_inherit=True)
                pyc = zipfile.ZipInfo(info.filename + "c", info.date_time)
                pyc.external_attr, pyc.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
                z.writestr(pyc, bytes(_code_to_hash_pyc(code, importlib.util.source_hash(src), False)))
os.chmod(tmp, 0o644)
os.replace(tmp, path)
"""


def precompile(target: Target, fs: Confined) -> str | None:
    """Have the image's python3 add its compiled modules to the installed bundle (atomically);
    None when done, else why not (the bundle then runs from source, slower)."""
    from sysprep.errors import SysprepError
    from sysprep.target.sandbox import run_in_target

    try:
        done = run_in_target(
            target,
            [require_python(fs), "-c", PRECOMPILE, "/" + BUNDLE, *NOT_PRECOMPILED],
            timeout=600,
        )
    except SysprepError as e:
        return str(e)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return None


def install(fs: Confined, runtime: bytes | None = None) -> list[Outcome]:
    """Put the runtime into the target (also in a dry run's overlay); what was written."""
    python = require_python(fs)
    out = [o for o in (fs.mkdir("usr/lib/sysprep", 0o755),) if o]
    out.append(fs.write(BUNDLE, runtime if runtime is not None else build(), mode=0o644))
    out.append(
        fs.write(WRAPPER, _WRAPPER.format(python=python, bundle=BUNDLE).encode(), mode=0o755)
    )
    out.append(fs.write(README, _README.encode(), mode=0o644))
    if fs.is_dir("usr/share/man"):
        from sysprep.docs import man_page

        out.extend(o for o in (fs.mkdir("usr/share/man/man8", 0o755),) if o)
        out.append(fs.write(MANPAGE, man_page().encode(), mode=0o644))
    return out


_README = """\
sysprep was installed into this system by `sysprep install` or `sysprep --generalize`.

  /usr/sbin/sysprep                  the command (sysprep --help, man sysprep)
  /usr/lib/sysprep/sysprep.pyz       its runtime, run by this system's python3
  /var/lib/sysprep/state.ini         the image state: `sysprep state`
  /var/lib/sysprep/panther/          logs of the cleanup and generalize phases
  /var/log/sysprep/                  logs of the boot-time passes (specialize, oobeSystem,
                                     auditSystem, auditUser); commands/ holds the output of
                                     each RunSynchronous command; unattendgc/ the answer-file
                                     settings applied at boot
  sysprep-specialize.service         runs the specialize pass early in the next boot
  sysprep-passes.service             runs the specialize pass's commands (after the
                                     network), then oobeSystem (and the welcome with
                                     --oobe) or the audit passes
Both units disable themselves when no pass is pending.
"""


def main(argv: list[str] | None = None) -> int:
    """python -m sysprep.firstboot.bundle OUT: write the runtime bundle to a file."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sysprep.firstboot.bundle OUT.pyz", file=sys.stderr)
        return 2
    data = build()
    with open(args[0], "wb") as f:
        f.write(data)
    os.chmod(args[0], 0o755)
    print(f"{args[0]}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
