"""What most providers are: a list of paths to remove, empty or truncate, stated as data.

A provider declares its actions once (`Provider(actions=(Remove(...), Clean(...)))`); the
framework performs them, and the paths shown by `providers show`, the plan and the man page
are derived from the same declaration. A pattern is a shell pattern inside the target
("var/log/*.log"); one that starts with "~/" is looked for in every home directory.

A `Followup` is work that several providers may need after they changed something (the
CA store rebuild): it runs once per run, after the last provider that declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Union

if TYPE_CHECKING:
    from sysprep.providers.base import Context

HOME = "~/"


@dataclass(frozen=True)
class Followup:
    """Work done once per run when any provider that declares it changed something."""

    name: str
    run: Callable[[Context], None]


@dataclass(frozen=True)
class Remove:
    """Remove every match: files, links (never their target) and whole trees.

    `files_only`: leave directories (virt-sysprep's `rm` on a glob). `keep`: exact paths
    that are never removed (a distribution's own file among the matches)."""

    patterns: tuple[str, ...]
    files_only: bool = False
    keep: tuple[str, ...] = ()
    then: Followup | None = None

    def __init__(
        self,
        *patterns: str,
        files_only: bool = False,
        keep: tuple[str, ...] = (),
        then: Followup | None = None,
    ) -> None:
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "files_only", files_only)
        object.__setattr__(self, "keep", keep)
        object.__setattr__(self, "then", then)

    def shown(self) -> tuple[str, ...]:
        return tuple(_shown(p, " (files)" if self.files_only else "") for p in self.patterns)

    def perform(self, ctx: Context) -> int:
        return ctx.remove(*_expand(ctx, self.patterns), files_only=self.files_only, keep=self.keep)


@dataclass(frozen=True)
class Clean:
    """Empty every matching folder and keep it (`keep_dirs`: keep every sub-folder too,
    only files go)."""

    patterns: tuple[str, ...]
    keep_dirs: bool = False
    then: Followup | None = None

    def __init__(
        self, *patterns: str, keep_dirs: bool = False, then: Followup | None = None
    ) -> None:
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "keep_dirs", keep_dirs)
        object.__setattr__(self, "then", then)

    def shown(self) -> tuple[str, ...]:
        return tuple(_shown(p, "/** (files)" if self.keep_dirs else "/*") for p in self.patterns)

    def perform(self, ctx: Context) -> int:
        return ctx.clean(*_expand(ctx, self.patterns), keep_dirs=self.keep_dirs)


@dataclass(frozen=True)
class Truncate:
    """Empty every matching regular file and keep the file."""

    patterns: tuple[str, ...]
    then: Followup | None = None

    def __init__(self, *patterns: str, then: Followup | None = None) -> None:
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "then", then)

    def shown(self) -> tuple[str, ...]:
        return tuple(_shown(p, "") for p in self.patterns)

    def perform(self, ctx: Context) -> int:
        return ctx.truncate(*_expand(ctx, self.patterns))


Action = Union[Remove, Clean, Truncate]


def shown(actions: tuple[Action, ...]) -> tuple[str, ...]:
    """The paths of `providers show` for these actions, in their order."""
    return tuple(s for a in actions for s in a.shown())


def _shown(pattern: str, suffix: str) -> str:
    if pattern.startswith(HOME):
        return f"{pattern}{suffix.replace(' (files)', '')} (every home{', files' if 'files' in suffix else ''})"
    return f"/{pattern}{suffix}"


def _expand(ctx: Context, patterns: tuple[str, ...]) -> list[str]:
    """The patterns, those under "~/" once for every home directory."""
    out: list[str] = []
    for p in patterns:
        if p.startswith(HOME):
            out.extend(ctx.in_homes(p[len(HOME) :]))
        else:
            out.append(p)
    return out
