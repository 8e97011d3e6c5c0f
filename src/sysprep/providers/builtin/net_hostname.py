"""net-hostname: remove the host name that network configuration sends to DHCP servers.

virt-sysprep removes HOSTNAME= and DHCP_HOSTNAME= from Red Hat's ifcfg files; the same name
is set elsewhere on other layouts. Each format is found by what exists in the target.
"""

from __future__ import annotations

import re
from typing import Callable

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import drop_lines, edit_text

IFCFG = ("etc/sysconfig/network-scripts/ifcfg-*", "etc/sysconfig/network/ifcfg-*")  # Red Hat, SUSE
INTERFACES = ("etc/network/interfaces", "etc/network/interfaces.d/*")  # ifupdown's dhcp `hostname`
KEYFILES = ("etc/NetworkManager/system-connections/*",)  # dhcp-hostname=
NETWORKD = ("etc/systemd/network/*.network",)  # [DHCP], [DHCPv4], [DHCPv6] Hostname=
NETPLAN = ("etc/netplan/*.yaml", "etc/netplan/*.yml")  # dhcp4-overrides: hostname:

_IFCFG = re.compile(r"^\s*(HOSTNAME|DHCP_HOSTNAME)\s*=")
_IFUPDOWN = re.compile(r"^\s+hostname\s")  # an option inside an iface stanza (indented)
_KEYFILE = re.compile(r"^\s*dhcp-hostname\s*=")
_NETPLAN = re.compile(r"^\s*hostname\s*:")


def edit_networkd(text: str) -> str:
    out, section = [], ""
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif section in ("DHCP", "DHCPv4", "DHCPv6") and re.match(r"^\s*Hostname\s*=", line):
            continue
        out.append(line)
    return "".join(out)


def edit_netplan(text: str) -> str:
    """`hostname:` keys inside dhcp4-overrides / dhcp6-overrides mappings."""
    out: list[str] = []
    parent_indent: int | None = None
    for line in text.splitlines(keepends=True):
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and not line.lstrip().startswith("#"):
            if parent_indent is not None and indent <= parent_indent:
                parent_indent = None
            if re.match(r"^\s*dhcp[46]-overrides\s*:\s*(#.*)?$", line):
                parent_indent = indent
            elif parent_indent is not None and _NETPLAN.match(line):
                continue
        out.append(line)
    return "".join(out)


def _dropper(regex: re.Pattern[str]) -> Callable[[str], str]:
    return lambda text: drop_lines(text, lambda line: regex.match(line) is not None)


def _rewrite(ctx: Context, patterns: tuple[str, ...], edit: Callable[[str], str]) -> None:
    for pattern in patterns:
        for path in ctx.fs.glob(pattern):
            if ctx.fs.is_file(path):
                edit_text(ctx, path, edit)


def run(ctx: Context) -> None:
    for patterns, regex in ((IFCFG, _IFCFG), (INTERFACES, _IFUPDOWN), (KEYFILES, _KEYFILE)):
        _rewrite(ctx, patterns, _dropper(regex))
    _rewrite(ctx, NETWORKD, edit_networkd)
    _rewrite(ctx, NETPLAN, edit_netplan)


PROVIDER = Provider(
    name="net-hostname",
    heading="Remove HOSTNAME and DHCP_HOSTNAME in network interface configuration",
    description=(
        "Removes the host name that the network configuration sends to the DHCP server, so "
        "that clones do not all announce the template's name: HOSTNAME= and DHCP_HOSTNAME= in "
        "ifcfg files (Red Hat network-scripts, SUSE's sysconfig/network), the hostname "
        "option of ifupdown's dhcp stanzas, "
        "dhcp-hostname= in NetworkManager keyfiles, Hostname= in systemd-networkd's DHCP "
        "sections and hostname: in netplan's DHCP overrides. Files are rewritten in place "
        "(owner, mode and SELinux label kept). /etc/hostname is reset by hostname."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple("/" + p for p in (*IFCFG, *INTERFACES, *KEYFILES, *NETWORKD, *NETPLAN)),
)
