"""wazuh-agent: empty the Wazuh / OSSEC agent's key, so that each clone enrols on its own."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Truncate
from sysprep.providers.base import Phase, Provider

KEYS = ("var/ossec/etc/client.keys",)
CLEAN = ("var/ossec/queue/rids",)


PROVIDER = Provider(
    name="wazuh-agent",
    heading="Empty the Wazuh/OSSEC agent key",
    description=(
        "Empties /var/ossec/etc/client.keys (kept, with its owner and mode), the agent's ID, "
        "name and key with the manager, and removes the message counters in "
        "/var/ossec/queue/rids. Clones sharing a key are seen as one agent and reject each "
        "other's messages; with an empty key each clone enrols at its first start."
    ),
    phase=Phase.GENERALIZE,
    actions=(Truncate(*KEYS), Clean(*CLEAN)),
)
