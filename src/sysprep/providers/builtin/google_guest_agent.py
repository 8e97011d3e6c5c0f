"""google-guest-agent: remove the Google guest agent's per-instance state, when present."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

SIGNS = (
    "usr/bin/google_guest_agent",
    "usr/bin/google-guest-agent",
    "var/lib/google",
    "var/lib/google-guest-agent",
    "etc/default/instance_configs.cfg",
)
# etc/instance_id: the agent runs its per-instance setup (new host keys among others) only
# when the instance ID it finds differs from this file's.
REMOVE = ("etc/instance_id", "etc/boto.cfg")
CLEAN = ("var/lib/google", "var/lib/google-guest-agent")


def run(ctx: Context) -> None:
    if not any(ctx.fs.exists(s) for s in SIGNS):
        return  # /etc/instance_id is a common name: only when the agent is there
    ctx.remove(*REMOVE)
    ctx.clean(*CLEAN)


PROVIDER = Provider(
    name="google-guest-agent",
    heading="Remove the Google guest agent's instance state",
    description=(
        "When the Google Compute Engine guest agent is installed: removes /etc/instance_id "
        "(the instance the image last ran as; the agent runs its first-boot instance setup "
        "only when it changes), the boto configuration it generated, and its state in "
        "/var/lib/google and /var/lib/google-guest-agent."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=(*("/" + p for p in REMOVE), *(f"/{p}/*" for p in CLEAN)),
)
