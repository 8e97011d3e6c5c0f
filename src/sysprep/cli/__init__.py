"""The command line, in both syntaxes, driven by one table of options -> one Request.

The Windows syntax (`/generalize /oobe /mode:vm /unattend:FILE`, any case) is translated to
the GNU long options before parsing, so both mean exactly the same. The same table produces
`--help`, the man page and the shell completions (see sysprep.docs).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any, NoReturn, Sequence

from sysprep import __version__
from sysprep.cli.options import (
    ACTIONS as ACTIONS,
)
from sysprep.cli.options import (
    BATCH as BATCH,
)
from sysprep.cli.options import (
    BATCH_OPTIONS as BATCH_OPTIONS,
)
from sysprep.cli.options import (
    BATCH_PASSED as BATCH_PASSED,
)
from sysprep.cli.options import (
    BY_NAME as BY_NAME,
)
from sysprep.cli.options import (
    CUSTOMIZE as CUSTOMIZE,
)
from sysprep.cli.options import (
    DESCRIPTION as DESCRIPTION,
)
from sysprep.cli.options import (
    EPILOG as EPILOG,
)
from sysprep.cli.options import (
    FINISH as FINISH,
)
from sysprep.cli.options import (
    OPTIONS as OPTIONS,
)
from sysprep.cli.options import (
    OUTPUT as OUTPUT,
)
from sysprep.cli.options import (
    SELECT as SELECT,
)
from sysprep.cli.options import (
    SPELLED as SPELLED,
)
from sysprep.cli.options import (
    SUBCOMMANDS as SUBCOMMANDS,
)
from sysprep.cli.options import (
    TARGET as TARGET,
)
from sysprep.cli.options import (
    WINDOWS as WINDOWS,
)
from sysprep.cli.options import (
    Opt as Opt,
)
from sysprep.errors import UsageError, not_regular
from sysprep.request import Customize, Power, Request, Reseal, Selection, TargetKind, TargetSpec
from sysprep.target import hostroot
from sysprep.target.image.formats import FORMATS


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2) instead of printing usage, and
    takes only whole option names (`--roo /srv` is an error, not a guess at --root)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # sub-command parsers are made by this class too
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser(prog: str = "sysprep") -> Parser:
    p = Parser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=True,
    )
    p.add_argument("--version", action="version", version=f"sysprep {__version__}")
    add_options(p, OPTIONS)
    return p


def add_options(p: argparse.ArgumentParser, options: Sequence[Opt]) -> None:
    """Add options of the table to a parser, in groups (the main command's and sub-commands')."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for o in options:
        g = groups.get(o.group) or groups.setdefault(o.group, p.add_argument_group(o.group))
        flags = [*o.long] + (["-" + o.short] if o.short else [])
        dest = o.name.replace("-", "_")
        if o.metavar is None:
            g.add_argument(*flags, dest=dest, action="store_true", help=o.help)
        elif o.repeat:
            g.add_argument(
                *flags, dest=dest, metavar=o.metavar, action="append", default=[], help=o.help
            )
        else:
            g.add_argument(*flags, dest=dest, metavar=o.metavar, help=o.help)


_WINDOWS_TOKEN = re.compile(r"^/([A-Za-z][A-Za-z-]*)(?::(.*))?$", re.S)
# Options whose value may start with '-' ('-NAME' removes an operation): argparse would read
# such a value as an option, so `--operations -x` is passed to it as `--operations=-x`.
DASH_VALUES = ("--operations", "--enable", "--disable")


def join_dash_values(argv: Sequence[str]) -> list[str]:
    """`--operations VALUE` -> `--operations=VALUE` (up to `--`), for every parser."""
    out: list[str] = []
    rest = iter(argv)
    for tok in rest:
        if tok == "--":
            return [*out, tok, *rest]
        nxt = next(rest, None) if tok in DASH_VALUES else None
        if nxt is None:
            out.append(tok)
        elif nxt == "--":
            return [*out, tok, nxt, *rest]
        else:
            out.append(f"{tok}={nxt}")
    return out


def translate_windows(argv: Sequence[str]) -> list[str]:
    """Rewrite /name and /name:value tokens to --name [value]; leave values of options alone,
    and everything after `--`."""
    out: list[str] = []
    expects_value = False
    rest = iter(join_dash_values(argv))
    for tok in rest:
        if tok == "--" and not expects_value:  # what follows is not an option, of either syntax
            extra = list(rest)
            if extra:
                raise UsageError(
                    f"unexpected argument {extra[0]!r} after --: sysprep takes no "
                    "arguments, only options (given before --)"
                )
            return out
        if expects_value:
            out.append(tok)
            expects_value = False
            continue
        m = _WINDOWS_TOKEN.match(tok)
        if m:
            name, value = m.group(1).lower(), m.group(2)
            opt = WINDOWS.get(name)
            if opt is None:
                raise UsageError(
                    f"unknown option {tok} (Windows-style options: "
                    + " ".join("/" + n for n in WINDOWS)
                    + ")"
                )
            if opt.metavar is None and value is not None:
                raise UsageError(f"/{name} takes no value (got {tok})")
            if opt.metavar is not None and not value:
                raise UsageError(f"/{name} needs a value: /{name}:{opt.metavar}")
            out.append("--" + opt.name)
            if value is not None:
                out.append(value.lower() if opt.choices else value)
            continue
        if tok.startswith("-"):
            opt = SPELLED.get(tok.split("=", 1)[0])
            expects_value = bool(opt and opt.metavar and "=" not in tok)
        out.append(tok)
    return out


def parse(argv: Sequence[str]) -> tuple[Request, argparse.Namespace]:
    """The main command's arguments -> a validated Request (UsageError when they are wrong)."""
    ns = build_parser().parse_args(translate_windows(argv))
    return to_request(ns), ns


def _csv(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def to_request(ns: argparse.Namespace) -> Request:
    if ns.audit and ns.oobe:
        raise UsageError("/audit and /oobe exclude each other: choose one")
    if ns.mode is not None:
        if ns.mode.lower() != "vm":
            raise UsageError(f"unknown mode {ns.mode!r}: the only mode is vm (/mode:vm)")
        if not ns.generalize:
            raise UsageError("/mode:vm is only valid with /generalize")
    if ns.no_boot_passes:
        if not ns.generalize:
            raise UsageError("--no-boot-passes is only valid with --generalize")
        if ns.audit or ns.oobe:
            raise UsageError(
                f"--no-boot-passes excludes --{'audit' if ns.audit else 'oobe'}: "
                "the welcome and audit mode are boot-time passes"
            )
    finish = [n for n in ("quit", "reboot", "shutdown") if getattr(ns, n)]
    if len(finish) > 1:
        raise UsageError("choose at most one of /reboot, /shutdown and /quit")
    power = Power(finish[0]) if finish else Power.QUIT
    if ns.format is not None and ns.format.lower() not in FORMATS:
        raise UsageError(f"unknown image format {ns.format!r}: use one of {', '.join(FORMATS)}")

    target = _target(ns)
    if target.offline and power is not Power.QUIT:
        raise UsageError(
            f"/{power.value} only applies to the live system; an offline target "
            "is not rebooted or shut down by sysprep (omit it)"
        )
    reseal = Reseal.AUDIT if ns.audit else Reseal.OOBE if ns.oobe else None
    options = []
    if ns.keep_user_accounts:
        options.append(("keep-user-accounts", ns.keep_user_accounts))
    if ns.remove_user_accounts:
        options.append(("remove-user-accounts", ns.remove_user_accounts))
    for script in ns.script:
        _regular_file(script, f"--script {script}")
        options.append(("script", os.path.abspath(script)))
    if ns.unattend is not None:
        _regular_file(ns.unattend, f"answer file {ns.unattend}")
    return Request(
        generalize=ns.generalize,
        reseal=reseal,
        mode_vm=ns.mode is not None,
        no_boot_passes=ns.no_boot_passes,
        power=power,
        quiet=ns.quiet,
        verbose=ns.verbose,
        trace=ns.trace,
        unattend=os.path.abspath(ns.unattend) if ns.unattend else None,
        target=target,
        dry_run=ns.dry_run,
        json=ns.json,
        strict=ns.strict,
        selection=Selection(
            operations=_csv(ns.operations) if ns.operations else None,
            enable=_csv(ns.enable),
            disable=_csv(ns.disable),
        ),
        options=tuple(options),
        customize=_customize(ns),
    )


def _password_selector(value: str, what: str) -> str:
    if value in ("random", "disabled") or value.startswith(("password:", "file:")):
        if value.startswith("file:"):
            _regular_file(value[5:], f"{what} file:{value[5:]}")
        if value == "password:":
            raise UsageError(f"{what} password: needs a password after the colon")
        return value
    raise UsageError(f"{what} {value}: use file:FILE, password:PASSWORD, random or disabled")


def _customize(ns: argparse.Namespace) -> Customize:
    """The virt-customize spellings, checked for form (their meaning is checked with the
    answer file they compile into)."""
    root = ns.root_password
    passwords = []
    for item in ns.password:
        user, sep, selector = item.partition(":")
        if not sep or not user:
            raise UsageError(f"--password {item}: use USER:SELECTOR (e.g. alice:file:pw.txt)")
        passwords.append((user, _password_selector(selector, f"--password {user}:")))
    keys = []
    for item in ns.ssh_inject:
        user, _, selector = item.partition(":")
        if not user:
            raise UsageError(f"--ssh-inject {item}: use USER[:file:FILE|:string:KEY]")
        if selector.startswith("file:"):
            _regular_file(selector[5:], f"--ssh-inject {user}:file:{selector[5:]}")
        elif selector and not selector.startswith("string:"):
            raise UsageError(f"--ssh-inject {item}: the selector is file:FILE or string:KEY")
        keys.append((user, selector))
    c = Customize(
        hostname=ns.hostname,
        root_password=_password_selector(root, "--root-password") if root else None,
        passwords=tuple(passwords),
        ssh_inject=tuple(keys),
        timezone=ns.timezone,
        firstboot_commands=tuple(ns.firstboot_command),
        run_commands=tuple(ns.run_command),
    )
    if c.run_commands and not ns.generalize:
        raise UsageError("--run-command runs in the generalize pass: add --generalize")
    return c


def _regular_file(path: str, what: str) -> None:
    """A file the command line names must exist and be a regular file (not a pipe that reads
    as empty, nor a folder)."""
    try:
        kind = not_regular(os.stat(path).st_mode)
    except OSError:
        raise UsageError(f"{what}: no such file") from None
    if kind is not None:
        raise UsageError(f"{what}: {kind}, not a regular file")


def _target(ns: argparse.Namespace) -> TargetSpec:
    if ns.root and ns.image:
        raise UsageError("--root and --image exclude each other: give one target")
    if ns.image:
        for img in ns.image:
            if not os.path.exists(img):
                raise UsageError(f"--image {img}: no such file")
        return TargetSpec(
            TargetKind.IMAGE,
            images=tuple(os.path.abspath(i) for i in ns.image),
            image_format=ns.format.lower() if ns.format else None,
            allow_block_device=bool(getattr(ns, "allow_block_device", False)),
            root_fs=ns.root_fs,
            sparsify=bool(getattr(ns, "sparsify", False)),
            zero_free_space=bool(getattr(ns, "zero_free_space", False)),
        )
    if (
        ns.format
        or ns.root_fs
        or getattr(ns, "sparsify", False)
        or getattr(ns, "zero_free_space", False)
    ):
        raise UsageError(
            "--format, --root-fs, --sparsify and --zero-free-space only apply with --image"
        )
    if ns.root is not None:
        return root_spec(ns.root)
    return TargetSpec(TargetKind.LIVE)


def root_spec(root: str) -> TargetSpec:
    """--root DIR, checked: an existing directory that is not the running system."""
    if not os.path.isdir(root):
        raise UsageError(f"--root {root}: not a directory")
    real = os.path.realpath(root)
    if real == "/" or hostroot.is_host_root(real):  # a bind mount of / is / too
        raise UsageError(
            f"--root {root} names the running system (it is its /): omit --root "
            "to prepare the live system"
        )
    return TargetSpec(TargetKind.ROOT, root=real)


def add_target_options(p: argparse.ArgumentParser, images: bool = True) -> None:
    """--root (and --image) for the sub-commands that read or change a target."""
    p.add_argument("--root", metavar="DIR", help=BY_NAME["root"].help)
    if images:
        p.add_argument(
            *BY_NAME["image"].long,
            "-a",
            dest="image",
            metavar="FILE",
            action="append",
            default=[],
            help=BY_NAME["image"].help,
        )
        p.add_argument("--format", metavar="FORMAT", help=BY_NAME["format"].help)
        p.add_argument("--root-fs", metavar="DEV", help=BY_NAME["root-fs"].help)


def target_from(ns: argparse.Namespace) -> TargetSpec:
    if not hasattr(ns, "image"):
        ns.image, ns.format, ns.root_fs = [], None, None
    return _target(ns)


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
