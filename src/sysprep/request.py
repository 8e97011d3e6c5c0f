"""What the user asked for, validated and immutable: the command line's one product."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Reseal(str, enum.Enum):
    """Where the next boot goes after the passes (the seed's System Cleanup Action)."""

    OOBE = "oobe"
    AUDIT = "audit"


class Power(str, enum.Enum):
    """What happens when sysprep has finished (the seed's Shutdown Options)."""

    QUIT = "quit"
    REBOOT = "reboot"
    SHUTDOWN = "shutdown"


class TargetKind(str, enum.Enum):
    LIVE = "live"
    ROOT = "root"
    IMAGE = "image"


@dataclass(frozen=True)
class TargetSpec:
    kind: TargetKind
    root: str = "/"  # the directory for LIVE and ROOT
    images: tuple[str, ...] = ()
    image_format: str | None = None
    allow_block_device: bool = False  # --image may name a block device
    root_fs: str | None = None
    sparsify: bool = False  # --sparsify: discard the free blocks of the image's file systems
    zero_free_space: bool = False  # --zero-free-space: write zeros over them

    @property
    def offline(self) -> bool:
        return self.kind is not TargetKind.LIVE

    def describe(self) -> str:
        if self.kind is TargetKind.LIVE:
            return "the live system"
        if self.kind is TargetKind.ROOT:
            return self.root
        return ", ".join(self.images)


@dataclass(frozen=True)
class Selection:
    """`--operations`, `--enable` and `--disable`, applied to the registry in that order."""

    operations: tuple[str, ...] | None = None
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Customize:
    """The virt-customize spellings (--hostname, --root-password, ...), as typed: they compile
    into an answer file (sysprep.answer.customize). Password selectors stay selectors here
    (file:F, password:P, random, disabled): the secret itself is read only when compiled."""

    hostname: str | None = None
    root_password: str | None = None
    passwords: tuple[tuple[str, str], ...] = ()  # (account, selector)
    ssh_inject: tuple[tuple[str, str], ...] = ()  # (account, "file:F" | "string:KEY" | "")
    timezone: str | None = None
    firstboot_commands: tuple[str, ...] = ()  # specialize RunSynchronous, in order
    run_commands: tuple[str, ...] = ()  # generalize RunSynchronous: run now, in the sandbox

    def __bool__(self) -> bool:
        return any(
            (
                self.hostname,
                self.root_password,
                self.passwords,
                self.ssh_inject,
                self.timezone,
                self.firstboot_commands,
                self.run_commands,
            )
        )


@dataclass(frozen=True)
class Request:
    """One sysprep run: the actions, the target and how to report."""

    generalize: bool = False
    reseal: Reseal | None = None
    mode_vm: bool = False
    no_boot_passes: bool = False  # --no-boot-passes: generalize only, nothing runs at boot
    power: Power = Power.QUIT
    quiet: bool = False
    verbose: bool = False  # every action on the screen (-v)
    trace: bool = False  # every command run on the screen (-x)
    unattend: str | None = None
    target: TargetSpec = TargetSpec(TargetKind.LIVE)
    dry_run: bool = False
    json: bool = False
    strict: bool = False
    selection: Selection = Selection()
    options: tuple[tuple[str, str], ...] = field(
        default=()
    )  # provider options, e.g. keep-user-accounts
    customize: Customize = Customize()  # the virt-customize spellings

    @property
    def has_action(self) -> bool:
        return self.generalize or self.reseal is not None
