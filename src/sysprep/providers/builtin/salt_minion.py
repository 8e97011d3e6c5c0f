"""salt-minion: remove the Salt minion's key pair, ID and cache."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import Phase, Provider

REMOVE = ("etc/salt/pki/minion/*", "etc/salt/minion_id")
CLEAN = ("var/cache/salt/minion",)


PROVIDER = Provider(
    name="salt-minion",
    heading="Remove the Salt minion keys and ID",
    description=(
        "Removes the Salt minion's key pair and cached master key (/etc/salt/pki/minion), "
        "its ID (/etc/salt/minion_id, derived from the template's host name) and its cache. "
        "Each clone generates its own key and ID and must be accepted by the master."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*REMOVE), Clean(*CLEAN)),
)
