"""ssh-hostkeys: remove the SSH host keys; the specialize pass makes new ones per clone."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/ssh/*_host_*",)


PROVIDER = Provider(
    name="ssh-hostkeys",
    heading="Remove the SSH host keys in the guest",
    description=(
        "Removes the SSH host keys (private, public and certificates) so that clones do not "
        "share them. The specialize pass at the next boot generates new ones before sshd "
        "starts. sshd_config and the rest of /etc/ssh are left alone."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
