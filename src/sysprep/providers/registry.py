"""All providers: built-in modules, Python entry points and executables in the target.

The registry is checked when it is built (unique names, headings without a final period),
and selection follows virt-sysprep: --operations (with 'defaults', 'all', '-NAME'), then
--enable and --disable.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from importlib import metadata
from typing import Any, Iterable, Sequence

from sysprep.errors import UsageError
from sysprep.providers.base import NAME, Phase, Provider
from sysprep.request import Selection

ENTRY_POINT_GROUP = "sysprep.providers"


def _collect(obj: object, where: str) -> list[Provider]:
    if isinstance(obj, Provider):
        return [obj]
    if isinstance(obj, (list, tuple)) and all(isinstance(p, Provider) for p in obj):
        return list(obj)
    raise TypeError(f"{where}: expected a Provider or a list of them, got {type(obj).__name__}")


@functools.cache
def builtin() -> tuple[Provider, ...]:
    """One provider (or a few) per module of sysprep.providers.builtin."""
    from sysprep.providers import builtin as pkg

    found = from_package(pkg.__name__, pkg.__path__)
    check(found)
    return tuple(found)


def from_package(name: str, path: Iterable[str]) -> list[Provider]:
    """The providers of every module of a package but its `_private` ones; a module without
    PROVIDER (or PROVIDERS) is an error, not a provider silently left out."""
    found: list[Provider] = []
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{name}.{info.name}")
        obj = getattr(mod, "PROVIDERS", None) or getattr(mod, "PROVIDER", None)
        if obj is None:
            raise TypeError(
                f"{mod.__name__}: a provider module must define PROVIDER "
                "(or PROVIDERS); helpers belong in a module named _*"
            )
        found.extend(_collect(obj, mod.__name__))
    return found


def entry_points() -> tuple[Provider, ...]:
    """Providers that installed Python packages register in the `sysprep.providers` group."""
    try:
        group = _entry_points_group()
    except Exception:  # a broken distribution must not stop sysprep
        return ()
    found: list[Provider] = []
    for ep in sorted(group, key=lambda e: e.name):
        try:
            loaded = ep.load()
        except Exception as e:
            raise UsageError(
                f"provider entry point {ep.name} ({ep.value}) cannot be loaded: {e}"
            ) from None
        for p in _collect(
            loaded() if callable(loaded) and not isinstance(loaded, Provider) else loaded,
            f"entry point {ep.name}",
        ):
            found.append(_with_source(p, f"entry point {ep.value}"))
    return tuple(found)


def _entry_points_group() -> list[metadata.EntryPoint]:
    """Installed entry points, and those bundled into the runtime an image carries."""
    eps: Any = metadata.entry_points()
    if hasattr(eps, "select"):  # Python 3.10 and newer
        found = list(eps.select(group=ENTRY_POINT_GROUP))
    else:
        found = list(eps.get(ENTRY_POINT_GROUP, []))  # Python 3.9: a dict of groups
    names = {ep.name for ep in found}
    for name, value in bundled_plugins():
        if name not in names:
            found.append(metadata.EntryPoint(name, value, ENTRY_POINT_GROUP))
    return found


PLUGINS_RESOURCE = "plugins.json"


def bundled_plugins() -> list[tuple[str, str]]:
    """(name, "module:attr") of the entry-point providers copied into the runtime bundle."""
    import json
    import pkgutil

    try:
        data = pkgutil.get_data("sysprep", PLUGINS_RESOURCE)
    except OSError:
        return []
    if not data:
        return []
    return [(str(n), str(v)) for n, v in json.loads(data)]


def entry_point_specs() -> list[tuple[str, str]]:
    """(name, value) of every provider entry point visible here (for the bundle builder)."""
    try:
        return sorted((ep.name, ep.value) for ep in _entry_points_group())
    except Exception:
        return []


def _with_source(p: Provider, source: str) -> Provider:
    from dataclasses import replace

    return replace(p, source=source)


def check(providers: Iterable[Provider]) -> None:
    seen: set[str] = set()
    for p in providers:
        if not NAME.match(p.name):
            raise ValueError(
                f"provider name {p.name!r} must be lower-case letters, digits, '.', '_', '-'"
            )
        if p.name in seen:
            raise ValueError(f"two providers are named {p.name}")
        seen.add(p.name)
        if not p.heading or p.heading.endswith("."):
            raise ValueError(f"provider {p.name}: heading must be non-empty without a final period")


class Registry:
    def __init__(self, providers: Sequence[Provider]) -> None:
        check(providers)
        self.providers = sorted(providers, key=lambda p: p.sort_key)
        self.by_name = {p.name: p for p in self.providers}

    @classmethod
    def load(cls, extra: Sequence[Provider] = ()) -> Registry:
        return cls([*builtin(), *entry_points(), *extra])

    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def get(self, name: str) -> Provider:
        try:
            return self.by_name[name]
        except KeyError:
            raise UsageError(
                f"unknown operation {name!r} (see sysprep --list-operations)"
            ) from None

    def check_names(self, sel: Selection) -> None:
        """Reject unknown names in a selection (before anything is touched)."""
        for item in (*(sel.operations or ()), *sel.enable, *sel.disable):
            name = item[1:] if item.startswith("-") else item
            if name not in ("defaults", "all"):
                self.get(name)

    def select(self, sel: Selection, phases: Iterable[Phase]) -> list[Provider]:
        """The providers to run, in run order, for the given phases."""
        self.check_names(sel)
        if sel.operations is None:
            chosen = {p.name for p in self.providers if p.default}
        else:
            chosen = set()
            for item in sel.operations:
                remove = item.startswith("-")
                name = item[1:] if remove else item
                if name == "defaults":
                    names = {p.name for p in self.providers if p.default}
                elif name == "all":
                    names = set(self.by_name)
                else:
                    names = {name}
                chosen = chosen - names if remove else chosen | names
        chosen |= set(sel.enable)
        chosen -= set(sel.disable)
        wanted = set(phases)
        return [p for p in self.providers if p.name in chosen and p.phase in wanted]
