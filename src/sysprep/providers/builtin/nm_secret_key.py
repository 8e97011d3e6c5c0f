"""nm-secret-key: remove NetworkManager's secret key, from which it derives stable addresses."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider
from sysprep.providers.builtin.net_leases import NM_LEASES

PATHS = (
    "var/lib/NetworkManager/secret_key",
    "var/lib/NetworkManager/seen-bssids",
    "var/lib/NetworkManager/timestamps",
    *NM_LEASES,
)


PROVIDER = Provider(
    name="nm-secret-key",
    heading="Remove NetworkManager's secret key and its DUID and lease files",
    description=(
        "Removes /var/lib/NetworkManager/secret_key, the per-machine secret from which "
        "NetworkManager derives IPv6 stable-privacy addresses, stable cloned MAC addresses "
        "and DHCP client IDs: clones sharing it get the same 'private' addresses. Also "
        "removes its lease files (where the DHCPv6 DUID is kept), the Wi-Fi access points "
        "seen and the connection timestamps. NetworkManager makes a new key at its next start."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
