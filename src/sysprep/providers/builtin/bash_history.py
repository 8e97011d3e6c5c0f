"""bash-history: remove the bash history of every user, root included."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PROVIDER = Provider(
    name="bash-history",
    heading="Remove the bash history in the guest",
    description=(
        "Removes .bash_history from the home directory of every account in /etc/passwd and "
        "of every folder in /home, root's included. A history that is a symbolic link is "
        "removed as a link; its target is never touched."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove("~/.bash_history"),),
)
