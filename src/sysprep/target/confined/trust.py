"""Mount trust: which mounts under a target's root are its own (entered) and which are
foreign (a chroot's /proc, a host folder bound into it: never entered)."""

from __future__ import annotations

import os
from typing import Sequence

from sysprep.target.confined.paths import mount_id_of
from sysprep.target.mounts import Mount, is_own_mount, mounts_below, read_mounts


class MountTrust:
    """What the layer knows of the mounts under one root."""

    def __init__(self, root_fd: int) -> None:
        self.skipped: list[tuple[str, str]] = []  # (path, why) of the foreign mounts seen
        self.foreign_keys: set[tuple[int, int]] = set()
        self.foreign_ids: set[int] = set()
        self.own_keys: set[tuple[int, int]] = set()
        self.trusted_ids: set[int | None] = {mount_id_of(root_fd)}

    def load(self, host_path: str, own: Sequence[str], mounts: Sequence[Mount] | None) -> None:
        """Sort the mounts below `host_path`: those `own` names (the target's fstab) that hold
        a disk file system of the target, and the others."""
        table = list(mounts) if mounts is not None else read_mounts()
        below = mounts_below(host_path, table)
        inside = {m.mount_id for _, m in below}
        root_prefix = host_path.rstrip("/") + "/"
        # a file system that the host also has mounted elsewhere is the host's, whatever the
        # target's (untrusted) fstab claims: e.g. the host's /home bound into a chroot
        elsewhere = (
            set()
            if host_path == "/"
            else {
                m.device
                for m in table
                if m.mount_id not in inside
                and m.mount_point != host_path
                and not m.mount_point.startswith(root_prefix)
            }
        )
        for rel, mount in below:
            try:
                st = os.stat(os.path.join(host_path, rel), follow_symlinks=False)
            except OSError:
                continue  # hidden under another mount: unreachable from the root
            key = (st.st_dev, st.st_ino)
            if is_own_mount(rel, mount, own) and mount.device not in elsewhere:
                self.own_keys.add(key)
                self.trusted_ids.add(mount.mount_id)
            else:
                self.foreign_keys.add(key)
                self.foreign_ids.add(mount.mount_id)
                self.skipped.append((rel, f"{mount.fs_type} mount not part of the target"))

    def foreign(self, fd: int, st: os.stat_result, parent_dev: int) -> bool:
        """Whether the open directory `fd` (stat `st`, in a folder on `parent_dev`) is in a
        mount that is not the target's own."""
        key = (st.st_dev, st.st_ino)
        if st.st_dev != parent_dev:
            if key in self.own_keys:
                return False
            # A btrfs subvolume changes st_dev without being a mount: it shares the mount id
            # of the root or of one of the target's own mounts. Anything else is a mount we
            # must not enter, seen when the target was opened or not.
            return mount_id_of(fd) not in self.trusted_ids
        return key in self.foreign_keys and mount_id_of(fd) in self.foreign_ids
