"""ca-certificates: remove locally added certificates and keys (off by default)."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider
from sysprep.providers.builtin._util import REBUILD_CA_STORE

PATHS = (
    "etc/pki/CA/certs/*.crt",
    "etc/pki/CA/crl/*.crt",
    "etc/pki/CA/newcerts/*.crt",
    "etc/pki/CA/private/*.key",
    "etc/pki/tls/private/*.key",
    "etc/pki/tls/certs/*.crt",
)
# The distribution's bundles, not certificates of this machine.
EXCEPT = ("etc/pki/tls/certs/ca-bundle.crt", "etc/pki/tls/certs/ca-bundle.trust.crt")


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
    default=False,
    actions=(Remove(*PATHS, files_only=True, keep=EXCEPT, then=REBUILD_CA_STORE),),
    limits="Certificates kept elsewhere (/etc/ssl/private, application folders) are not "
    "looked for.",
)
