"""One answer on top of another, per setting: the command line's options over a file.

A setting is one element of one component in one pass (specialize's ComputerName,
oobeSystem's UserAccounts); `top` replaces the whole of each setting it has. `collisions`
names the settings both set, for the caller to refuse rather than choose silently.
"""

from __future__ import annotations

from dataclasses import replace

from sysprep.answer import reader, schema
from sysprep.answer.model import Answer
from sysprep.answer.tree import Component, PassSettings


def collisions(a: Answer, b: Answer) -> list[str]:
    """The settings both answers set, as "pass: Component/Setting"."""
    both = []
    for key in sorted(set(a.effective) & set(b.effective)):
        for name in sorted(set(a.effective[key]) & set(b.effective[key])):
            both.append(f"{key[0]}: {key[1]}/{name}")
    return both


def overlay(base: Answer, top: Answer) -> Answer:
    """`base` with every setting `top` sets replaced by top's, validated again as one."""
    covered = {(p, c, name) for (p, c), settings in top.effective.items() for name in settings}
    passes = [replace(ps, components=tuple(_without(ps.name, comp, covered) for comp in ps.components))
              for ps in base.document.passes]
    for ps in top.document.passes:
        passes.append(ps)
    doc = replace(base.document, passes=_merged(passes))
    made, _ = reader.model(doc, arch=base.architecture or None)
    return replace(made, origin="file", hasher=base.hasher or top.hasher)


def _without(pass_name: str, comp: Component, covered: set[tuple[str, str, str]]) -> Component:
    spec = schema.component(comp.name)
    name = spec.name if spec is not None else comp.name
    return replace(comp, settings=tuple(n for n in comp.settings
                                        if (pass_name, name, n.name) not in covered))


def _merged(passes: list[PassSettings]) -> tuple[PassSettings, ...]:
    """One <settings> per pass and one component per name in it, as a file writes them."""
    out: dict[str, dict[str, Component]] = {}
    for ps in passes:
        comps = out.setdefault(ps.name, {})
        for comp in ps.components:
            spec = schema.component(comp.name)
            key = spec.name if spec is not None else comp.name
            have = comps.get(key)
            comps[key] = comp if have is None else replace(have, settings=have.settings + comp.settings)
    first = {ps.name: ps for ps in reversed(passes)}
    return tuple(replace(first[p], components=tuple(c for c in comps.values() if c.settings))
                 for p, comps in out.items())
