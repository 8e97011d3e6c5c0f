"""container-ids: remove the machine-bound identities of Docker, containerd and Podman."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = (
    "etc/docker/key.json",  # the daemon's identity key (older Docker)
    "var/lib/docker/engine-id",  # the engine ID (Docker 23 and newer)
    "var/lib/docker/swarm",  # swarm node certificates, key and raft state
    "var/lib/cni/networks/*",  # host-local IPAM: addresses reserved for containers of this host
    "var/lib/cni/results/*",
    "var/lib/containerd/io.containerd.grpc.v1.introspection/uuid",  # containerd's server UUID
)


PROVIDER = Provider(
    name="container-ids",
    heading="Remove Docker, containerd and Podman machine-bound IDs and keys",
    description=(
        "Removes what ties the container engines to this machine, when present: Docker's "
        "daemon key (key.json) and engine ID, a swarm node's certificates, key and state, "
        "containerd's server UUID, and the container addresses that CNI's host-local IPAM "
        "(Podman 3, nerdctl, Kubernetes) reserved on this host. Each engine makes new ones "
        "at its next start. Images, containers and volumes are kept."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
    limits="Podman keeps no machine ID of its own; netavark's address reservations live in "
    "/run. Rootless engines' state in homes is kept.",
)
