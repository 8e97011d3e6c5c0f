"""azure-agent: remove the Azure Linux agent's (waagent) provisioning state, when present."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import Phase, Provider

CLEAN = ("var/lib/waagent", "var/log/azure")  # what `waagent -deprovision` removes
REMOVE = ("var/log/waagent.log*",)


PROVIDER = Provider(
    name="azure-agent",
    heading="Remove the Azure agent's provisioning state",
    description=(
        "Does what 'waagent -deprovision' does to the agent's own files: empties "
        "/var/lib/waagent (goal state, certificates, the provisioned marker, extension "
        "state) and /var/log/azure, and removes waagent.log, so that each clone is "
        "provisioned as a new VM. Host keys, leases, resolv.conf and the host name have "
        "their own providers."
    ),
    phase=Phase.GENERALIZE,
    actions=(Clean(*CLEAN), Remove(*REMOVE)),
)
