"""The pass engine: phases and configuration passes, image state, RunSynchronous, resume."""

from __future__ import annotations

import enum


class Pass(str, enum.Enum):
    """Configuration passes of an answer file, in the names Windows uses."""

    WINDOWS_PE = "windowsPE"
    OFFLINE_SERVICING = "offlineServicing"
    GENERALIZE = "generalize"
    SPECIALIZE = "specialize"
    AUDIT_SYSTEM = "auditSystem"
    AUDIT_USER = "auditUser"
    OOBE_SYSTEM = "oobeSystem"


# Passes that have no Linux meaning: parsed and reported, never applied.
NOT_APPLICABLE = frozenset({Pass.WINDOWS_PE, Pass.OFFLINE_SERVICING})
