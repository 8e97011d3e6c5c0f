"""credential-secret: remove the host key systemd uses to encrypt credentials."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/lib/systemd/credential.secret",)


PROVIDER = Provider(
    name="credential-secret",
    heading="Remove systemd's credential encryption key",
    description=(
        "Removes /var/lib/systemd/credential.secret, the machine's key for systemd-creds "
        "encrypted credentials. Clones sharing it could read each other's credentials; each "
        "clone makes its own the first time one is encrypted."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
    limits="Credentials already encrypted with the template's key (with --with-key=host) can "
    "no longer be decrypted on the clones: encrypt them at first boot instead.",
)
