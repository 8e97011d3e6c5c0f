"""pnp-devices: the seed's Plug and Play scan — configure the clone's own devices afresh.

The generalize phase dropped hardware-bound configuration (MAC-matched network settings,
persistent net rules, the LVM devices file). At the clone's first boot this gives every
Ethernet interface the clone really has a DHCP configuration in the network stack the image
uses (unless one already matches it), and re-imports the clone's LVM devices. Skipped when
devices were persisted (PersistAllDeviceInstalls, /mode:vm).
"""

from __future__ import annotations

import os
import re

from sysprep.providers.base import HARDWARE, Context, Phase, Provider
from sysprep.target.sandbox import run_in_target

SYS_NET = "/sys/class/net"
_IFACE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")


def ethernet_interfaces() -> list[str]:
    """Physical (or virtual-machine) Ethernet interfaces of the running clone."""
    found = []
    try:
        names = sorted(os.listdir(SYS_NET))
    except OSError:
        return []
    for name in names:
        base = f"{SYS_NET}/{name}"
        try:
            with open(f"{base}/type", encoding="ascii") as f:
                kind = f.read().strip()
        except OSError:
            continue
        if kind == "1" and os.path.exists(f"{base}/device") and _IFACE.match(name):
            found.append(name)
    return found


def _ifupdown_configured(ctx: Context) -> set[str]:
    names: set[str] = set()
    texts = [ctx.fs.read_text("etc/network/interfaces") or ""]
    texts += [ctx.fs.read_text(p) or "" for p in ctx.fs.glob("etc/network/interfaces.d/*")]
    for text in texts:
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("iface", "auto", "allow-hotplug"):
                names.update(words[1:] if words[0] != "iface" else words[1:2])
    return names


def configure_network(ctx: Context, interfaces: list[str]) -> None:
    if not interfaces:
        ctx.info("no Ethernet interface found")
        return
    enabled = {os.path.basename(p) for p in ctx.fs.glob("etc/systemd/system/*.wants/*")}
    if ctx.fs.is_dir("etc/netplan"):
        if not ctx.fs.glob("etc/netplan/*.yaml"):
            body = "".join(f"    {i}:\n      dhcp4: true\n      dhcp6: true\n" for i in interfaces)
            ctx.write(
                "etc/netplan/60-sysprep.yaml",
                f"# written by sysprep for this clone's interfaces\nnetwork:\n  version: 2\n"
                f"  ethernets:\n{body}",
                mode=0o600,
            )
        return
    if "NetworkManager.service" in enabled:
        ctx.info("NetworkManager configures new interfaces by itself")
        return
    if "systemd-networkd.service" in enabled:
        if not ctx.fs.glob("etc/systemd/network/*.network"):
            ctx.write(
                "etc/systemd/network/80-sysprep-dhcp.network",
                "# written by sysprep for this clone's interfaces\n[Match]\nType=ether\n"
                "Name=!veth* !docker* !virbr*\n\n[Network]\nDHCP=yes\n",
                make_parents=True,
            )
        return
    if ctx.fs.exists("etc/network/interfaces"):
        configured = _ifupdown_configured(ctx)
        for iface in interfaces:
            if iface not in configured:
                ctx.write(
                    f"etc/network/interfaces.d/60-sysprep-{iface}",
                    f"# written by sysprep for this clone's interface\nallow-hotplug {iface}\n"
                    f"iface {iface} inet dhcp\n",
                    make_parents=True,
                )
        return
    ctx.info("no known network configuration stack in the image; interfaces left as they are")


def reimport_lvm(ctx: Context) -> None:
    if (
        ctx.fs.is_dir("etc/lvm/devices")
        and not ctx.fs.exists("etc/lvm/devices/system.devices")
        and ctx.fs.is_file("usr/sbin/vgimportdevices")
        and not ctx.dry_run
    ):
        done = run_in_target(ctx.target, ["/usr/sbin/vgimportdevices", "-a"])
        ctx.info(f"vgimportdevices -a exited with status {done.returncode}")


def run(ctx: Context) -> None:
    if not ctx.target.live:
        ctx.info(
            "offline target: there are no devices to scan (this runs at the clone's first boot)"
        )
        return
    configure_network(ctx, ethernet_interfaces())
    reimport_lvm(ctx)


PROVIDER = Provider(
    name="pnp-devices",
    heading="Configure the clone's own network interfaces and disks afresh",
    description=(
        "The seed's Plug and Play scan: at the clone's first boot, gives each Ethernet "
        "interface it really has a DHCP configuration in the network stack the image uses "
        "(netplan, systemd-networkd or ifupdown; NetworkManager does it by itself) unless one "
        "already matches it, and re-imports the LVM devices file. Skipped when devices were "
        "persisted (PersistAllDeviceInstalls=true or /mode:vm)."
    ),
    phase=Phase.SPECIALIZE,
    run=run,
    tags=frozenset({HARDWARE}),
    paths=(
        "/etc/network/interfaces.d/60-sysprep-*",
        "/etc/systemd/network/80-sysprep-dhcp.network",
        "/etc/netplan/60-sysprep.yaml",
        "/etc/lvm/devices/system.devices",
    ),
    order=30,
)
