"""The identity tokens of an image: the values a clone would share with its template.

They are read from where the system keeps them (machine-id, host name, SSH host keys,
network configuration and leases). Generalize records them hashed, never in clear, so that
a later scan can still recognise leftovers of the old identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Iterable, Iterator

from sysprep.target.confined import Confined

# kinds of token, each with the shape its copies have in files (for the hashed search)
MACHINE_ID = "machine-id"
HOSTNAME = "hostname"
SSH_HOST_KEY = "ssh-host-key"
MAC = "mac-address"
UUID = "connection-uuid"
DUID = "dhcp-duid"

RECORD = "var/lib/sysprep/identity-tokens.json"

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_MAC = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")
_UUID_LINE = re.compile(r"^uuid=([0-9a-fA-F-]{36})\s*$", re.M)
_DUID = re.compile(r"default-duid\s+\"([^\"]+)\"")
_NOT_A_MAC = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}
# host names every installation of a distribution shares: not the identity of one machine
_GENERIC_NAMES = {
    "",
    "localhost",
    "localhost.localdomain",
    "debian",
    "ubuntu",
    "fedora",
    "archlinux",
    "localdomain",
    "(none)",
}
_MIN_NAME = 4
# where MAC addresses and connection ids of this machine are written
_NETWORK_FILES = (
    "etc/NetworkManager/system-connections/*",
    "etc/udev/rules.d/*persistent-net*",
    "etc/netplan/*",
    "etc/systemd/network/*",
    "etc/network/interfaces",
    "etc/network/interfaces.d/*",
    "etc/sysconfig/network-scripts/ifcfg-*",
    "var/lib/dhcp/*",
    "var/lib/dhclient/*",
    "var/lib/NetworkManager/*.lease",
)


def _distinctive(name: str, os_id: str) -> bool:
    """Whether a host name can be searched for (and redacted) as this machine's identity: a
    name of a few letters ("vm") or a plain word ("server", "sysprep") stands in ordinary
    text and file names everywhere, so only names with a digit, a hyphen or a dot count
    ("web-01", "build7", "host.example.com"), and never a distribution's default."""
    return (
        len(name) >= _MIN_NAME
        and name.lower() not in _GENERIC_NAMES
        and name.lower() != os_id.lower()
        and any(c.isdigit() or c in "-." for c in name)
    )


@dataclass(frozen=True)
class Token:
    kind: str
    value: str
    where: str  # the file it was read from (for the report; never the value)


def collect(fs: Confined, os_id: str = "") -> list[Token]:
    """Every identity token of the target, each once."""
    found: dict[tuple[str, str], Token] = {}
    for t in _gather(fs, os_id):
        found.setdefault((t.kind, t.value), t)
    return list(found.values())


def _gather(fs: Confined, os_id: str) -> Iterator[Token]:
    for path in ("etc/machine-id", "var/lib/dbus/machine-id"):
        mid = (fs.read_text(path, 4096) or "").strip()
        if _HEX32.match(mid):
            yield Token(MACHINE_ID, mid, "/" + path)
    name = (fs.read_text("etc/hostname", 4096) or "").strip()
    if _distinctive(name, os_id):
        yield Token(HOSTNAME, name, "/etc/hostname")
        short = name.split(".")[0]
        if short != name and _distinctive(short, os_id):
            yield Token(HOSTNAME, short, "/etc/hostname")
        for line in (fs.read_text("etc/hosts", 1 << 20) or "").splitlines():
            words = line.partition("#")[0].split()
            if words and words[0].startswith("127."):  # the FQDN of Debian's 127.0.1.1 line
                for w in words[1:]:
                    if "." in w and w.split(".")[0] == short:
                        yield Token(HOSTNAME, w, "/etc/hosts")
    for path in fs.glob("etc/ssh/ssh_host_*_key.pub"):
        fields = (fs.read_text(path, 65536) or "").split()
        if len(fields) >= 2:
            yield Token(SSH_HOST_KEY, fields[1], "/" + path)
            yield Token(SSH_HOST_KEY, fingerprint(fields[1]), "/" + path)
    for pattern in _NETWORK_FILES:
        for path in fs.glob(pattern):
            text = fs.read_text(path, 1 << 20) or ""
            for mac in _MAC.findall(text):
                if mac.lower() not in _NOT_A_MAC:
                    yield Token(MAC, mac.lower(), "/" + path)
            for uuid in _UUID_LINE.findall(text):
                yield Token(UUID, uuid.lower(), "/" + path)
            for duid in _DUID.findall(text):
                yield Token(DUID, duid, "/" + path)


def fingerprint(blob: str) -> str:
    """The SHA256 fingerprint of a public key, as ssh-keygen -l shows it."""
    try:
        raw = base64.b64decode(blob, validate=True)
    except ValueError:
        return blob
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def variants(t: Token) -> list[str]:
    """The spellings a token takes in files (MACs in either case, with or without colons)."""
    if t.kind == MAC:
        return [t.value, t.value.upper(), t.value.replace(":", "")]
    if t.kind == UUID:
        return [t.value, t.value.upper()]
    return [t.value]


def pattern(tokens: Iterable[Token]) -> re.Pattern[str] | None:
    """One regular expression finding any spelling of any token, as a whole word."""
    words = sorted({v for t in tokens for v in variants(t) if v}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![\w.-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])")


# -- the hashed record -------------------------------------------------------------------

# what a copy of each kind looks like, to pick candidates to hash in a file
SHAPES: dict[str, re.Pattern[str]] = {
    MACHINE_ID: re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"),
    MAC: re.compile(_MAC.pattern),
    UUID: re.compile(r"(?<![0-9a-fA-F-])[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
    SSH_HOST_KEY: re.compile(r"SHA256:[A-Za-z0-9+/]{43}|AAAA[A-Za-z0-9+/]{40,}={0,2}"),
    HOSTNAME: re.compile(r"(?<![\w.-])[A-Za-z0-9][A-Za-z0-9-]{2,62}(?:\.[A-Za-z0-9-]{1,63})*"),
}


def digest(salt: bytes, value: str) -> str:
    return hmac.new(salt, value.lower().encode(), hashlib.sha256).hexdigest()


def record_json(tokens: Iterable[Token], earlier: Recorded | None = None) -> bytes:
    """The tokens hashed with a salt (a keyed hash: never the value in clear), added to the
    `earlier` record (of a run that was interrupted) when there is one."""
    # only the tokens no one can guess from their hash: a host name or a MAC address (a known
    # vendor prefix leaves 2^24 tries) would be given away to a dictionary by its salted hash
    tokens = [t for t in tokens if t.kind in RECORDED_KINDS]
    salt = earlier.salt if earlier is not None else secrets.token_bytes(16)
    hashes = {(t.kind, digest(salt, v)) for t in tokens for v in variants(t)}
    if earlier is not None:
        hashes |= {(kind, h) for h, kind in earlier.hashes.items()}
    doc = {"salt": salt.hex(), "tokens": [{"kind": k, "sha256": h} for k, h in sorted(hashes)]}
    return (json.dumps(doc, indent=1) + "\n").encode()


# what the record keeps: tokens of 128 bits or more of randomness (the salt is random per
# image, and kept by a rerun after a crash)
RECORDED_KINDS = frozenset({MACHINE_ID, SSH_HOST_KEY, UUID})


@dataclass(frozen=True)
class Recorded:
    """The hashed tokens of the template, as generalize recorded them."""

    salt: bytes
    hashes: dict[str, str]  # hash -> kind

    def kinds(self) -> set[str]:
        return set(self.hashes.values())

    def find(self, text: str, *, hostnames: bool = True) -> Iterator[tuple[str, int]]:
        """(kind, offset) of every copy of a recorded token in `text`; host names (any word
        can be one) only with `hostnames`."""
        for kind in self.kinds():
            shape = SHAPES.get(kind)
            if shape is None or (kind == HOSTNAME and not hostnames):
                continue
            for m in shape.finditer(text):
                word = m.group()
                if self.hashes.get(digest(self.salt, word)) == kind or (
                    kind == HOSTNAME
                    and "." in word
                    and self.hashes.get(digest(self.salt, word.split(".")[0])) == kind
                ):
                    yield kind, m.start()


def read_record(fs: Confined) -> Recorded | None:
    raw = fs.read_bytes(RECORD, 1 << 20)
    if not raw:
        return None
    try:
        doc = json.loads(raw)
        salt = bytes.fromhex(doc["salt"])
        hashes = {str(t["sha256"]): str(t["kind"]) for t in doc["tokens"]}
    except (ValueError, KeyError, TypeError):
        return None
    return Recorded(salt, hashes)
