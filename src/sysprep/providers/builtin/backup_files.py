"""backup-files: remove editor backup files (*.bak, *~) where virt-sysprep looks for them."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import walk_matching

PLACES = ("etc", "root", "srv", "tmp", "var")
PATTERNS = ("*.bak", "*~")
# Container and machine images have their own files: a backup inside them is not this
# machine's. sysprep's own state is never touched (it is protected anyway).
PRUNE = (
    "var/lib/docker",
    "var/lib/containers",
    "var/lib/containerd",
    "var/lib/lxc",
    "var/lib/lxd",
    "var/lib/machines",
    "var/lib/snapd",
    "var/lib/flatpak",
    "var/lib/sysprep",
)


def run(ctx: Context) -> None:
    for place in PLACES:
        for path in walk_matching(ctx, place, PATTERNS, regular_only=True, prune_paths=PRUNE):
            ctx.note(ctx.fs.remove(path))


PROVIDER = Provider(
    name="backup-files",
    heading="Remove editor backup files from the guest",
    description=(
        "Removes regular files named *.bak or *~ (hidden ones too) anywhere under /etc, "
        "/root, /srv, /tmp and /var, as virt-sysprep does; links and folders are left. The "
        "same backups in home directories, /opt and /usr/local, and editors' swap files, are "
        "removed by editor-backups."
    ),
    phase=Phase.CLEANUP,
    run=run,
    order=80,  # after the providers that empty whole folders: less to walk
    paths=tuple(f"/{p}/**/{pat}" for p in PLACES for pat in PATTERNS),
    limits="Container storage (/var/lib/docker, /var/lib/containers...) and snap and flatpak "
    "trees are not searched: their files belong to images, not to this machine.",
)
