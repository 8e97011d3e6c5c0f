"""tmp-files: empty /tmp and /var/tmp."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

PATHS = ("tmp", "var/tmp")


def run(ctx: Context) -> None:
    ctx.clean(*PATHS)


PROVIDER = Provider(
    name="tmp-files",
    heading="Remove temporary files",
    description=(
        "Removes everything under /tmp and /var/tmp, hidden files included (one action per "
        "folder). The folders themselves stay, with their mode (1777) and owner."
    ),
    phase=Phase.CLEANUP,
    run=run,
    paths=("/tmp/*", "/var/tmp/*"),
    limits="On a live system, files programs still use are removed too: shut down soon after.",
)
