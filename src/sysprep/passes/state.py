"""The image state (var/lib/sysprep/state.ini), with the values Windows uses.

As in Windows, the state is IMAGE_STATE_UNDEPLOYABLE while a phase runs and after a failure:
it is written before the first change and replaced only when every step has finished.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from sysprep.rules import records
from sysprep.target.confined import Confined

STATE_DIR = "var/lib/sysprep"
STATE_FILE = f"{STATE_DIR}/state.ini"


class ImageState(str, enum.Enum):
    COMPLETE = "IMAGE_STATE_COMPLETE"
    UNDEPLOYABLE = "IMAGE_STATE_UNDEPLOYABLE"
    GENERALIZE_RESEAL_TO_OOBE = "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE"
    GENERALIZE_RESEAL_TO_AUDIT = "IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT"
    SPECIALIZE_RESEAL_TO_OOBE = "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"
    SPECIALIZE_RESEAL_TO_AUDIT = "IMAGE_STATE_SPECIALIZE_RESEAL_TO_AUDIT"


@dataclass(frozen=True)
class State:
    image_state: ImageState
    pending: tuple[str, ...] = ()  # passes the next boots will run, in order
    running: str = ""  # the phase or pass under way (while UNDEPLOYABLE)
    last_error: str = ""
    persist_devices: bool = False
    mode_vm: bool = False
    updated: str = ""
    cycle: str = ""  # the run under way (UNDEPLOYABLE); a rerun after a crash continues it
    # oobeSystem shows the welcome (--oobe); False: headless, the pass finishes unattended
    welcome: bool = True
    # False: generalized with --no-boot-passes, nothing of sysprep runs at the clone's boot
    boot_passes: bool = True

    def but(self, **changes: object) -> State:
        return replace(self, **changes)  # type: ignore[arg-type]


def read(fs: Confined) -> State | None:
    text = fs.read_text(STATE_FILE, limit=1024 * 1024)
    if text is None:
        return None
    try:
        cp = records.parse(text)
        raw = cp.get("State", "ImageState")
        image_state = ImageState(raw)
    except (records.Error, ValueError):
        return State(ImageState.UNDEPLOYABLE, last_error=f"/{STATE_FILE} is unreadable")
    s = cp["Sysprep"] if cp.has_section("Sysprep") else {}
    return State(
        image_state=image_state,
        pending=tuple(p for p in s.get("PendingPasses", "").split(",") if p),
        running=s.get("Running", ""),
        last_error=s.get("LastError", ""),
        persist_devices=s.get("PersistAllDeviceInstalls", "false") == "true",
        mode_vm=s.get("ModeVM", "false") == "true",
        updated=s.get("Updated", ""),
        cycle=s.get("Cycle", ""),
        welcome=s.get("Welcome", "true") != "false",
        boot_passes=s.get("BootPasses", "true") != "false",
    )


def render(state: State) -> str:
    sysprep = {
        "PendingPasses": ",".join(state.pending),
        "Running": state.running,
        "LastError": state.last_error.replace("\n", " "),
        "PersistAllDeviceInstalls": "true" if state.persist_devices else "false",
        "ModeVM": "true" if state.mode_vm else "false",
        "Updated": state.updated or records.now(),
    }
    if state.cycle:
        sysprep["Cycle"] = state.cycle
    if not state.welcome:
        sysprep["Welcome"] = "false"
    if not state.boot_passes:
        sysprep["BootPasses"] = "false"
    return records.render({"State": {"ImageState": state.image_state.value}, "Sysprep": sysprep})


def write(fs: Confined, state: State) -> None:
    """Atomically replace the state file (fsynced; never in a dry run)."""
    if fs.dry_run:
        return
    fs.mkdir(STATE_DIR, 0o755)
    fs.write(STATE_FILE, render(state.but(updated="")).encode(), mode=0o644)
