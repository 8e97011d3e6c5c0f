"""user-caches: empty every user's cache folder."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

NAMES = (".cache", ".thumbnails")


def run(ctx: Context) -> None:
    ctx.clean(*ctx.in_homes(*NAMES))


PROVIDER = Provider(
    name="user-caches",
    heading="Empty the cache folders of every user",
    description=(
        "Empties ~/.cache (and the old ~/.thumbnails) of root and every user: thumbnails, "
        "browser and pip caches, and whatever programs cache there, which may name files "
        "and places of this machine. The folders stay, with their owner."
    ),
    phase=Phase.CLEANUP,
    run=run,
    order=40,  # before editor-backups walks the homes
    paths=tuple(f"~/{n}/* (every home)" for n in NAMES),
)
