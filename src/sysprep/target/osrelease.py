"""/etc/os-release of a target, read through the confined layer."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from sysprep.errors import UsageError
from sysprep.target.confined import Confined

PATHS = ("etc/os-release", "usr/lib/os-release")


@dataclass(frozen=True)
class OsRelease:
    id: str
    version_id: str
    pretty_name: str
    id_like: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.id} {self.version_id}".strip()

    def is_like(self, *ids: str) -> bool:
        return self.id in ids or any(i in ids for i in self.id_like)


def parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw, posix=True)
        except ValueError:
            continue
        values[key.strip()] = parts[0] if parts else ""
    return values


def _decode(data: bytes, path: str) -> str:
    """os-release is UTF-8 (os-release(5)); its values end up in sysprep's records, which an
    undecodable byte would break half-way: refused before anything changes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UsageError(
            f"/{path} of the target is not valid UTF-8 (byte 0x{data[e.start]:02x} "
            f"on line {line}): fix the file, os-release is UTF-8 text"
        ) from None


def read(fs: Confined) -> OsRelease | None:
    for path in PATHS:
        data = fs.read_bytes(path, limit=64 * 1024)
        if data is not None:
            v = parse(_decode(data, path))
            return OsRelease(
                id=v.get("ID", "linux"),
                version_id=v.get("VERSION_ID", ""),
                pretty_name=v.get("PRETTY_NAME", v.get("NAME", "Linux")),
                id_like=tuple(v.get("ID_LIKE", "").split()),
            )
    return None
