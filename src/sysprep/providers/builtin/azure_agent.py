"""azure-agent: remove the Azure Linux agent's (waagent) provisioning state, when present."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

CLEAN = ("var/lib/waagent", "var/log/azure")  # what `waagent -deprovision` removes
REMOVE = ("var/log/waagent.log*",)


def run(ctx: Context) -> None:
    ctx.clean(*CLEAN)
    ctx.remove(*REMOVE)


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
    run=run,
    paths=(*(f"/{p}/*" for p in CLEAN), *("/" + p for p in REMOVE)),
)
