"""snapd-serial: remove the snap device identity (serial, device key) and store logins."""

from __future__ import annotations

import json

from sysprep.providers.base import Context, Phase, Provider

STATE = "var/lib/snapd/state.json"
REMOVE = ("var/lib/snapd/device/private-keys-v1/*", "var/lib/snapd/assertions/asserts-v0/serial/*")
DEVICE_KEYS = ("serial", "key-id", "session-macaroon")


def forget_identity(state: dict[str, object]) -> bool:
    """Drop the device serial, its key and session, and the logged-in store users."""
    data = state.get("data")
    auth = data.get("auth") if isinstance(data, dict) else None
    if not isinstance(auth, dict):
        return False
    changed = False
    device = auth.get("device")
    if isinstance(device, dict):
        for key in DEVICE_KEYS:
            if key in device:
                del device[key]
                changed = True
    for key in ("users", "last-id"):
        if key in auth:
            del auth[key]
            changed = True
    return changed


def run(ctx: Context) -> None:
    text = ctx.fs.read_text(STATE)
    if text is not None:
        try:
            state = json.loads(text)
        except ValueError as e:
            ctx.fail(f"/{STATE} is not valid JSON: {e}")
            return
        if isinstance(state, dict) and forget_identity(state):
            ctx.write(STATE, json.dumps(state, separators=(",", ":")))
    ctx.remove(*REMOVE)


PROVIDER = Provider(
    name="snapd-serial",
    heading="Remove the snapd device serial, device key and store logins",
    description=(
        "Removes from snapd's state the device serial, the ID of the device key and the "
        "store session (every clone would otherwise present itself to the snap store as the "
        "same device), and the store accounts logged in on the template; removes the device "
        "private key and the serial assertions. Installed snaps are kept. snapd makes a new "
        "key and asks for a new serial at its next start."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    paths=(f"/{STATE} (device serial, key-id, session, users)", *("/" + p for p in REMOVE)),
    limits="On a live system, stop snapd first: it rewrites its state when it stops.",
)
