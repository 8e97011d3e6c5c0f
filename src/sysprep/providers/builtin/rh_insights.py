"""rh-insights: remove the Red Hat Insights client's registration (activation)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import ACTIVATION, Phase, Provider

PATHS = (
    "etc/insights-client/machine-id",
    "etc/insights-client/.registered",
    "etc/insights-client/.unregistered",
    "etc/insights-client/.lastupload",
    "var/lib/insights/*",
)


PROVIDER = Provider(
    name="rh-insights",
    heading="Remove the Red Hat Insights registration",
    description=(
        "Removes the Insights client's machine ID and registration markers, and its cached "
        "uploads, so that each clone appears in Insights as a system of its own. Skipped "
        "with SkipRearm."
    ),
    phase=Phase.GENERALIZE,
    tags=frozenset({ACTIVATION}),
    actions=(Remove(*PATHS),),
    registration=("etc/insights-client/machine-id", "etc/insights-client/.registered"),
)
