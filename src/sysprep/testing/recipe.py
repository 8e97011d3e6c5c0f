"""What a test image is made of (its recipe, the key it is cached by) and what it holds (its
facts, for tests to check against); the one way the image builders run a program."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field

CACHE = os.environ.get("SYSPREP_TEST_CACHE", "/var/cache/sysprep-tests")
GRUB_DIR = "/usr/lib/grub/i386-pc"
MIB = 1024 * 1024
VERSION = "v4"  # bump when the builder changes what it makes
LVM_CONFIG = (
    'devices {{ filter=["a|^{dev}$|","r|.*|"] global_filter=["a|^{dev}$|","r|.*|"] '
    "use_devicesfile=0 obtain_device_list_from_udev=0 scan_lvs=0 }} "
    "backup {{ backup=0 archive=0 }} "
    "activation {{ udev_sync=0 udev_rules=0 monitoring=0 }}"
)


@dataclass(frozen=True)
class Recipe:
    layout: str  # gpt-lvm, mbr-ext4, gpt-xfs, gpt-btrfs, two-roots
    source: str = "dirty"  # dirty (synthetic) or debian (the debootstrap tarball)
    format: str = "raw"
    size_mb: int = 0  # 0: a size that fits the layout and source
    bulk: int = 0  # extra files in logs, temp and homes
    tarball: str = ""  # the Debian root (its name is part of the key)
    # more files: (path, text, mode); a text "random:N" is N random bytes
    extra: tuple[tuple[str, str, int], ...] = ()

    def key(self) -> str:
        data = json.dumps(
            {**asdict(self), "tarball": os.path.basename(self.tarball), "v": VERSION},
            sort_keys=True,
        )
        return hashlib.sha256(data.encode()).hexdigest()[:12]

    @property
    def file_name(self) -> str:
        return f"{self.layout}-{self.source}-{self.key()}.{self.format}"


@dataclass
class Facts:
    """What the built image holds, for tests to check against."""

    layout: str
    boot_uuid: str = ""
    root_uuid: str = ""
    swap_uuid: str = ""
    home_uuid: str = ""
    data_uuid: str = ""
    machine_id: str = ""
    kernel: str = ""
    identity: list[str] = field(default_factory=list)  # paths that generalize must remove
    disks: int = 1  # more disks of the same guest sit next to the image: IMAGE.disk2, ...


def run(*argv: str, input: str | None = None) -> str:
    p = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return p.stdout


def tree_size_mb(tree: str) -> int:
    out = run("du", "-sm", "--apparent-size", tree)
    return int(out.split()[0])
