"""Files and folders of a fixture root, made with their mode and owner."""

from __future__ import annotations

import os


def write_file(
    root: str, rel: str, data: str | bytes, mode: int = 0o644, uid: int = 0, gid: int = 0
) -> str:
    """Write `rel` under a fixture root (its folders made), with this mode and owner."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    os.chown(path, uid, gid)
    return rel


def make_dir(root: str, rel: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
    path = os.path.join(root, rel)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    os.chown(path, uid, gid)
