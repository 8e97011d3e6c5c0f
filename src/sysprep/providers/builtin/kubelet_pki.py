"""kubelet-pki: remove the kubelet's certificates and node credentials."""

from __future__ import annotations

from sysprep.providers.actions import Clean, Remove
from sysprep.providers.base import Phase, Provider

CLEAN = ("var/lib/kubelet/pki",)
REMOVE = (
    "etc/kubernetes/kubelet.conf",  # kubeadm: the node's kubeconfig, bound to its certificate
    "etc/rancher/node/password",  # k3s and RKE2: the node password
    "var/lib/rancher/k3s/agent/*.crt",
    "var/lib/rancher/k3s/agent/*.key",
    "var/lib/rancher/rke2/agent/*.crt",
    "var/lib/rancher/rke2/agent/*.key",
)


PROVIDER = Provider(
    name="kubelet-pki",
    heading="Remove the kubelet certificates and node credentials",
    description=(
        "Removes what makes this machine one Kubernetes node: the kubelet's client and "
        "serving certificates and keys (/var/lib/kubelet/pki), kubeadm's node kubeconfig, "
        "and k3s/RKE2 agent certificates and node password. Each clone joins as a node of "
        "its own; the bootstrap configuration is kept."
    ),
    phase=Phase.GENERALIZE,
    actions=(Clean(*CLEAN), Remove(*REMOVE)),
)
