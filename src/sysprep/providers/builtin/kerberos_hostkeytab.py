"""kerberos-hostkeytab: remove the Kerberos keytab of this host."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = ("etc/krb5.keytab",)


PROVIDER = Provider(
    name="kerberos-hostkeytab",
    heading="Remove the Kerberos host keytab file in the guest",
    description=(
        "Removes /etc/krb5.keytab, the keys of this host's Kerberos principals: a clone must "
        "be joined to the realm under its own name."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
)
