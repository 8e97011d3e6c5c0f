"""resolv-conf: empty an /etc/resolv.conf that the build network wrote."""

from __future__ import annotations

import stat

from sysprep.providers.base import Context, Phase, Provider

PATH = "etc/resolv.conf"


def run(ctx: Context) -> None:
    st = ctx.fs.lstat(PATH)
    if st is not None and stat.S_ISREG(st.st_mode):  # a link to a resolver's file is right
        ctx.truncate(PATH)


PROVIDER = Provider(
    name="resolv-conf",
    heading="Empty a resolv.conf written by the build network",
    description=(
        "When /etc/resolv.conf is a plain file (not a link to systemd-resolved's or "
        "resolvconf's), it holds the name servers and search domains of the network the "
        "template was built on. It is emptied (kept, with its owner, mode and SELinux "
        "label), so that the clone's DHCP client or network manager writes its own."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=("/" + PATH + " (when a regular file)",),
    limits="A resolv.conf written by hand for a static network is emptied too: disable this "
    "provider (or use a link) for such images.",
)
