"""chef-client: remove the Chef client's key (its node identity)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/chef/client.pem", "var/chef/cache/*")


PROVIDER = Provider(
    name="chef-client",
    heading="Remove the Chef client key",
    description=(
        "Removes /etc/chef/client.pem, the key with which this node authenticates to the "
        "Chef server, and the client's cache. The organisation's validation key is kept, so "
        "that each clone registers as a node of its own."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
    limits="A node_name fixed in /etc/chef/client.rb is not changed.",
)
