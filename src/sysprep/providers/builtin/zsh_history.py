"""zsh-history: remove the zsh history of every user, root included."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PROVIDER = Provider(
    name="zsh-history",
    heading="Remove the zsh history in the guest",
    description=(
        "Removes .zsh_history from the home directory of every account in /etc/passwd and of "
        "every folder in /home, root's included (virt-sysprep looks only in /root and "
        "/home/*). A history that is a symbolic link is removed as a link."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove("~/.zsh_history"),),
)
