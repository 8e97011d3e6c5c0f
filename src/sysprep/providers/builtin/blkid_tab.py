"""blkid-tab: remove the blkid cache, which records this machine's devices and UUIDs."""

from __future__ import annotations

import stat

from sysprep.providers.base import Context, Phase, Provider

# virt-sysprep's list, plus util-linux's current location under /run.
PATHS = (
    "var/run/blkid.tab",
    "var/run/blkid.tab.old",
    "etc/blkid/blkid.tab",
    "etc/blkid/blkid.tab.old",
    "etc/blkid.tab",
    "etc/blkid.tab.old",
    "dev/.blkid.tab",
    "dev/.blkid.tab.old",
    "run/blkid/blkid.tab",
    "run/blkid/blkid.tab.old",
)


def run(ctx: Context) -> None:
    for path in PATHS:
        st = ctx.fs.lstat(path)
        if st is not None and stat.S_ISREG(st.st_mode):  # a link is left alone, as virt-sysprep
            ctx.remove(path)


PROVIDER = Provider(
    name="blkid-tab",
    heading="Remove blkid tab in the guest",
    description=(
        "Removes the cache in which blkid records the block devices, labels and UUIDs it saw "
        "on this machine, in each place a distribution keeps it. A cache that is a symbolic "
        "link is left alone."
    ),
    phase=Phase.CLEANUP,
    run=run,
    paths=tuple("/" + p for p in PATHS),
)
