"""ca-certificates: remove locally added certificates and keys (off by default)."""

from __future__ import annotations

from sysprep.providers.base import Context, Phase, Provider
from sysprep.providers.builtin._util import remove_files, update_ca_store

PATHS = ("etc/pki/CA/certs/*.crt", "etc/pki/CA/crl/*.crt", "etc/pki/CA/newcerts/*.crt",
         "etc/pki/CA/private/*.key", "etc/pki/tls/private/*.key", "etc/pki/tls/certs/*.crt")
# The distribution's bundles, not certificates of this machine.
EXCEPT = ("etc/pki/tls/certs/ca-bundle.crt", "etc/pki/tls/certs/ca-bundle.trust.crt")


def run(ctx: Context) -> None:
    removed = 0
    for pattern in PATHS:
        for path in ctx.fs.glob(pattern):
            if path not in EXCEPT:
                removed += remove_files(ctx, path)
    if removed:
        update_ca_store(ctx)


PROVIDER = Provider(
    name="ca-certificates",
    heading="Remove CA certificates in the guest",
    description=(
        "Removes certificates and private keys added to /etc/pki (a local CA's certificates, "
        "revocation lists and keys, TLS certificates and keys) but not the distribution's CA "
        "bundles (ca-bundle.crt, ca-bundle.trust.crt). When a certificate is removed, the "
        "system CA store is rebuilt with the image's own tool (update-ca-trust or "
        "update-ca-certificates), in the sandbox for an offline image. Not enabled by default."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    default=False,
    paths=tuple("/" + p for p in PATHS),
    limits="Certificates kept elsewhere (/etc/ssl/private, application folders) are not "
           "looked for.",
)
