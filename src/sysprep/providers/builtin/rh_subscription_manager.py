"""rh-subscription-manager: remove the Red Hat subscription of this machine (activation)."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import ACTIVATION, Phase, Provider

# Consumer certificate (the identity) and entitlements: files only, as virt-sysprep.
TREES = ("etc/pki/consumer", "etc/pki/entitlement")
# What rhsmcertd cached about this consumer.
CACHES = ("var/lib/rhsm/facts/*", "var/lib/rhsm/cache/*", "var/lib/rhsm/packages/*")


PROVIDER = Provider(
    name="rh-subscription-manager",
    heading="Remove the RH subscription manager files",
    description=(
        "Removes this machine's registration with Red Hat Subscription Management: the "
        "consumer identity certificate and key (/etc/pki/consumer), the entitlement "
        "certificates (/etc/pki/entitlement) and rhsm's caches of facts and packages. Each "
        "clone then registers as its own system. Wherever the files exist (RHEL and its "
        "rebuilds). Skipped with SkipRearm."
    ),
    phase=Phase.GENERALIZE,
    tags=frozenset({ACTIVATION}),
    actions=(Clean(*TREES, keep_dirs=True), Remove(*CACHES)),
    registration=("etc/pki/consumer/*.pem", "etc/pki/entitlement/*.pem"),
)
