"""Leftovers of a killed run: the temp files (`.NAME.sysprep-XXXXXXXX`) that replace files
atomically. A run notes each temp file's path before it makes it, so that a rerun removes
exactly what a crash left, and never a file of the same form that is not its own.
"""

from __future__ import annotations

import json
import os
import stat

from sysprep.target.confined import Confined, is_temp_name


class TempJournal:
    """The temp files a run makes, noted in a file of the target while the run lasts."""

    def __init__(self, fs: Confined, path: str) -> None:
        self.fs = fs
        self.path = path
        self._fd = -1

    def start(self) -> list[str]:
        """Remove the leftovers of an earlier run, then note this one's; what was removed."""
        removed = self.sweep()
        self.fs.on_temp = self._note
        return removed

    def finish(self) -> None:
        """The run ended in order (every temp file renamed or removed): forget them."""
        self.fs.on_temp = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.fs.remove(self.path)

    def _note(self, path: str) -> None:
        if self._fd < 0:
            self._fd = self.fs.open_append(self.path, 0o600)
        data = (json.dumps(path) + "\n").encode()  # a name may hold a newline
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)  # on disk before the temp file is

    def sweep(self) -> list[str]:
        removed = []
        for path in self._noted():
            st = self.fs.lstat(path)
            if (
                st is not None
                and (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode))
                and is_temp_name(path.rpartition("/")[2])
            ):
                self.fs.remove(path)
                removed.append(path)
        self.fs.remove(self.path)
        return removed

    def _noted(self) -> list[str]:
        paths = []
        for line in (self.fs.read_text(self.path) or "").splitlines():
            try:
                path = json.loads(line)
            except ValueError:
                continue  # a line cut short by the crash
            if isinstance(path, str):
                paths.append(path)
        return list(dict.fromkeys(paths))
