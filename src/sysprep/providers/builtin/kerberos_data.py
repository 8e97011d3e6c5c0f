"""kerberos-data: remove the database of a Kerberos KDC (off by default)."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files

KDC_DIRS = ("var/kerberos/krb5kdc", "var/lib/krb5kdc")  # Red Hat, Debian
KEEP = ("kadm5.acl", "kdc.conf")


def run(ctx: Context) -> None:
    for d in KDC_DIRS:
        for path in ctx.fs.glob(f"{d}/*"):
            if path.rsplit("/", 1)[-1] not in KEEP:
                remove_files(ctx, path)


PROVIDER = Provider(
    name="kerberos-data",
    heading="Remove Kerberos data in the guest",
    description=(
        "Removes the database, stash and keys of a Kerberos KDC in /var/kerberos/krb5kdc "
        "(Red Hat) and /var/lib/krb5kdc (Debian), keeping its configuration (kdc.conf, "
        "kadm5.acl). Not enabled by default: a KDC is rarely cloned."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    default=False,
    paths=tuple(f"/{d}/* (except {', '.join(KEEP)})" for d in KDC_DIRS),
)
