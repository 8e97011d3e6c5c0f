"""fs-uuids: give each file system of a disk image a new UUID, and rewrite what names them."""

from __future__ import annotations

import functools
import re
import uuid

from sysprep.providers.base import IMAGE, Context, Phase, Provider
from sysprep.target.confined import Outcome

# Files that name file systems by UUID: mount tables, boot loader and initramfs settings.
REFERENCES = (
    "etc/fstab",
    "etc/crypttab",
    "etc/default/grub",
    "etc/default/grub.d/*.cfg",
    "etc/kernel/cmdline",
    "etc/initramfs-tools/conf.d/resume",
    "etc/dracut.conf.d/*.conf",
    "etc/systemd/system/*.mount",
    "etc/systemd/system/*.swap",
    "boot/grub/grub.cfg",
    "boot/grub2/grub.cfg",
    "boot/grub/custom.cfg",
    "boot/grub2/grubenv",
    "boot/loader/entries/*.conf",
    "boot/efi/EFI/*/grub.cfg",
    "boot/efi/loader/entries/*.conf",
    "etc/mkinitcpio.conf",
    "etc/sysconfig/grub",
)
# grub-install writes the configuration it embeds into GRUB's core image next to the modules:
# a UUID named there is also inside the core image, which sysprep does not rewrite.
CORE_IMAGE_CONFIG = ("boot/grub/*/load.cfg", "boot/grub2/*/load.cfg")
MAX_TEXT = 4 * 1024 * 1024


def pinned(ctx: Context) -> dict[str, str]:
    """UUIDs that must not change, and why."""
    img = ctx.target.image
    assert img is not None
    keep: dict[str, str] = {}
    for path in (p for pattern in CORE_IMAGE_CONFIG for p in ctx.fs.glob(pattern)):
        for found in re.findall(
            r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}",
            ctx.fs.read_text(path, limit=MAX_TEXT) or "",
        ):
            keep[found.lower()] = (
                f"GRUB's core image finds /boot by it (/{path}); run grub-install "
                "in the guest, then fs-uuids again, to change it"
            )
    esp = [
        v
        for v in img.reachable()
        if v.partition is not None and v.partition.esp and not img.mounted(v)
    ]
    if esp:
        boot = next(
            (m.volume for m in img.mounts if m.rel == "boot"), img.root.volume if img.root else None
        )
        if boot is not None and boot.probe.uuid:
            keep.setdefault(
                boot.probe.uuid.lower(),
                f"the EFI system partition {esp[0].name} could not be mounted here, and "
                "its grub.cfg may find /boot by this UUID",
            )
    return keep


def rewrite(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(old)}(?![0-9A-Za-z])", new, text, flags=re.I)
    return text


def run(ctx: Context) -> None:
    from sysprep.target import image

    img = ctx.target.image
    assert img is not None  # the provider is tagged IMAGE: other targets skip it
    keep = pinned(ctx)
    mapping: dict[str, str] = {}
    changes = []
    for vol in img.reachable():
        old = vol.probe.uuid.lower()
        if vol.probe.type not in image.UUID_TYPES or not old or old in mapping:
            continue
        if vol.probe.type == "btrfs" and vol.probe.devices > 1:
            ctx.warning(f"kept the UUID of {vol.name}: btrfs spanning several devices")
            continue
        if old in keep:
            ctx.warning(f"kept the UUID of {vol.describe()}: {keep[old]}")
            continue
        new = str(uuid.uuid4())
        mapping[old] = new
        changes.append((vol, old, new))
    if not changes:
        ctx.info("no file system UUID to change")
        return
    for pattern in REFERENCES:
        for path in ctx.fs.glob(pattern):
            if not ctx.fs.is_file(path):
                continue
            text = ctx.fs.read_text(path, limit=MAX_TEXT)
            if text is None:
                continue
            new_text = rewrite(text, mapping)
            if new_text != text:
                ctx.write(path, new_text.encode("utf-8", "surrogateescape"))
    for vol, old, new in changes:
        ctx.note(Outcome("set-uuid", vol.name.lstrip("/"), "device", detail=f"{old} -> {new}"))
        if not ctx.dry_run:
            img.defer(
                f"{vol.name}: UUID {old} -> {new}", functools.partial(image.set_uuid, img, vol, new)
            )


PROVIDER = Provider(
    name="fs-uuids",
    heading="Change filesystem UUIDs",
    description=(
        "Gives every file system and swap area of a disk image (ext2/3/4, xfs, btrfs, swap) a "
        "new random UUID, and rewrites every place of the image that names the old ones: fstab, "
        "crypttab, GRUB's grub.cfg and defaults, boot loader entries, kernel command line, "
        "initramfs resume settings, systemd mount units. The UUIDs change after the file systems "
        "are unmounted (e2fsck then tune2fs, xfs_admin, btrfstune, swaplabel); the image "
        "stays IMAGE_STATE_UNDEPLOYABLE until they are done, with the reason if one fails. Unlike "
        "virt-sysprep's, a UUID that GRUB's core image names (grub-install's load.cfg) is kept, "
        "with a warning, because changing it would leave the image unbootable. Off by default, "
        "as in virt-sysprep. Acts only on --image targets."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    default=False,
    tags=frozenset({IMAGE}),
    paths=tuple("/" + p for p in REFERENCES),
    limits="GPT partition GUIDs (PARTUUID) are not changed. GRUB's core image is not rewritten: "
    "the UUID of the file system holding /boot/grub is kept when it names it. On a "
    "kernel without vfat the EFI system partition is not read, so the UUID of /boot is kept.",
    order=95,
)
