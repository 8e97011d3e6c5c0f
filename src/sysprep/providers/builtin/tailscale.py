"""tailscale: remove the Tailscale node's keys and state."""

from __future__ import annotations

from sysprep.providers.actions import Clean
from sysprep.providers.base import Phase, Provider

CLEAN = ("var/lib/tailscale",)


PROVIDER = Provider(
    name="tailscale",
    heading="Remove the Tailscale node state",
    description=(
        "Empties /var/lib/tailscale: tailscaled.state holds the node and machine keys, so "
        "clones would all be the same node of the tailnet. Each clone must log in (or use an "
        "auth key) at first boot."
    ),
    phase=Phase.GENERALIZE,
    actions=(Clean(*CLEAN),),
)
