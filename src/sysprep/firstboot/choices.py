"""Applying the choices made in the welcome, through the same settings functions as the
answer file's (sysprep.firstboot.apply): the UI only collects them."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sysprep.answer.types import LocalAccount
from sysprep.errors import RunError
from sysprep.firstboot import apply
from sysprep.providers.base import Context, Phase, Provider, Settings

if TYPE_CHECKING:
    from sysprep.log import RunLog
    from sysprep.target import Target

EULA_RECORD = "var/lib/sysprep/eula-accepted"


@dataclass(frozen=True)
class Choices:
    """What the person chose (None: the page was not shown, the image keeps what it has)."""

    locale: str | None = None
    keymap: str | None = None
    time_zone: str | None = None
    hostname: str | None = None
    account: LocalAccount | None = None
    # the license terms accepted, and where they were read: recorded with their digest
    eula: str | None = None
    eula_path: str = ""


def apply_choices(target: Target, log: RunLog, choices: Choices) -> None:
    p = Provider(
        name="oobe-welcome",
        heading="Apply the choices made in the welcome",
        description="",
        phase=Phase.SPECIALIZE,
        run=lambda ctx: None,
    )
    ctx = Context(target, log, p, Settings(), dry_run=False)
    if choices.locale:
        apply.set_locale(ctx, choices.locale)
    if choices.keymap:
        apply.set_keymap(ctx, choices.keymap)
    if choices.time_zone:
        apply.set_timezone(ctx, choices.time_zone)
    if choices.eula is not None:
        digest = hashlib.sha256(choices.eula.encode()).hexdigest()
        ctx.mkdir(EULA_RECORD.rsplit("/", 1)[0])
        ctx.write(
            EULA_RECORD,
            f"accepted={time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
            f"file=/{choices.eula_path}\nsha256={digest}\n",
        )
    if choices.hostname:
        apply.set_hostname(ctx, choices.hostname)
    if choices.account:
        apply.ensure_account(ctx, choices.account)
    if ctx.errors:
        raise RunError(f"applying the welcome's choices failed: {ctx.errors[0]}")
