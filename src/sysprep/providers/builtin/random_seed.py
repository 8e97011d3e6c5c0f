"""random-seed: remove the saved random seeds, so that clones do not start with the same entropy."""

from __future__ import annotations

from sysprep.providers.actions import Remove
from sysprep.providers.base import Phase, Provider

PATHS = (
    "var/lib/systemd/random-seed",  # systemd-random-seed
    "boot/efi/loader/random-seed",
    "efi/loader/random-seed",
    "boot/loader/random-seed",  # systemd-boot
    "var/lib/urandom/random-seed",  # Debian's sysvinit urandom script
    "var/lib/random-seed",  # older Red Hat and SUSE
)


PROVIDER = Provider(
    name="random-seed",
    heading="Remove the saved random seeds",
    description=(
        "Removes the random seeds saved at shutdown and credited at the next boot "
        "(systemd-random-seed's, systemd-boot's in the EFI system partition, and the older "
        "init scripts'): every clone would otherwise credit the same 'secret' entropy at its "
        "first boot. Each clone saves its own seed at its first shutdown."
    ),
    phase=Phase.GENERALIZE,
    actions=(Remove(*PATHS),),
    limits="An EFI system partition mounted elsewhere than /boot/efi, /efi or /boot is not "
    "looked at.",
)
