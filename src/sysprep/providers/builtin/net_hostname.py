"""net-hostname: remove HOSTNAME= and DHCP_HOSTNAME= from ifcfg files."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import drop_lines, edit_text

# Red Hat's network-scripts and SUSE's sysconfig/network: found by what exists.
IFCFG = ("etc/sysconfig/network-scripts/ifcfg-*", "etc/sysconfig/network/ifcfg-*")
KEYS = ("HOSTNAME=", "DHCP_HOSTNAME=")


def run(ctx: Context) -> None:
    for pattern in IFCFG:
        for path in ctx.fs.glob(pattern):
            if ctx.fs.is_file(path):
                edit_text(ctx, path, lambda t: drop_lines(t, lambda line: line.startswith(KEYS)))


PROVIDER = Provider(
    name="net-hostname",
    heading="Remove HOSTNAME and DHCP_HOSTNAME in network interface configuration",
    description=(
        "Removes the HOSTNAME= and DHCP_HOSTNAME= lines from the ifcfg files of "
        "network-scripts (Red Hat) and sysconfig/network (SUSE), wherever they exist, so that "
        "clones do not send the template's name to the DHCP server. The files are rewritten "
        "in place (owner, mode and SELinux label kept). /etc/hostname is reset by hostname."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=tuple(f"/{p} (HOSTNAME=, DHCP_HOSTNAME= lines)" for p in IFCFG),
)
