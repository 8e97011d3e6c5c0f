"""net-nmconn: remove the NetworkManager connection profiles made on this machine."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

PATHS = ("etc/NetworkManager/system-connections/*.nmconnection",)


def run(ctx: Context) -> None:
    ctx.remove(*PATHS)


PROVIDER = Provider(
    name="net-nmconn",
    heading="Remove system-local NetworkManager connection profiles (keyfiles)",
    description=(
        "Removes the NetworkManager connection profiles (keyfiles) in "
        "/etc/NetworkManager/system-connections: they name this machine's interfaces and "
        "MAC addresses, and carry its Wi-Fi secrets and static addresses. virt-sysprep does "
        "this on Red Hat distributions only; sysprep does it wherever NetworkManager keeps "
        "keyfiles. NetworkManager makes a default DHCP connection on the clone."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
