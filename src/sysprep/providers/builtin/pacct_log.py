"""pacct-log: empty the process accounting log."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider

# Red Hat keeps it in /var/account, Debian in /var/log/account: found by what exists.
DIRS = ("var/account", "var/log/account")


def run(ctx: Context) -> None:
    for d in DIRS:
        if not ctx.fs.is_dir(d):
            continue
        ctx.remove(f"{d}/pacct?*")  # rotated logs: pacct.0, pacct.1.gz...
        if ctx.fs.is_file(f"{d}/pacct"):
            ctx.truncate(f"{d}/pacct")
        else:
            ctx.write(f"{d}/pacct", b"", mode=0o600)


PROVIDER = Provider(
    name="pacct-log",
    heading="Remove the process accounting log files",
    description=(
        "When process accounting is in use, every command run is logged to pacct. Its "
        "rotated copies are removed and pacct itself is emptied (or created empty, as "
        "virt-sysprep does, if logfiles already removed it), in /var/account (Red Hat) and "
        "/var/log/account (Debian)."
    ),
    phase=Phase.CLEANUP,
    run=run,
    order=60,  # after logfiles, which empties the folders of /var/log
    paths=tuple(f"/{d}/pacct*" for d in DIRS),
)
