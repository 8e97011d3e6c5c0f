"""tailscale: remove the Tailscale node's keys and state."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

CLEAN = ("var/lib/tailscale",)


def run(ctx: Context) -> None:
    ctx.clean(*CLEAN)


PROVIDER = Provider(
    name="tailscale",
    heading="Remove the Tailscale node state",
    description=(
        "Empties /var/lib/tailscale: tailscaled.state holds the node and machine keys, so "
        "clones would all be the same node of the tailnet. Each clone must log in (or use an "
        "auth key) at first boot."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple(f"/{p}/*" for p in CLEAN),
)
