"""hostname: set the static host name back to a neutral name and forget the old one."""

from __future__ import annotations

import re

from sysprep.errors import not_regular
from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import drop_lines, edit_text

NEUTRAL = "localhost"
HOSTNAME_FILES = ("etc/hostname", "etc/HOSTNAME")  # SUSE's old name (often a link: followed)
_LOOPBACK = re.compile(r"^\s*(127\.\d+\.\d+\.\d+|::1)\s")


def _first_word(text: str) -> str:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            return line.split()[0]
    return ""


def forget_in_hosts(text: str, names: set[str]) -> str:
    """Remove `names`, and the FQDNs of a short name among them (Debian's installer writes
    `127.0.1.1 host.domain host` while /etc/hostname holds `host`), from the loopback lines
    of /etc/hosts; a line left with no name goes."""
    out = []
    for line in text.splitlines(keepends=True):
        if not _LOOPBACK.match(line):
            out.append(line)
            continue
        body, _, comment = line.rstrip("\n").partition("#")
        words = body.split()
        kept = [w for w in words[1:] if w not in names and w.split(".")[0] not in names]
        if kept == words[1:]:
            out.append(line)
        elif kept:
            out.append(" ".join([words[0], *kept]) + (f" #{comment}" if comment else "") + "\n")
    return "".join(out)


def run(ctx: Context) -> None:
    old: set[str] = set()
    done: set[str] = set()
    for path in HOSTNAME_FILES:
        real = ctx.fs.realpath(path)
        st = ctx.fs.lstat(real) if real is not None and real not in done else None
        if real is None or st is None:
            continue
        done.add(real)
        kind = not_regular(st.st_mode)
        if kind is not None:  # a name kept there would be every clone's: say it was not reset
            ctx.warning(f"/{path} is {kind}, not a regular file: its host name is not reset")
            continue
        name = _first_word(ctx.fs.read_text(real) or "")
        if name and name not in (NEUTRAL, "localhost.localdomain"):
            old.update({name, name.split(".")[0]})
            ctx.write(real, f"{NEUTRAL}\n")
    # Red Hat 6 kept it in sysconfig/network; machine-info may carry a pretty name.
    edit_text(
        ctx,
        "etc/sysconfig/network",
        lambda t: drop_lines(t, lambda line: line.startswith("HOSTNAME=")),
    )
    edit_text(
        ctx,
        "etc/machine-info",
        lambda t: drop_lines(t, lambda line: line.startswith("PRETTY_HOSTNAME=")),
    )
    if old:
        edit_text(ctx, "etc/hosts", lambda t: forget_in_hosts(t, old))


PROVIDER = Provider(
    name="hostname",
    heading="Reset the host name to a neutral name",
    description=(
        "Writes 'localhost' to /etc/hostname, which systemd and NetworkManager treat as no "
        "static name (a name from DHCP or the specialize pass is taken instead), removes the "
        "template's name from the loopback lines of /etc/hosts (Debian's 127.0.1.1 line), and "
        "drops HOSTNAME= from /etc/sysconfig/network and PRETTY_HOSTNAME= from "
        "/etc/machine-info. Files are rewritten in place, owner and mode kept."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=(
        "/etc/hostname",
        "/etc/hosts (loopback lines)",
        "/etc/sysconfig/network (HOSTNAME=)",
        "/etc/machine-info (PRETTY_HOSTNAME=)",
    ),
    limits="Names written in other files (application configuration, certificates) are not "
    "looked for.",
)
