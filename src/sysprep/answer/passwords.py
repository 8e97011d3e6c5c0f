"""Passwords of an answer file: the Windows encoding, and crypt(3) hashes made by the host.

`<PlainText>false</PlainText>` means what it means in Windows: the Value is the base64 of
the UTF-16LE password followed by the element name ("Password", "AdministratorPassword"),
as Windows System Image Manager writes it. Plain passwords are hashed with the host's
libcrypt (libxcrypt) through ctypes, in the method the target's etc/login.defs asks for;
a library inside the target is never loaded. (The stdlib `crypt` module is gone in 3.13.)
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sysprep.errors import RunError

if TYPE_CHECKING:
    from sysprep.target.confined import Confined

# What Windows writes in place of a password once the pass that used it has run.
DELETED = "*SENSITIVE*DATA*DELETED*"
LOGIN_DEFS = "etc/login.defs"
_LIBRARIES = ("libcrypt.so.1", "libcrypt.so.2")
_CRYPT_DATA_SIZE = 65536  # >= sizeof(struct crypt_data) (32768 in libxcrypt)
_OUTPUT_SIZE = 256
CRYPT_HASH = re.compile(r"^\$(?:y|gy|7|6|5|2[abxy]|1|sha1|md5)\$[./A-Za-z0-9$=,]+$")
LOCKED = re.compile(r"^[!*]")


def encode_windows(password: str, element: str = "Password") -> str:
    """The Value Windows System Image Manager writes for a hidden password."""
    return base64.b64encode((password + element).encode("utf-16-le")).decode("ascii")


def decode_windows(value: str, element: str = "Password") -> str:
    """The password inside a PlainText=false Value; ValueError when it is not one."""
    try:
        raw = base64.b64decode(value.strip().encode("ascii"), validate=True)
        text = raw.decode("utf-16-le")
    except (ValueError, UnicodeError, binascii.Error):
        raise ValueError("not base64 of UTF-16LE text") from None
    if not text.endswith(element):
        raise ValueError(f"the decoded text does not end with the element name {element!r}")
    return text[: -len(element)]


class Method(str, enum.Enum):
    """ENCRYPT_METHOD of login.defs -> the crypt(3) prefix we generate."""

    YESCRYPT = "$y$"
    SHA512 = "$6$"
    SHA256 = "$5$"
    BCRYPT = "$2b$"


_BY_NAME = {
    "YESCRYPT": Method.YESCRYPT,
    "SHA512": Method.SHA512,
    "SHA256": Method.SHA256,
    "BCRYPT": Method.BCRYPT,
}
# Methods login.defs may name that are too weak to generate: SHA-512 is used instead.
_WEAK = ("DES", "MD5")


@dataclass(frozen=True)
class Policy:
    """How the target wants new passwords hashed (from its login.defs)."""

    method: Method = Method.SHA512
    cost: int = 0  # crypt_gensalt's count: 0 = the library's default
    note: str = ""  # why the method differs from what login.defs says, if it does


def policy_from_login_defs(text: str | None) -> Policy:
    """ENCRYPT_METHOD (and its cost setting) of a login.defs; SHA-512 when it names none."""
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not parts[0].startswith("#"):
            values[parts[0]] = parts[1]
    name = values.get("ENCRYPT_METHOD", "").upper()
    if not name:
        return Policy(Method.SHA512, note="login.defs names no ENCRYPT_METHOD: SHA-512 is used")
    if name in _WEAK:
        return Policy(
            Method.SHA512,
            note=f"login.defs asks for {name}, which is too weak: SHA-512 is used instead",
        )
    method = _BY_NAME.get(name)
    if method is None:
        return Policy(
            Method.SHA512, note=f"login.defs asks for unknown method {name}: SHA-512 is used"
        )
    cost = 0
    key = {
        Method.YESCRYPT: "YESCRYPT_COST_FACTOR",
        Method.BCRYPT: "BCRYPT_MIN_ROUNDS",
        Method.SHA512: "SHA_CRYPT_MIN_ROUNDS",
        Method.SHA256: "SHA_CRYPT_MIN_ROUNDS",
    }[method]
    if values.get(key, "").isdigit():
        cost = int(values[key])
    return Policy(method, cost)


def target_policy(fs: Confined) -> Policy:
    return policy_from_login_defs(fs.read_text(LOGIN_DEFS, limit=1024 * 1024))


class _Crypt:
    """The host's libxcrypt, loaded by soname from the host's library path."""

    def __init__(self) -> None:
        lib = None
        for name in _LIBRARIES:
            try:
                lib = ctypes.CDLL(name, use_errno=True)
                break
            except OSError:
                continue
        if lib is None:
            raise RunError(
                "hashing passwords needs the host's libcrypt (libxcrypt): install "
                "it (apt install libcrypt1 / dnf install libxcrypt)"
            )
        self.gensalt = lib.crypt_gensalt_rn
        self.gensalt.argtypes = [
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.gensalt.restype = ctypes.c_char_p
        self.crypt = lib.crypt_rn
        self.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
        self.crypt.restype = ctypes.c_char_p

    def hash(self, password: str, policy: Policy) -> str:
        out = ctypes.create_string_buffer(_OUTPUT_SIZE)
        # rbytes=NULL: libxcrypt takes the salt's random bytes from the kernel itself
        setting = self.gensalt(
            policy.method.value.encode(), policy.cost, None, 0, out, _OUTPUT_SIZE
        )
        if not setting:
            raise RunError(
                f"the host's libcrypt cannot make {policy.method.name} hashes "
                f"(errno {ctypes.get_errno()})"
            )
        data = ctypes.create_string_buffer(_CRYPT_DATA_SIZE)
        try:
            result = self.crypt(password.encode("utf-8"), setting, data, _CRYPT_DATA_SIZE)
            if not result or result.startswith(b"*"):
                raise RunError(
                    f"the host's libcrypt failed to hash a password with {policy.method.name}"
                )
            return bytes(result).decode("ascii")
        finally:
            ctypes.memset(data, 0, _CRYPT_DATA_SIZE)  # the password was copied into it


class Hasher:
    """Hashes plain passwords for one target; remembers each result for the run."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._crypt: _Crypt | None = None
        self._done: dict[str, str] = {}

    @classmethod
    def for_target(cls, fs: Confined) -> Hasher:
        return cls(target_policy(fs))

    def __call__(self, password: str) -> str:
        if password not in self._done:
            if self._crypt is None:
                self._crypt = _Crypt()
            try:
                self._done[password] = self._crypt.hash(password, self.policy)
            except RunError:
                if self.policy.method is Method.SHA512:
                    raise
                # an older host library without yescrypt: SHA-512 is understood everywhere
                self.policy = Policy(
                    Method.SHA512,
                    note=f"the host's libcrypt cannot make "
                    f"{self.policy.method.name} hashes: SHA-512 is used",
                )
                self._done[password] = self._crypt.hash(password, self.policy)
        return self._done[password]
