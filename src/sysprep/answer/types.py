"""Typed values of the answer-file settings that the passes act on.

The answer-file model (sysprep.answer) produces these; the pass engine and the providers
consume them. They carry no secret in clear: passwords arrive already hashed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WillReboot(str, enum.Enum):
    """RunSynchronousCommand/WillReboot, with the seed's return-code rules (passes.runsync)."""

    ALWAYS = "Always"
    NEVER = "Never"
    ON_REQUEST = "OnRequest"


@dataclass(frozen=True)
class SyncCommand:
    """One RunSynchronousCommand of a pass (or a FirstLogonCommands/SynchronousCommand)."""

    order: int
    path: str  # a command line, run by /bin/sh -c
    description: str = ""
    will_reboot: WillReboot = WillReboot.NEVER
    user: str | None = None  # Credentials/Username: run as this account instead of root

    @property
    def label(self) -> str:
        """What the AuditUI shows: the Description, else the Path (as the seed says)."""
        return self.description or self.path


class ResealMode(str, enum.Enum):
    AUDIT = "Audit"
    OOBE = "OOBE"


@dataclass(frozen=True)
class Reseal:
    mode: ResealMode
    force_shutdown_now: bool = False


@dataclass(frozen=True)
class LocalAccount:
    name: str
    groups: tuple[str, ...] = ()
    password_hash: str | None = None  # crypt(3) hash, made before anything was written
    display_name: str = ""
    authorized_keys: tuple[str, ...] = ()
    sudo: bool = False


@dataclass(frozen=True)
class AutoLogon:
    username: str
    enabled: bool = True
    logon_count: int = 1


@dataclass(frozen=True)
class Oobe:
    hide_eula_page: bool = False
    eula_file: str | None = None  # a path inside the target
    skip_machine_oobe: bool = False
