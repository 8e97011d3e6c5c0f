"""shell-history: remove the histories of every other shell and interactive tool."""

from __future__ import annotations

from sysprep.providers.actions import HOME, Remove
from sysprep.providers.base import Phase, Provider

# bash and zsh have their own providers (bash-history, zsh-history), as in virt-sysprep.
NAMES = (
    ".local/share/fish/fish_history",
    ".config/fish/fish_history",  # fish
    ".ash_history",
    ".sh_history",
    ".ksh_history",
    ".mksh_history",
    ".histfile",
    ".zhistory",
    ".python_history",
    ".node_repl_history",
    ".irb_history",
    ".pry_history",
    ".Rhistory",
    ".mysql_history",
    ".psql_history",
    ".sqlite_history",
    ".rediscli_history",
    ".mongosh",
    ".dbshell",
    ".lesshst",
    ".local/state/lesshst",
    ".viminfo",
    ".local/state/nvim/shada",
    ".local/share/nvim/shada",
    ".local/share/nano/search_history",
    ".local/state/nano/search_history",
    ".local/share/nano/filepos_history",
    ".local/state/nano/filepos_history",
    ".wget-hsts",
    ".gnupg/random_seed",
)


PROVIDER = Provider(
    name="shell-history",
    heading="Remove the history of every other shell and interactive tool",
    description=(
        "Removes, in the home of root and of every user, the histories bash-history and "
        "zsh-history do not cover: fish, ash/busybox sh, ksh, python, node, irb, R, mysql, "
        "psql, sqlite, redis-cli, mongo shells, less (.lesshst), vim (.viminfo), neovim and "
        "nano histories, wget's HSTS cache and GnuPG's random seed."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*(HOME + n for n in NAMES)),),
)
