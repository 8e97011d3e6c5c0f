"""initramfs-hostonly: at the clone's first boot, give back an image its host-only initramfs,
rebuilt for the clone's own hardware (the generalize phase made it generic so the clone could
boot this far)."""

from __future__ import annotations

from sysprep.providers.base import HARDWARE, Context, Phase, Provider
from sysprep.providers.builtin._util import first_existing, run_program
from sysprep.providers.builtin.initramfs import GENERATORS


def run(ctx: Context) -> None:
    for gen in GENERATORS:  # the generators the initramfs provider made generic
        if not ctx.fs.exists(gen.dropin):
            continue
        if not ctx.target.live:
            ctx.info(
                f"/{gen.dropin}: the host-only initramfs is rebuilt on the clone itself, at its "
                "first boot (an offline target has no hardware of its own)"
            )
            continue
        program = first_existing(ctx, *gen.programs)
        ctx.remove(gen.dropin)  # the image's own host-only configuration applies again
        if program is None:
            ctx.warning(f"no initramfs tool for /{gen.dropin}: the generic initramfs stays")
            continue
        ctx.info("rebuilding the host-only initramfs for this machine's hardware")
        run_program(ctx, ["/" + program, *gen.rebuild])


PROVIDER = Provider(
    name="initramfs-hostonly",
    heading="Rebuild a host-only initramfs for the clone's own hardware",
    description=(
        "When the generalize phase made the image's host-only initramfs generic (the "
        "initramfs provider's drop-in for dracut, initramfs-tools or mkinitcpio is there), "
        "removes that drop-in at the clone's first boot and rebuilds the initramfs with the "
        "image's own tool, now for the clone's hardware. Until then the generic one boots it. "
        "Skipped when devices were persisted (the initramfs was never made generic)."
    ),
    phase=Phase.SPECIALIZE,
    run=run,
    tags=frozenset({HARDWARE}),
    paths=(*("/" + gen.dropin for gen in GENERATORS), "/boot/initr* (rebuilt)"),
    limits="The rebuild makes the first boot longer (tens of seconds).",
    order=40,
)
