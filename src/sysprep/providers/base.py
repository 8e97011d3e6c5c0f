"""What a provider is, and the context it works through.

A provider is the seed's "Sysprep provider": a named unit of work of one phase. It sees the
target only through its Context, whose operations go through the confined layer, record one
action each, and in a dry run only plan.
"""

from __future__ import annotations

import enum
import re
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

from sysprep.providers.actions import Action, Followup, shown
from sysprep.rules import passwd
from sysprep.target.confined import Outcome, Refused
from sysprep.text import plural

if TYPE_CHECKING:
    from sysprep.log import RunLog
    from sysprep.target import Target
    from sysprep.target.confined import Confined


class Phase(str, enum.Enum):
    """When a provider runs: cleanup (every run), generalize (identity), specialize (boot)."""

    CLEANUP = "cleanup"
    GENERALIZE = "generalize"
    SPECIALIZE = "specialize"


PHASE_ORDER = {Phase.CLEANUP: 0, Phase.GENERALIZE: 1, Phase.SPECIALIZE: 2}

# Tags let answer-file settings act on groups of providers.
HARDWARE = "hardware"  # skipped when devices are persisted (PersistAllDeviceInstalls, /mode:vm)
ACTIVATION = "activation"  # skipped with SkipRearm
IMAGE = "image"  # acts on the disk image itself (UUIDs, swap): skipped on other targets

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class Settings:
    """What a provider may consult besides the target: options and answer-file settings."""

    persist_devices: bool = False
    mode_vm: bool = False
    skip_rearm: bool = False
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    answer: object | None = None  # the answer-file model (sysprep.answer), when one is used
    boot_passes: bool = True  # False: --no-boot-passes, nothing of sysprep runs at the next boot

    def option(self, name: str) -> tuple[str, ...]:
        return tuple(self.options.get(name, ()))


def no_logic(ctx: Context) -> None:
    """The `run` of a provider that is only its actions."""


@dataclass(frozen=True)
class Provider:
    name: str
    heading: str
    description: str  # why: the paths it touches are listed from `actions` and `paths`
    phase: Phase
    run: Callable[[Context], None] = no_logic  # the logic beyond `actions`, run after them
    default: bool = True
    tags: frozenset[str] = frozenset()
    # what it touches, for `sysprep providers show`: the paths of `actions` come first
    paths: tuple[str, ...] = ()
    actions: tuple[
        Action, ...
    ] = ()  # paths removed, emptied or truncated (sysprep.providers.actions)
    limits: str = ""
    order: int = 50  # within a phase; ties are broken by name
    source: str = "built-in"
    options: tuple[str, ...] = ()  # the provider options (Settings.options) it reads
    # ACTIVATION: patterns of the files that exist only while the image is registered, for
    # `sysprep license` (a provider without them is judged by its paths)
    registration: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", (*shown(self.actions), *self.paths))

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (PHASE_ORDER[self.phase], self.order, self.name)

    @property
    def followups(self) -> tuple[Followup, ...]:
        """The shared work its actions may call for, once per run (see Followup)."""
        return tuple(dict.fromkeys(a.then for a in self.actions if a.then is not None))

    def perform(self, ctx: Context) -> None:
        """Its actions, then its logic; the follow-ups called for are noted in `ctx.due`."""
        for action in self.actions:
            if action.perform(ctx) and action.then is not None:
                ctx.due.add(action.then)
        self.run(ctx)


class Context:
    """The one way a provider touches the target."""

    def __init__(
        self,
        target: Target,
        log: RunLog,
        provider: Provider,
        settings: Settings,
        *,
        dry_run: bool,
    ) -> None:
        self.target = target
        self.log = log
        self.provider = provider
        self.settings = settings
        self.dry_run = dry_run
        self.actions = 0
        self.files = 0
        self.bytes = 0
        self.errors: list[str] = []
        self.due: set[Followup] = set()  # follow-ups its changes call for

    @property
    def fs(self) -> Confined:
        """Reading the target (and, for the rare provider that needs it, raw operations)."""
        return self.target.fs

    # -- logging ----------------------------------------------------------------------

    def info(self, msg: str) -> None:
        self.log.info(msg, self.provider.name)

    def warning(self, msg: str) -> None:
        self.log.warning(msg, self.provider.name)

    def fail(self, msg: str) -> None:
        """Note a failure; the provider goes on and is reported failed when it returns."""
        self.errors.append(msg)
        self.log.error(msg, self.provider.name)

    def note(self, outcome: Outcome | None) -> Outcome | None:
        """Record what an operation did (or would do)."""
        if outcome is None:
            return None
        for path, reason in outcome.skipped:
            self.warning(f"skipped /{path}: {reason}")
        for path, err in outcome.errors:
            self.fail(f"could not {outcome.op} /{path}: {err}")
        if (
            outcome.files
            or outcome.dirs
            or outcome.op not in ("remove", "clean", "truncate")
            or outcome.errors
        ):
            self.actions += 1
            self.files += outcome.files
            self.bytes += outcome.bytes
            rec = {"provider": self.provider.name, **outcome.record()}
            self.log.record(rec)
            self.info(_describe(outcome))
        return outcome

    # -- operations (each accepts shell patterns, matched inside the target) ------------

    def remove(self, *patterns: str, files_only: bool = False, keep: Iterable[str] = ()) -> int:
        """Remove every match (files, symlinks, whole trees; with `files_only`, no
        directory) but the paths in `keep`; returns how many were removed."""
        return self._each(patterns, self.fs.remove, dirs=not files_only, keep=frozenset(keep))

    def clean(self, *patterns: str, keep_dirs: bool = False) -> int:
        """Empty every matching directory, keeping the directory itself (and, with
        `keep_dirs`, every sub-directory: only files go)."""
        return self._each(patterns, lambda p: self.fs.clean(p, keep_dirs=keep_dirs))

    def truncate(self, *patterns: str) -> int:
        """Empty every matching regular file, keeping the file."""
        return self._each(patterns, self.fs.truncate)

    def _each(
        self,
        patterns: tuple[str, ...],
        op: Callable[[str], Outcome | None],
        *,
        dirs: bool = True,
        keep: frozenset[str] = frozenset(),
    ) -> int:
        done = 0
        for pattern in patterns:
            for path in self.fs.glob(pattern):
                if path in keep or (not dirs and self._is_dir(path)):
                    continue
                out = self.note(op(path))
                if out is not None and (out.files or out.dirs):
                    done += 1
        return done

    def _is_dir(self, path: str) -> bool:
        st = self.fs.lstat(path)
        return st is None or stat.S_ISDIR(st.st_mode)

    def write(
        self,
        path: str,
        data: bytes | str,
        *,
        mode: int = 0o644,
        uid: int = 0,
        gid: int = 0,
        make_parents: bool = False,
    ) -> None:
        raw = data.encode() if isinstance(data, str) else data
        try:
            self.note(
                self.fs.write(path, raw, mode=mode, uid=uid, gid=gid, make_parents=make_parents)
            )
        except Refused as r:
            self.fail(f"could not write /{r.path}: {r.reason}")

    def symlink(self, target: str, path: str) -> None:
        try:
            self.note(self.fs.symlink(target, path))
        except Refused as r:
            self.fail(f"could not make /{r.path} a link: {r.reason}")

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        try:
            self.note(self.fs.mkdir(path, mode))
        except Refused as r:
            self.fail(f"could not create /{r.path}: {r.reason}")

    # -- what many providers need -----------------------------------------------------

    def homes(self) -> list[str]:
        """Home directories of root and every user (from passwd, plus home/*), canonical."""
        found: list[str] = []
        for e in passwd.entries(self.fs.read_text("etc/passwd") or ""):
            if e.home.startswith("/") and e.home != "/":
                if e.shell.endswith(("nologin", "/false")) and not e.home.startswith(
                    ("/home/", "/root")
                ):
                    continue
                found.append(e.home)
        found.extend(["root", *(f"home/{n}" for n in self.fs.listdir("home"))])
        homes: list[str] = []
        for h in found:
            real = self.fs.realpath(h)
            st = self.fs.stat(h)
            if real and real not in homes and st is not None and stat.S_ISDIR(st.st_mode):
                homes.append(real)
        return homes

    def in_homes(self, *names: str) -> Iterator[str]:
        """Patterns for `names` (e.g. ".bash_history") in every home directory."""
        for home in self.homes():
            for name in names:
                yield f"{home}/{name}"


def _describe(o: Outcome) -> str:
    verb = {
        "remove": "Removed",
        "clean": "Emptied",
        "truncate": "Truncated",
        "write": "Wrote",
        "mkdir": "Created",
        "symlink": "Linked",
        "chmod": "Changed mode of",
        "run": "Ran",
    }.get(o.op, o.op)
    what = f"/{o.path}"
    if o.op in ("remove", "clean") and o.kind == "dir":
        what += (
            f" ({plural(o.files, 'file')}, {plural(o.dirs, 'folder')}, {plural(o.bytes, 'byte')})"
        )
    elif o.op in ("remove", "truncate", "write"):
        what += f" ({plural(o.bytes, 'byte')})"
    if o.detail:
        what += f" -> {o.detail}" if o.op == "symlink" else f" ({o.detail})"
    return f"{verb} {what}"
