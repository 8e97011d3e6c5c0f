"""lvm-uuids: give the LVM physical volumes and volume groups of a disk image new UUIDs."""

from __future__ import annotations

import re

from sysprep.providers.base import IMAGE, Context, Phase, Provider
from sysprep.target.confined import Outcome

DEVICES_FILE = "etc/lvm/devices/system.devices"


def run(ctx: Context) -> None:
    from sysprep.target import image

    img = ctx.target.image
    assert img is not None  # the provider is tagged IMAGE: other targets skip it
    if not img.groups:
        ctx.info("no LVM volume group in the image")
        return
    pvids: dict[str, str] = {}  # old PVID (32 characters) -> new
    for group in img.groups:
        vg = group.vg
        missing = [pv.id for pv in vg.pvs if pv.id not in group.pvs]
        if missing:
            ctx.warning(
                f"volume group {vg.name}: physical volumes {', '.join(missing)} are not "
                "in the images given; its UUIDs are kept"
            )
            continue
        olds, volumes = list(group.pvs), list(group.pvs.values())
        ctx.note(
            Outcome(
                "set-uuid",
                f"dev/{vg.name}",
                "device",
                detail=f"volume group {vg.id} and {len(volumes)} physical volume(s)",
            )
        )
        if ctx.dry_run:  # the new UUIDs are not known yet: the devices file keeps its size
            pvids.update({old.replace("-", ""): old.replace("-", "") for old in olds})
            continue
        devices = [img.device(v) for v in volumes]
        for old, vol, dev in zip(olds, volumes, devices):
            new = image.new_pv_uuid(vol, devices, dev)
            if new is not None:
                pvids[old.replace("-", "")] = new.replace("-", "")
                ctx.info(f"{vol.name}: physical volume UUID {old} -> {new}")
        image.new_vg_uuid(vg.name, devices)
        ctx.info(f"volume group {vg.name}: new UUID (was {vg.id})")
    text = ctx.fs.read_text(DEVICES_FILE)
    if text and pvids:
        new_text = text
        for old, new in pvids.items():
            new_text = re.sub(rf"\bPVID={re.escape(old)}\b", f"PVID={new}", new_text)
        names_one = any(re.search(rf"\bPVID={re.escape(old)}\b", text) for old in pvids)
        if new_text != text or (ctx.dry_run and names_one):
            ctx.write(DEVICES_FILE, new_text)


PROVIDER = Provider(
    name="lvm-uuids",
    heading="Change LVM2 PV and VG UUIDs",
    description=(
        "Gives every LVM physical volume and volume group of a disk image a new random UUID "
        "(pvchange -u, vgchange -u with a private configuration that sees only the image's "
        "devices and activates nothing), and updates the PVIDs in the image's LVM devices file "
        "(/etc/lvm/devices/system.devices) so that the guest still finds its volumes. Logical "
        "volume names, and so /dev/mapper paths, stay. On by default, as in virt-sysprep. Acts "
        "only on --image targets."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    tags=frozenset({IMAGE}),
    paths=("/" + DEVICES_FILE,),
    limits="A volume group whose physical volumes are not all among the --image disks is left alone.",
    order=94,
)
