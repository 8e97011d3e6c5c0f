"""net-hwaddr: remove MAC addresses from network configuration, in every format.

virt-sysprep removes HWADDR= from Red Hat's ifcfg files only. A clone has other MAC
addresses: a configuration bound to the template's MAC does not apply to it, and one that
sets the template's MAC gives every clone the same address. Each format is found by what
exists in the target, whatever the distribution.
"""

from __future__ import annotations

import re
from typing import Callable

from sysprep.providers.base import HARDWARE, Context, Phase, Provider
from sysprep.providers.builtin._util import edit_text

IFCFG = ("etc/sysconfig/network-scripts/ifcfg-*", "etc/sysconfig/network/ifcfg-*")
INTERFACES = ("etc/network/interfaces", "etc/network/interfaces.d/*")
NETPLAN = ("etc/netplan/*.yaml", "etc/netplan/*.yml")
NETWORKD = (
    "etc/systemd/network/*.link",
    "etc/systemd/network/*.network",
    "etc/systemd/network/*.netdev",
)
KEYFILES = ("etc/NetworkManager/system-connections/*",)

# HWADDR binds an ifcfg file to a card; MACADDR (Red Hat) and LLADDR (SUSE) set the address.
_IFCFG_MAC = re.compile(r"^\s*(HWADDR|MACADDR|LLADDR)\s*=")
_IFUPDOWN_MAC = re.compile(r"^\s*hwaddress(\s|$)")
_KEYFILE_MAC = re.compile(r"^\s*(mac-address|cloned-mac-address)\s*=\s*(.*?)\s*$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5,19}[0-9A-Fa-f]{2}$")
_BLANK = re.compile(r"^\s*(#.*)?$")


def edit_ifcfg(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not _IFCFG_MAC.match(line))


def edit_interfaces(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not _IFUPDOWN_MAC.match(line))


def edit_keyfile(text: str) -> str:
    """mac-address= always goes; cloned-mac-address= only when it is a literal address
    (random, stable, preserve and permanent are policies, not addresses)."""
    out = []
    for line in text.splitlines(keepends=True):
        m = _KEYFILE_MAC.match(line)
        if m and (m.group(1) == "mac-address" or _MAC.match(m.group(2))):
            continue
        out.append(line)
    return "".join(out)


def edit_networkd(text: str, kind: str) -> str | None:
    """Drop MACAddress= and PermanentMACAddress= from [Match] and MACAddress= from [Link] and
    [NetDev]. None means the file matched only by MAC and should go (a .link file); a
    .network file whose [Match] is left empty matches every Ethernet card instead."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    section = ""
    match_at: int | None = None
    match_keys = 0
    had_mac_match = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
            if section == "Match" and match_at is None:
                match_at = len(out)
            out.append(line)
            continue
        key = (
            stripped.split("=", 1)[0].strip()
            if "=" in stripped and not stripped.startswith(("#", ";"))
            else ""
        )
        if section == "Match" and key in ("MACAddress", "PermanentMACAddress"):
            had_mac_match = True
            continue
        if section in ("Link", "NetDev") and key == "MACAddress":
            continue
        if section == "Match" and key:
            match_keys += 1
        out.append(line)
    if had_mac_match and match_keys == 0:
        if kind == "link":
            return None
        assert match_at is not None
        out.insert(match_at + 1, "Type=ether\n")
    return "".join(out)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def edit_netplan(text: str) -> str:
    """Remove `macaddress:` keys (in `match:`, where they bind, and beside an interface, where
    they set the address); a `match:` left empty goes, with the `set-name:` that needs it."""
    lines = text.splitlines(keepends=True)
    drop = [False] * len(lines)
    for i, line in enumerate(lines):
        if re.match(r"^\s*macaddress\s*:", line):
            drop[i] = True
            continue
        m = re.match(r"^(\s*)match\s*:\s*\{(.*)\}\s*(#.*)?$", line.rstrip("\n"))
        if m:  # flow style: match: {macaddress: "..", name: ".."}
            items = [it.strip() for it in m.group(2).split(",") if it.strip()]
            kept = [it for it in items if not re.match(r"^[\"']?macaddress[\"']?\s*:", it)]
            if len(kept) != len(items):
                if kept:
                    lines[i] = f"{m.group(1)}match: {{{', '.join(kept)}}}\n"
                else:
                    lines[i] = f"{m.group(1)}match: {{}}\n"
    for i, line in enumerate(lines):
        if drop[i]:
            continue
        flow_empty = re.match(r"^\s*match\s*:\s*\{\s*\}\s*$", line)
        block = re.match(r"^\s*match\s*:\s*(#.*)?$", line)
        if not (flow_empty or block):
            continue
        if block and _has_children(lines, drop, i):
            continue
        drop[i] = True
        _drop_siblings(lines, drop, i, "set-name")
    return "".join(line for i, line in enumerate(lines) if not drop[i])


def _has_children(lines: list[str], drop: list[bool], at: int) -> bool:
    level = _indent(lines[at])
    for j in range(at + 1, len(lines)):
        if drop[j] or _BLANK.match(lines[j]):
            continue
        return _indent(lines[j]) > level
    return False


def _drop_siblings(lines: list[str], drop: list[bool], at: int, key: str) -> None:
    level = _indent(lines[at])
    for step in (-1, 1):
        j = at + step
        while 0 <= j < len(lines):
            line = lines[j]
            if not _BLANK.match(line):
                if _indent(line) < level:
                    break
                if _indent(line) == level and re.match(rf"^\s*{key}\s*:", line):
                    drop[j] = True
            j += step


def _each_file(ctx: Context, patterns: tuple[str, ...]) -> list[str]:
    return [p for pattern in patterns for p in ctx.fs.glob(pattern) if ctx.fs.is_file(p)]


def _rewrite(ctx: Context, patterns: tuple[str, ...], edit: Callable[[str], str]) -> None:
    for path in _each_file(ctx, patterns):
        edit_text(ctx, path, edit)


def run(ctx: Context) -> None:
    _rewrite(ctx, IFCFG, edit_ifcfg)
    _rewrite(ctx, INTERFACES, edit_interfaces)
    _rewrite(ctx, NETPLAN, edit_netplan)
    _rewrite(ctx, KEYFILES, edit_keyfile)
    for path in _each_file(ctx, NETWORKD):
        text = ctx.fs.read_text(path)
        if text is None:
            continue
        new = edit_networkd(text, path.rsplit(".", 1)[-1])
        if new is None:
            ctx.remove(path)
        elif new != text:
            ctx.write(path, new.encode("utf-8", "surrogateescape"))


PROVIDER = Provider(
    name="net-hwaddr",
    heading="Remove HWADDR (hard-coded MAC address) configuration",
    description=(
        "Removes MAC addresses from the network configuration, in every format found: "
        "HWADDR=, MACADDR= and LLADDR= in ifcfg files (Red Hat, SUSE); hwaddress in "
        "/etc/network/interfaces (Debian); macaddress: in netplan (a match: left empty goes "
        "with its set-name:); MACAddress= in systemd-networkd's .link, .network and .netdev "
        "files (a .link file that matched only by MAC is removed, a .network file matches "
        "every Ethernet card instead); mac-address= and a literal cloned-mac-address= in "
        "NetworkManager keyfiles of every distribution. Files are rewritten in place, owner, "
        "mode and SELinux label kept. Kept when devices are persisted "
        "(PersistAllDeviceInstalls, /mode:vm)."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({HARDWARE}),
    paths=tuple("/" + p for p in (*IFCFG, *INTERFACES, *NETPLAN, *NETWORKD, *KEYFILES)),
    limits="Configuration under /usr/lib and /run (the distribution's and volatile) is left "
    "alone. Netplan files are edited line by line: keys split over several lines or "
    "anchors are not understood.",
)
