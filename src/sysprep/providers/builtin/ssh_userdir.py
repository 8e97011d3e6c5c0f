"""ssh-userdir: remove the .ssh folder of every user, root included."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PROVIDER = Provider(
    name="ssh-userdir",
    heading='Remove ".ssh" directories in the guest',
    description=(
        "Removes the .ssh folder of root and of every user who has one (home directories "
        "from /etc/passwd and /home/*): authorized keys, known hosts, users' own key pairs. "
        "On by default, as in virt-sysprep: disable it (--disable ssh-userdir) to keep the "
        "authorized keys the image is meant to ship; known_hosts alone is then removed by "
        "ssh-known-hosts."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove("~/.ssh"),),
)
