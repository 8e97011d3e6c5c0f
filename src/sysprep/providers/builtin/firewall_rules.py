"""firewall-rules: remove locally saved firewall rules (off by default)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

VIRT_SYSPREP = ("etc/sysconfig/iptables", "etc/firewalld/services/*", "etc/firewalld/zones/*")
# The same saved rules elsewhere: IPv6 on Red Hat, iptables-persistent on Debian.
MORE = ("etc/sysconfig/ip6tables", "etc/iptables/rules.v4", "etc/iptables/rules.v6")


PROVIDER = Provider(
    name="firewall-rules",
    heading="Remove the firewall rules",
    description=(
        "Removes custom firewall rules: the saved iptables rules (/etc/sysconfig/iptables "
        "and ip6tables on Red Hat, /etc/iptables/rules.v4 and rules.v6 of "
        "iptables-persistent on Debian) and firewalld's custom services and zones. Not "
        "enabled by default, since a clone would come up without its firewall: use with care."
    ),
    phase=Phase.GENERALIZE,
    default=False,
    actions=(Remove(*VIRT_SYSPREP, *MORE, files_only=True),),
    limits="nftables' /etc/nftables.conf and ufw's rules are the distributions' own files "
    "and are left alone.",
)
