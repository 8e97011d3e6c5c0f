"""editor-backups: remove editor backups, swap and lock files wherever people edit."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import walk_matching

PATTERNS = (
    "*~",
    "*.bak",  # emacs, vim, nano, mc and others
    ".*.sw[a-p]",  # vim swap files (.name.swp, .swo...)
    "#*#",
    ".#*",  # emacs auto-save files and lock links (which name the host)
)
PLACES = ("opt", "usr/local", "etc", "srv")
PRUNE_NAMES = (".git", ".hg", ".svn", "node_modules", ".cache")
PRUNE_IN_HOMES = (".local/share/containers", ".local/share/flatpak", ".local/share/Trash")


# A "home" in one of these is a system tree, not where people edit (a service account's).
SYSTEM_TREES = (
    "usr",
    "bin",
    "sbin",
    "lib",
    "lib32",
    "lib64",
    "boot",
    "proc",
    "sys",
    "dev",
    "run",
    "var/lib",
    "var/cache",
    "var/spool",
    "var/log",
)


def run(ctx: Context) -> None:
    homes = [
        h
        for h in ctx.homes()
        if h and not any(h == t or h.startswith(t + "/") for t in SYSTEM_TREES)
    ]
    prune = [f"{h}/{p}" for h in homes for p in PRUNE_IN_HOMES]
    for top in (*homes, *PLACES):
        for path in walk_matching(ctx, top, PATTERNS, prune_names=PRUNE_NAMES, prune_paths=prune):
            ctx.note(ctx.fs.remove(path))


PROVIDER = Provider(
    name="editor-backups",
    heading="Remove editor backups, swap and lock files wherever people edit",
    description=(
        "Removes editor leftovers (backups *~ and *.bak, vim swap files .*.swp, emacs "
        "auto-save #*# and lock .#* files) in the home of root and every user, /opt, "
        "/usr/local, /etc and /srv, at any depth: virt-sysprep's backup-files looks only in "
        "/etc, /root, /srv, /tmp and /var. Version-control folders, node_modules, caches and "
        "container storage are not searched."
    ),
    phase=Phase.CLEANUP,
    run=run,
    order=85,
    paths=tuple(f"{p}/**/{pat}" for p in ("~", *("/" + q for q in PLACES)) for pat in PATTERNS),
    limits="A *.bak file shipped on purpose (under /opt, say) is removed too: disable this "
    "provider for such images.",
)
