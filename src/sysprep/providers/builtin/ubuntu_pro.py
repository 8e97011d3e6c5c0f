"""ubuntu-pro: detach the image from Ubuntu Pro (activation)."""

from __future__ import annotations

import re

from sysprep.providers.base import ACTIVATION, Context, Phase, Provider

AUTH = "etc/apt/auth.conf.d/90ubuntu-advantage"
# What 'pro attach' leaves (the machine token, apt's credentials) and 'pro detach' removes;
# the Pro client's configuration and a plain apt source are no attachment.
ATTACHED = ("var/lib/ubuntu-advantage/private/machine-token.json", AUTH)
REMOVE = (
    "var/lib/ubuntu-advantage/private/*",
    "var/lib/ubuntu-advantage/machine-id",
    "var/lib/ubuntu-advantage/status.json",
)
SOURCES = ("etc/apt/sources.list.d/*.list", "etc/apt/sources.list.d/*.sources")


def run(ctx: Context) -> None:
    auth = ctx.fs.read_text(AUTH)
    if auth is not None:
        # The sources of the services the token opened: without it they fail apt update.
        hosts = {m.split("/")[0] for m in re.findall(r"^\s*machine\s+(\S+)", auth, re.M)}
        for pattern in SOURCES:
            for path in ctx.fs.glob(pattern):
                text = ctx.fs.read_text(path) or ""
                if hosts and any(re.search(rf"https?://{re.escape(h)}(/|\s)", text) for h in hosts):
                    ctx.remove(path)
        ctx.remove(AUTH)
    ctx.remove(*REMOVE)


PROVIDER = Provider(
    name="ubuntu-pro",
    heading="Detach the image from Ubuntu Pro",
    description=(
        "Removes the Ubuntu Pro attachment: the machine token and the Pro client's machine "
        "ID and status (/var/lib/ubuntu-advantage), apt's credentials for the Pro "
        "repositories and the sources of those repositories, as 'pro detach' does. Each "
        "clone attaches with its own token. Skipped with SkipRearm."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({ACTIVATION}),
    paths=(*("/" + p for p in REMOVE), "/" + AUTH, "/etc/apt/sources.list.d/* (Pro repositories)"),
    limits="Packages installed from Pro repositories stay installed.",
    registration=ATTACHED,
)
