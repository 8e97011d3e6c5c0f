"""ipa-client: remove this machine's enrolment in a FreeIPA / IdM domain."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider
from sysprep.providers.builtin._util import REBUILD_CA_STORE

PATHS = (
    "etc/ipa/ca.crt",
    "etc/ipa/default.conf",
    "var/lib/ipa-client/sysrestore/*",
    "var/lib/ipa-client/pki/*",
)
# The IPA CA in the system CA store: the store is rebuilt when one of them goes.
CA_STORE = (
    "etc/pki/ca-trust/source/anchors/ipa-ca.crt",
    "usr/local/share/ca-certificates/ipa-ca.crt",
    "etc/pki/ca-trust/source/ipa.p11-kit",
)


PROVIDER = Provider(
    name="ipa-client",
    heading="Remove the IPA files",
    description=(
        "Removes the files of an IPA (Identity, Policy, Audit) enrolment: the domain's "
        "configuration and CA certificate, ipa-client's saved state, and the IPA CA in the "
        "system CA store (which is then rebuilt with the image's own tool). This unenrols "
        "the clone without talking to the server; ipa-client is not run. The host keytab is "
        "removed by kerberos-hostkeytab."
    ),
    phase=Phase.GENERALIZE,
    actions=(
        Remove(*PATHS, files_only=True),
        Remove(*CA_STORE, files_only=True, then=REBUILD_CA_STORE),
    ),
)
