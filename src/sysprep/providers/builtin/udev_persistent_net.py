"""udev-persistent-net: remove the udev rules that bind interface names to MAC addresses."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import HARDWARE, Phase, Provider

PATHS = ("etc/udev/rules.d/70-persistent-net.rules",)


PROVIDER = Provider(
    name="udev-persistent-net",
    heading="Remove udev persistent net rules",
    description=(
        "Removes the udev rules that map this machine's MAC addresses to fixed interface names "
        "(eth0...). A clone has other MAC addresses: with the old rules, its first card would "
        "become eth1 and the configuration for eth0 would not apply. Kept when devices are "
        "persisted (PersistAllDeviceInstalls, /mode:vm)."
    ),
    phase=Phase.GENERALIZE,
    tags=frozenset({HARDWARE}),
    actions=(Remove(*PATHS),),
)
