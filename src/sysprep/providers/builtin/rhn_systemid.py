"""rhn-systemid: remove the Red Hat Network system ID (activation)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import ACTIVATION, Phase, Provider

PATHS = ("etc/sysconfig/rhn/systemid", "etc/sysconfig/rhn/systemid.save")


PROVIDER = Provider(
    name="rhn-systemid",
    heading="Remove the RHN system ID",
    description=(
        "Removes /etc/sysconfig/rhn/systemid, this machine's registration with Red Hat "
        "Network, Satellite 5, Spacewalk or Oracle's ULN, so that clones register on "
        "their own. Wherever the file exists, whatever the distribution says it is."
    ),
    phase=Phase.GENERALIZE,
    tags=frozenset({ACTIVATION}),
    actions=(Remove(*PATHS),),
    registration=PATHS,
)
