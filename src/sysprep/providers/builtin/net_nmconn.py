"""net-nmconn: remove the NetworkManager connection profiles made on this machine."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Context, Phase, Provider

FOLDER = "etc/NetworkManager/system-connections"
PATHS = (f"{FOLDER}/*.nmconnection",)
# NetworkManager's keyfile plugin also reads profiles without the extension (the older
# naming, long used by Debian and Ubuntu), ignoring backups and package leftovers.
_IGNORED = (
    "~",
    ".swp",
    ".bak",
    ".orig",
    ".rej",
    ".rpmnew",
    ".rpmsave",
    ".dpkg-new",
    ".dpkg-old",
    ".dpkg-dist",
    ".dpkg-tmp",
    ".ucf-new",
    ".ucf-old",
    ".ucf-dist",
)


def _legacy_keyfiles(ctx: Context) -> list[str]:
    found = []
    for name in ctx.fs.listdir(FOLDER):
        path = f"{FOLDER}/{name}"
        if (
            name.startswith(".")
            or name.endswith((".nmconnection", *_IGNORED))
            or not ctx.fs.is_file(path)
        ):
            continue
        head = (ctx.fs.read_text(path, limit=1 << 20) or "").lstrip()
        if head.startswith("[connection]") or "\n[connection]" in head:
            found.append(path)
    return found


def run(ctx: Context) -> None:
    ctx.remove(*_legacy_keyfiles(ctx))


PROVIDER = Provider(
    name="net-nmconn",
    heading="Remove system-local NetworkManager connection profiles (keyfiles)",
    description=(
        "Removes the NetworkManager connection profiles (keyfiles) in "
        "/etc/NetworkManager/system-connections: they name this machine's interfaces and "
        "MAC addresses, and carry its Wi-Fi secrets and static addresses. virt-sysprep does "
        "this on Red Hat distributions only, for *.nmconnection files; sysprep does it "
        "wherever NetworkManager keeps keyfiles, also the profiles named without the "
        "extension (older Debian and Ubuntu). NetworkManager makes a default DHCP connection "
        "on the clone."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    actions=(Remove(*PATHS),),
    paths=(f"/{FOLDER}/* (other keyfiles: a [connection] section)",),
)
