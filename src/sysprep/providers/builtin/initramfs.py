"""initramfs: make a host-only initramfs generic, so that clones boot on other hardware.

A host-only initramfs carries only the drivers of the machine it was built on: a clone on
another controller or another hypervisor does not find its root file system. Each
generator is found by what the target contains (dracut: Fedora, RHEL, SUSE...;
initramfs-tools: Debian, Ubuntu; mkinitcpio: Arch). Its configuration is made generic with
a drop-in (or, for mkinitcpio, in place), then the image's own tool rebuilds the initramfs
of every installed kernel, inside the sandbox for an offline target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from sysprep.providers.base import HARDWARE, Context, Phase, Provider
from sysprep.providers.builtin._util import first_existing, run_program, shell_vars

DRACUT_DROPIN = "etc/dracut.conf.d/zz-sysprep-generic.conf"
ITOOLS_DROPIN = "etc/initramfs-tools/conf.d/zz-sysprep-generic"
MKINITCPIO_DROPIN = "etc/mkinitcpio.conf.d/zz-sysprep-generic.conf"
HEADER = (
    "# Written by sysprep (initramfs provider): a generic initramfs, so that clones boot\n"
    "# on other hardware.\n"
)


def _dracut_files(ctx: Context) -> list[str]:
    """dracut.conf, then the conf.d drop-ins by name (/etc overriding /usr/lib)."""
    by_name: dict[str, str] = {}
    for d in ("usr/lib/dracut/dracut.conf.d", "etc/dracut.conf.d"):
        for name in ctx.fs.listdir(d):
            if name.endswith(".conf"):
                by_name[name] = f"{d}/{name}"
    return ["etc/dracut.conf", *(by_name[n] for n in sorted(by_name))]


def dracut_hostonly(ctx: Context) -> str:
    value = ""
    for path in _dracut_files(ctx):
        conf = shell_vars(ctx.fs.read_text(path) or "")
        value = conf.get("hostonly", value)
    return value


def _itools_files(ctx: Context) -> list[str]:
    files = ["etc/initramfs-tools/initramfs.conf"]
    for d in ("usr/share/initramfs-tools/conf.d", "etc/initramfs-tools/conf.d"):
        files += [
            f"{d}/{n}"
            for n in ctx.fs.listdir(d)
            if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", n) and ".dpkg-" not in n
        ]
    return files


def initramfs_tools_modules(ctx: Context) -> str:
    value = "most"
    for path in _itools_files(ctx):
        value = shell_vars(ctx.fs.read_text(path) or "").get("MODULES", value)
    return value


_HOOKS = re.compile(r"^[ \t]*HOOKS=\(([^)]*)\)", re.M)


def _mkinitcpio_files(ctx: Context) -> list[str]:
    d = "etc/mkinitcpio.conf.d"
    return ["etc/mkinitcpio.conf", *(f"{d}/{n}" for n in ctx.fs.listdir(d) if n.endswith(".conf"))]


def mkinitcpio_hooks(ctx: Context) -> tuple[str | None, list[str]]:
    """The file holding the effective HOOKS=(...) and the hooks."""
    where, hooks = None, []
    for path in _mkinitcpio_files(ctx):
        found = _HOOKS.findall(ctx.fs.read_text(path) or "")
        if found:
            where, hooks = path, found[-1].split()
    return where, hooks


def _generic_dracut(ctx: Context) -> list[str]:
    ctx.write(DRACUT_DROPIN, HEADER + 'hostonly="no"\n', make_parents=True)
    return ["--force", "--no-hostonly", "--regenerate-all"]


def _generic_itools(ctx: Context) -> list[str]:
    ctx.write(ITOOLS_DROPIN, HEADER + "MODULES=most\n", make_parents=True)
    return ["-u", "-k", "all"]


def _generic_mkinitcpio(ctx: Context) -> list[str]:
    # a drop-in read after every other (mkinitcpio sources mkinitcpio.conf.d/*.conf in order),
    # so that removing it at the clone's specialize pass restores the image's own hooks
    _, hooks = mkinitcpio_hooks(ctx)
    generic = " ".join(h for h in hooks if h != "autodetect")
    ctx.write(MKINITCPIO_DROPIN, HEADER + f"HOOKS=({generic})\n", make_parents=True)
    return ["-P"]


@dataclass(frozen=True)
class Generator:
    name: str
    programs: tuple[str, ...]
    dropin: str  # what make_generic writes: its removal gives back the image's own configuration
    rebuild: tuple[str, ...]  # rebuild every kernel's initramfs as the configuration says
    host_only: Callable[[Context], str | None]  # why it is host-only, or None
    make_generic: Callable[[Context], list[str]]  # returns the rebuild arguments


def _dracut_why(ctx: Context) -> str | None:
    v = dracut_hostonly(ctx)
    return f'dracut hostonly="{v}"' if v.lower() in ("yes", "y", "1", "true") else None


def _itools_why(ctx: Context) -> str | None:
    v = initramfs_tools_modules(ctx)
    return f"initramfs-tools MODULES={v}" if v == "dep" else None


def _mkinitcpio_why(ctx: Context) -> str | None:
    where, hooks = mkinitcpio_hooks(ctx)
    return f"mkinitcpio autodetect hook in /{where}" if "autodetect" in hooks else None


GENERATORS = (
    Generator(
        "dracut",
        ("usr/bin/dracut", "usr/sbin/dracut", "sbin/dracut"),
        DRACUT_DROPIN,
        ("--force", "--regenerate-all"),
        _dracut_why,
        _generic_dracut,
    ),
    Generator(
        "initramfs-tools",
        ("usr/sbin/update-initramfs", "sbin/update-initramfs"),
        ITOOLS_DROPIN,
        ("-u", "-k", "all"),
        _itools_why,
        _generic_itools,
    ),
    Generator(
        "mkinitcpio",
        ("usr/bin/mkinitcpio",),
        MKINITCPIO_DROPIN,
        ("-P",),
        _mkinitcpio_why,
        _generic_mkinitcpio,
    ),
)


def run(ctx: Context) -> None:
    for gen in GENERATORS:
        program = first_existing(ctx, *gen.programs)
        if program is None:
            continue
        why = gen.host_only(ctx)
        if why is None:
            ctx.info(f"{gen.name}: the initramfs is already generic")
            continue
        ctx.info(f"{gen.name}: host-only ({why}); making it generic and rebuilding")
        args = gen.make_generic(ctx)
        run_program(ctx, ["/" + program, *args])


PROVIDER = Provider(
    name="initramfs",
    heading="Make a host-only initramfs generic and rebuild it",
    description=(
        "When the initramfs is built for this machine's hardware only (dracut with "
        'hostonly="yes", the default of Fedora, RHEL and SUSE; initramfs-tools with '
        "MODULES=dep; mkinitcpio with the autodetect hook), makes the configuration generic "
        '(a drop-in /etc/dracut.conf.d/zz-sysprep-generic.conf with hostonly="no", '
        "/etc/initramfs-tools/conf.d/zz-sysprep-generic with MODULES=most, "
        "/etc/mkinitcpio.conf.d/zz-sysprep-generic.conf with HOOKS without autodetect) and rebuilds the initramfs of every installed kernel with the image's own "
        "tool (dracut --regenerate-all, update-initramfs -u -k all, mkinitcpio -P), in the "
        "sandbox for an offline image; not in a dry run (the plan lists it). Kept when "
        "devices are persisted (PersistAllDeviceInstalls, /mode:vm). At the clone's first boot "
        "the specialize provider initramfs-hostonly removes the drop-in and rebuilds a host-only "
        "initramfs for the clone's own hardware."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({HARDWARE}),
    order=90,  # after the configuration the initramfs may embed was generalized
    paths=(
        "/" + DRACUT_DROPIN,
        "/" + ITOOLS_DROPIN,
        "/" + MKINITCPIO_DROPIN,
        "/boot/initr* (rebuilt)",
    ),
    limits="A generic initramfs is larger and slower to build. The rebuild needs bubblewrap "
    "for an offline image, and the image's kernels and modules in /usr/lib/modules.",
)
