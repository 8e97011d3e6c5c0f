"""ssh-known-hosts: remove the hosts every user's SSH client has met."""

from __future__ import annotations

from sysprep.providers.actions import HOME, Remove
from sysprep.providers.base import Phase, Provider

NAMES = (".ssh/known_hosts", ".ssh/known_hosts.old", ".ssh/known_hosts2")


PROVIDER = Provider(
    name="ssh-known-hosts",
    heading="Remove the SSH known_hosts of every user",
    description=(
        "Removes known_hosts (and its .old copy) from the .ssh folder of root and every "
        "user: the hosts reached from the template say where it was built. With ssh-userdir "
        "(on by default) the whole .ssh folder goes anyway; this one matters when "
        "ssh-userdir is disabled to keep authorized_keys. The system-wide "
        "/etc/ssh/ssh_known_hosts, which an administrator maintains, is kept."
    ),
    phase=Phase.CLEANUP,
    actions=(Remove(*(HOME + n for n in NAMES)),),
)
