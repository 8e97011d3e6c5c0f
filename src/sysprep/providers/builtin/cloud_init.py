"""cloud-init: what `cloud-init clean --logs --seed --configs all` removes, offline."""

from __future__ import annotations

import stat

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import run_program

CLOUD_DIR = "var/lib/cloud"
LOGS = ("var/log/cloud-init.log*", "var/log/cloud-init-output.log*")
# cloud-init's GEN_NET_CONFIG_FILES and GEN_SSH_CONFIG_FILES (cloudinit/cmd/clean.py).
GENERATED = (
    "etc/netplan/50-cloud-init.yaml",
    "etc/NetworkManager/conf.d/99-cloud-init.conf",
    "etc/NetworkManager/conf.d/30-cloud-init-ip6-addr-gen-mode.conf",
    "etc/NetworkManager/system-connections/cloud-init-*.nmconnection",
    "etc/systemd/network/10-cloud-init-*.network",
    "etc/network/interfaces.d/50-cloud-init.cfg",
    "etc/ssh/sshd_config.d/50-cloud-init.conf",
)
CLEAN_D = "etc/cloud/clean.d"


def run(ctx: Context) -> None:
    ctx.remove(*LOGS, *GENERATED)
    ctx.clean(CLOUD_DIR)
    # cloud-init clean runs the image's clean.d hooks (run-parts); they run in the sandbox.
    for name in ctx.fs.listdir(CLEAN_D):
        path = f"{CLEAN_D}/{name}"
        st = ctx.fs.stat(path)
        if (
            st is not None
            and stat.S_ISREG(st.st_mode)
            and st.st_mode & 0o111
            and not name.startswith(".")
        ):
            run_program(ctx, ["/" + path])


PROVIDER = Provider(
    name="cloud-init",
    heading="Remove cloud-init's instance state, seed and logs",
    description=(
        "Does offline what 'cloud-init clean --logs --seed --configs all' does: empties "
        "/var/lib/cloud (instance data, semaphores, the seed), removes cloud-init's logs and "
        "the network (netplan, NetworkManager, networkd, ifupdown) and sshd configuration "
        "it generated for this instance, and runs the image's /etc/cloud/clean.d hooks (in "
        "the sandbox for an offline image; not in a dry run). Each clone then runs "
        "cloud-init as a new instance. /etc/machine-id is reset by machine-id."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=("/" + CLOUD_DIR + "/*", *("/" + p for p in (*LOGS, *GENERATED)), f"/{CLEAN_D}/* (run)"),
    limits="Log files configured elsewhere than cloud-init's defaults are not found (logfiles "
    "empties /var/log anyway). A seed baked into /var/lib/cloud/seed on purpose is "
    "removed too: keep it with --disable cloud-init.",
)
