"""What several built-in providers share: removing files only, editing text files, walking
chosen folders, running a program of the target. Not a provider (the registry skips `_`).

Everything goes through the provider's Context and the confined layer.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from typing import Callable, Iterable, Iterator

from sysprep.errors import SysprepError
from sysprep.providers.actions import Followup
from sysprep.providers.base import Context
from sysprep.target.confined import Outcome
from sysprep.target.sandbox import run_in_target

RUN_TIMEOUT = 1800.0


def remove_files(ctx: Context, *patterns: str) -> int:
    """Remove every match that is not a directory (virt-sysprep's `rm` on a glob)."""
    return ctx.remove(*patterns, files_only=True)


def remove_files_below(
    ctx: Context, top: str, keep: Callable[[str], bool] = lambda name: False
) -> int:
    """Remove every file under `top` (any depth), keeping the folders and the files whose
    name `keep` accepts (virt-sysprep's rm_rf_only_files)."""
    done = 0
    for path, _ in list(ctx.fs.walk_files(top)):
        if keep(path.rsplit("/", 1)[-1]):
            continue
        out = ctx.note(ctx.fs.remove(path))
        if out is not None and out.files:
            done += 1
    return done


def walk_matching(
    ctx: Context,
    top: str,
    patterns: Iterable[str],
    *,
    regular_only: bool = False,
    prune_names: Iterable[str] = (),
    prune_paths: Iterable[str] = (),
) -> Iterator[str]:
    """Non-directories (or, with `regular_only`, regular files) under `top` whose name matches
    one of `patterns` (fnmatch, a leading dot matched like any character), not descending
    into pruned folders."""
    pats = tuple(patterns)
    names = set(prune_names)
    paths = set(prune_paths)
    found: list[str] = []
    for dirpath, entries in ctx.fs.tree(top):
        keep: list[tuple[str, os.stat_result]] = []
        for name, st in entries:
            child = f"{dirpath}/{name}" if dirpath else name
            if stat.S_ISDIR(st.st_mode):
                if name in names or child in paths:
                    continue
            elif (not regular_only or stat.S_ISREG(st.st_mode)) and any(
                fnmatch.fnmatchcase(name, p) for p in pats
            ):
                found.append(child)
            keep.append((name, st))
        entries[:] = keep  # prunes the walk (see Confined.tree)
    yield from found


def edit_text(ctx: Context, path: str, edit: Callable[[str], str]) -> bool:
    """Rewrite a text file (atomically, metadata kept) when `edit` changes its content."""
    old = ctx.fs.read_text(path)
    if old is None:
        return False
    new = edit(old)
    if new == old:
        return False
    ctx.write(path, new.encode("utf-8", "surrogateescape"))
    return True


def drop_lines(text: str, pred: Callable[[str], bool]) -> str:
    """The text without the lines `pred` accepts (line endings kept)."""
    return "".join(line for line in text.splitlines(keepends=True) if not pred(line))


def shell_vars(text: str) -> dict[str, str]:
    """KEY=VALUE assignments of a shell-style configuration file, the last one winning."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if not m:
            continue
        value = m.group(2)
        if value and value[0] in "\"'":
            end = value.find(value[0], 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split("#", 1)[0].strip()
        found[m.group(1)] = value
    return found


def first_existing(ctx: Context, *paths: str) -> str | None:
    for p in paths:
        if ctx.fs.exists(p):
            return p
    return None


def run_program(ctx: Context, argv: list[str], *, timeout: float = RUN_TIMEOUT) -> bool:
    """Run a program of the target (argv[0] a path inside it): recorded the same way in a dry
    run, where it does not run. On an offline target it runs in the sandbox."""
    ctx.note(Outcome("run", argv[0].lstrip("/"), "file", detail=" ".join(argv[1:])))
    if ctx.dry_run:
        return True
    try:
        done = run_in_target(ctx.target, argv, timeout=timeout)
    except SysprepError as e:
        ctx.fail(str(e))
        return False
    for line in (done.stdout + done.stderr).splitlines():
        ctx.info(f"| {line}")
    if done.returncode != 0:
        ctx.fail(f"{' '.join(argv)} exited with status {done.returncode}")
        return False
    return True


CA_STORE_UPDATERS = (
    ("usr/bin/update-ca-trust", ("extract",)),  # Fedora, RHEL and derivatives
    ("usr/sbin/update-ca-certificates", ()),  # Debian, Ubuntu, SUSE
    ("usr/bin/update-ca-certificates", ()),
    ("usr/bin/trust", ("extract-compat",)),  # Arch (p11-kit)
)


def update_ca_store(ctx: Context) -> None:
    """Rebuild the target's system CA store after certificates were removed from it."""
    for program, args in CA_STORE_UPDATERS:
        st = ctx.fs.stat(program)
        if st is not None and stat.S_ISREG(st.st_mode):
            run_program(ctx, ["/" + program, *args])
            return
    ctx.warning(
        "no tool to rebuild the system CA store was found in the target; rebuild it at first boot"
    )


# Removing a certificate from the system store (ca-certificates, ipa-client) calls for it.
REBUILD_CA_STORE = Followup("rebuild-ca-store", update_ca_store)
