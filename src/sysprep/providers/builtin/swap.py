"""swap: wipe the swap areas of a disk image (they hold pages of the template's memory)."""

from __future__ import annotations

from sysprep.providers.base import IMAGE, Context, Phase, Provider
from sysprep.rules import fstab
from sysprep.target.confined import Outcome


def run(ctx: Context) -> None:
    from sysprep.target import image

    img = ctx.target.image
    assert img is not None  # the provider is tagged IMAGE: other targets skip it
    swaps = [v for v in img.reachable() if v.probe.type == "swap"]
    if not swaps:
        ctx.info("no swap partition or logical volume in the image")
    for vol in swaps:
        # the record is the same in a dry run: how the zeros got there goes to the log only
        detail = f"recreated with UUID {vol.probe.uuid}" + (
            f", label {vol.probe.label}" if vol.probe.label else ""
        )
        ctx.note(Outcome("wipe", vol.name.lstrip("/"), "device", bytes=vol.size, detail=detail))
        if not ctx.dry_run:
            ctx.info(f"{vol.name}: {image.recreate_swap(img, vol)}")
    for e in fstab.parse(ctx.fs.read_text("etc/fstab") or ""):
        if e.fstype == "swap" and e.spec.startswith("/") and not e.spec.startswith("/dev/"):
            ctx.warning(
                f"swap file {e.spec} is not wiped (only swap partitions and logical volumes are)"
            )


PROVIDER = Provider(
    name="swap",
    heading="Wipe the swap partitions and logical volumes of the image",
    description=(
        "Swap holds pages of the template machine's memory: passwords, keys, anything. Every "
        "swap partition and swap logical volume of a disk image is zeroed (discarded, so the "
        "image stays sparse) and made again with mkswap, keeping its UUID and label so that "
        "fstab and the initramfs resume setting still find it (fs-uuids, when enabled, then "
        "gives it a new UUID and rewrites them). Acts only on --image targets."
    ),
    phase=Phase.CLEANUP,
    run=run,
    tags=frozenset({IMAGE}),
    paths=("swap partitions and logical volumes",),
    limits="Swap files inside a file system are not wiped.",
    order=80,
)
