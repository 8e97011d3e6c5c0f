"""user-caches: empty every user's cache folder."""

from __future__ import annotations

from sysprep.providers.actions import HOME, Clean
from sysprep.providers.base import Phase, Provider

NAMES = (".cache", ".thumbnails")


PROVIDER = Provider(
    name="user-caches",
    heading="Empty the cache folders of every user",
    description=(
        "Empties ~/.cache (and the old ~/.thumbnails) of root and every user: thumbnails, "
        "browser and pip caches, and whatever programs cache there, which may name files "
        "and places of this machine. The folders stay, with their owner."
    ),
    phase=Phase.CLEANUP,
    order=40,  # before editor-backups walks the homes
    actions=(Clean(*(HOME + n for n in NAMES)),),
)
