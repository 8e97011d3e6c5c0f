"""dhcp-client-state: remove the leases of the ISC DHCP client (dhclient)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("var/lib/dhclient/*", "var/lib/dhcp/*")


PROVIDER = Provider(
    name="dhcp-client-state",
    heading="Remove DHCP client leases",
    description=(
        "Removes what dhclient keeps between boots: the leases (the addresses this machine was "
        "given) and its DHCPv6 DUID, in /var/lib/dhclient (Red Hat) and /var/lib/dhcp "
        "(Debian, SUSE). Otherwise clones ask for the same address and present the same DUID. "
        "The leases of NetworkManager, systemd-networkd, dhcpcd and wicked are removed by "
        "net-leases."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
