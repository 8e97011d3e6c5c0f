"""dhcp-server-state: remove the leases a DHCP server on this machine handed out."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

# virt-sysprep's path (ISC dhcpd on Red Hat), and Kea's lease files. ISC dhcpd on Debian keeps
# its leases in /var/lib/dhcp, which dhcp-client-state empties.
PATHS = ("var/lib/dhcpd/*", "var/lib/kea/kea-leases*.csv*", "var/lib/kea/dhcp*.leases*")


PROVIDER = Provider(
    name="dhcp-server-state",
    heading="Remove DHCP server leases",
    description=(
        "Removes the lease database of a DHCP server running on this machine: ISC dhcpd's "
        "/var/lib/dhcpd and Kea's lease files in /var/lib/kea. A clone serving the same "
        "network must not believe the template's clients still hold their addresses."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
