"""net-leases: remove the DHCP leases and DUIDs of NetworkManager, networkd, dhcpcd and wicked."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

NM_LEASES = ("var/lib/NetworkManager/*.lease", "var/lib/NetworkManager/dhclient*.conf")
PATHS = (
    *NM_LEASES,
    "run/systemd/netif/leases/*",
    "var/lib/systemd/network/*",  # systemd-networkd
    "var/lib/dhcpcd/*.lease*",
    "var/lib/dhcpcd/duid",
    "var/lib/dhcpcd/secret",  # dhcpcd
    "var/lib/dhcpcd5/*.lease*",
    "var/db/dhcpcd/*",
    "etc/dhcpcd.duid",
    "etc/dhcpcd.secret",
    "var/lib/wicked/lease-*",
    "var/lib/wicked/duid.xml",
    "var/lib/wicked/iaid.xml",  # wicked
    "var/lib/connman/*/*.lease",
)


PROVIDER = Provider(
    name="net-leases",
    heading="Remove NetworkManager, systemd-networkd, dhcpcd and wicked DHCP leases",
    description=(
        "Removes the DHCP leases, DUIDs and secrets the other network managers keep: "
        "NetworkManager's lease files, systemd-networkd's leases, dhcpcd's leases, DUID and "
        "secret, wicked's leases, DUID and IAID, ConnMan's leases. Clones would otherwise ask "
        "for the template's address and present its DHCPv6 identity. dhclient's own files "
        "are removed by dhcp-client-state."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
