"""amazon-ssm-agent: remove the AWS Systems Manager agent's registration and state."""

from __future__ import annotations

from sysprep.providers.actions import Clean
from sysprep.providers.base import Phase, Provider

CLEAN = ("var/lib/amazon/ssm",)


PROVIDER = Provider(
    name="amazon-ssm-agent",
    heading="Remove the Amazon SSM agent's registration and state",
    description=(
        "Empties /var/lib/amazon/ssm: the agent's registration (instance or managed-node ID "
        "and the key of a hybrid activation, in registration and Vault), its documents and "
        "command history. Each clone registers as a node of its own."
    ),
    phase=Phase.GENERALIZE,
    actions=(Clean(*CLEAN),),
)
