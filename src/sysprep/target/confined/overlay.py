"""The dry-run overlay: what a dry run would have changed, so that the later operations of
the same run see the tree as the real run would (a removed file is gone, a written one is
there with its new size)."""

from __future__ import annotations

import os
import stat
from typing import Callable


class Overlay:
    """The changes a dry run planned, by canonical path inside the root."""

    def __init__(self) -> None:
        self.removed: set[str] = set()
        self.cleaned: set[str] = set()  # folders emptied
        self.written: dict[str, bytes] = {}
        self.files_cleaned: set[str] = set()  # folders emptied of files only
        self.created_dirs: set[str] = set()  # folders it would have made

    def remove(self, path: str) -> None:
        self.removed.add(path)
        self.written.pop(path, None)

    def write(self, path: str, data: bytes) -> None:
        self.written[path] = data
        self.removed.discard(path)

    def written_in(self, folder: str) -> list[str]:
        """The names of the files this run wrote directly in `folder`."""
        prefix = folder + "/" if folder else ""
        return [
            w[len(prefix) :]
            for w in self.written
            if w.startswith(prefix) and "/" not in w[len(prefix) :]
        ]

    def hides(
        self,
        path: str,
        st: os.stat_result | None,
        lstat_raw: Callable[[str], os.stat_result | None],
    ) -> bool:
        """Whether an earlier operation of this run removed the path (`st`: its lstat when
        known; `lstat_raw` reads it from disk, past the overlay)."""
        if self.files_cleaned and (st is None or not stat.S_ISDIR(st.st_mode)):
            parent = path.rsplit("/", 1)[0] if "/" in path else ""
            if parent in self.files_cleaned:
                if st is None:
                    st = lstat_raw(path)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    return True
        if not (self.removed or self.cleaned):
            return False
        if path in self.removed:
            return True
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in self.removed or prefix in self.cleaned:
                return True
        return "" in self.cleaned

    def fake_stat(self, path: str, on_disk: os.stat_result | None = None) -> os.stat_result:
        """The stat of a file this run has (planned to have) written."""
        size = len(self.written[path])
        if on_disk is not None and stat.S_ISREG(on_disk.st_mode):  # rewritten: metadata is kept
            return os.stat_result(
                (
                    on_disk.st_mode,
                    on_disk.st_ino,
                    on_disk.st_dev,
                    1,
                    on_disk.st_uid,
                    on_disk.st_gid,
                    size,
                    0,
                    0,
                    0,
                )
            )
        return os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, size, 0, 0, 0))
