"""Regenerate the screenshots of the three UIs (SVG, 80x25) in this folder.

    python docs/screenshots/make.py [OUTDIR]

Each UI runs headless (textual's test pilot) against a throw-away fixture root, is driven by
key presses to a representative page, and is saved with App.save_screenshot. Needs root (the
fixture root has root-owned files).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))

from sysprep.passes import progress as prog  # noqa: E402
from sysprep.passes import state  # noqa: E402
from sysprep.request import TargetKind, TargetSpec  # noqa: E402
from sysprep.target import open_target  # noqa: E402
from sysprep.testing.dirty_root import build, write_file  # noqa: E402
from sysprep.ui import audit, dialog, welcome  # noqa: E402

SIZE = (80, 25)
ZONES = ("UTC", "Europe/Amsterdam", "Europe/Berlin", "Europe/Brussels", "Europe/Lisbon",
         "Europe/London", "Europe/Madrid", "Europe/Paris", "Europe/Rome", "America/New_York")


def fixture(root: str) -> TargetSpec:
    build(root)
    for z in ZONES:
        write_file(root, f"usr/share/zoneinfo/{z}", "TZif2\n")
    write_file(root, "usr/share/zoneinfo/zone1970.tab", "".join(f"XX\t+0+0\t{z}\n" for z in ZONES[1:]))
    write_file(root, "usr/share/i18n/SUPPORTED", "en_US.UTF-8 UTF-8\nde_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n")
    write_file(root, "etc/sysprep/eula.txt", "ACME Linux license terms\n\n1. You may use this software.\n")
    return TargetSpec(TargetKind.ROOT, root=root)


async def shoot_dialog(out: str) -> None:
    app = dialog.make_app("the live system", False, [])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "space")
        await pilot.pause()
        app.save_screenshot(os.path.join(out, "dialog.svg"))


async def shoot_welcome(spec: TargetSpec, out: str) -> None:
    with open_target(spec, dry_run=False) as t:
        plan = welcome.make_plan(t.fs, None)
        app = welcome.make_app(plan, lambda pw: "$6$x$y", t.fs)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.save_screenshot(os.path.join(out, "welcome-language.svg"))
            await pilot.press("enter", "enter", *"Europe/")
            await pilot.pause()
            app.save_screenshot(os.path.join(out, "welcome-time-zone.svg"))
            await pilot.press("enter", "tab", "space", "enter", "enter")
            await pilot.press(*"anna", "tab", *"Anna Example", "tab", *"Corr3ct-horse!", "tab",
                              *"Corr3ct-horse!")
            await pilot.pause()
            app.save_screenshot(os.path.join(out, "welcome-account.svg"))


async def shoot_audit(spec: TargetSpec, out: str) -> None:
    labels = ["Install the monitoring agent", "/usr/local/sbin/enroll --site eu",
              "Update firmware", "Run the hardware self-test", "Install vendor drivers",
              "Copy the recovery tools", "Set the asset tag", "Register with inventory"]
    items = []
    began = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - 75))
    for n, label in enumerate(labels, 1):
        status = prog.SUCCEEDED if n < 4 else prog.RUNNING if n == 4 else prog.PENDING
        if n == 2:
            status = prog.FAILED
        items.append(prog.Item(n, label, label, "OnRequest", status,
                               None if status in (prog.PENDING, prog.RUNNING) else (4 if n == 2 else 0),
                               started=(began if n == 4 else "2026-11-25T10:00:00+0000")
                               if status != prog.PENDING else "",
                               finished="2026-11-25T10:00:42+0000" if n < 4 else "",
                               log=f"/var/log/sysprep/commands/auditUser-{n}.log", boot="b"))
    with open_target(spec, dry_run=False) as t:
        t.fs.mkdir("var/lib/sysprep", 0o755)
        prog.write(t.fs, prog.Progress("auditUser", items, boot_id="b"))
        state.write(t.fs, state.State(state.ImageState.UNDEPLOYABLE, pending=("auditUser",),
                                      running="auditUser"))
        t.fs.mkdir("var/log/sysprep/commands", 0o700)
        t.fs.write("var/log/sysprep/commands/auditUser-4.log",
                   b"memtest: pass 1 of 3 ok\nmemtest: pass 2 of 3 ok\ndisk: SMART status PASSED\n"
                   b"cpu: stress test running (60 s)\n")
        app = audit.make_app(t.fs, title="sysprep - auditUser - RunSynchronous")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.8)
            app.save_screenshot(os.path.join(out, "auditui.svg"))


async def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        spec = fixture(os.path.join(tmp, "root"))
        await shoot_dialog(out)
        await shoot_welcome(spec, out)
        await shoot_audit(spec, out)
    for name in sorted(os.listdir(out)):
        if name.endswith(".svg"):
            print(os.path.join(out, name))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else HERE))
