"""Per-clone answers from systemd credentials: the answer file `sysprep.unattend` and
systemd's well-known first-boot credentials, as the hypervisor passes them to this boot.

Where they are read, the first place that has a credential wins:
  1. $CREDENTIALS_DIRECTORY: what the unit imports (ImportCredential=, systemd >= 254: the
     system credentials and the credential stores, encrypted ones decrypted);
  2. /run/credentials/@system: what PID 1 imported at boot (systemd >= 252: SMBIOS type 11
     io.systemd.credential[.binary]:, qemu fw_cfg opt/io.systemd.credentials/, the kernel
     command line's systemd.set_credential=), for systemd 252, which has no ImportCredential=;
  3. the plain credential stores /etc/credstore, /run/credstore, /usr/lib/credstore.
Each credential is validated on its own (its errors are located in it: "credential NAME:LINE:
COL"), then laid over the others per setting, the well-known ones over sysprep.unattend
(sysprep.answer.overlay). They are read once per clone, at the start of the specialize pass,
and cached with the answer file (passwords hashed): never copied anywhere else.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from typing import Callable, Mapping

from sysprep.answer import reader
from sysprep.answer.limits import MAX_BYTES
from sysprep.answer.model import INTERNATIONAL, SHELL, Answer
from sysprep.answer.overlay import overlay
from sysprep.answer.problems import fail_at
from sysprep.answer.tree import ACTION, Component, Document, Node, PassSettings

UNATTEND = "sysprep.unattend"
SYSTEM = "/run/credentials/@system"
STORES = ("/etc/credstore", "/run/credstore", "/usr/lib/credstore")
_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,255}$")


def _value(pass_name: str, comp: str, name: str) -> Callable[[str], tuple[str, str, Node]]:
    return lambda text: (pass_name, comp, Node(name, text))


def _root_password(element: str) -> Callable[[str], tuple[str, str, Node]]:
    def make(text: str) -> tuple[str, str, Node]:
        parts = (Node("Hash", text),) if element == "Hash" else \
            (Node("Value", text), Node("PlainText", "true"))
        return "oobeSystem", SHELL, Node("UserAccounts", None, (
            Node("AdministratorPassword", None, parts),))
    return make


def _root_keys(text: str) -> tuple[str, str, Node]:
    keys = tuple(Node("AuthorizedKey", line.strip()) for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))
    account = Node("LocalAccount", None, (Node("Name", "root"), Node("AuthorizedKeys", None, keys)),
                   ((ACTION, "add"),))
    return "oobeSystem", SHELL, Node("UserAccounts", None, (
        Node("LocalAccounts", None, (account,)),))


# systemd's well-known first-boot credentials (systemd.system-credentials(7)) and the setting
# each one is; in this order, so that a hash wins over a clear password, as in systemd
WELL_KNOWN: dict[str, Callable[[str], tuple[str, str, Node]]] = {
    "system.hostname": _value("specialize", SHELL, "ComputerName"),
    "firstboot.timezone": _value("specialize", SHELL, "TimeZone"),
    "firstboot.locale": _value("specialize", INTERNATIONAL, "SystemLocale"),
    "firstboot.keymap": _value("specialize", INTERNATIONAL, "Keymap"),
    "passwd.plaintext-password.root": _root_password("Value"),
    "passwd.hashed-password.root": _root_password("Hash"),
    "ssh.authorized_keys.root": _root_keys,
}
NAMES = (UNATTEND, *WELL_KNOWN)


def places(environ: Mapping[str, str], *, live: bool) -> tuple[str, ...]:
    """The folders credentials are read from, first first: the unit's $CREDENTIALS_DIRECTORY,
    then (on the live system only) PID 1's and the credential stores."""
    first = environ.get("CREDENTIALS_DIRECTORY", "")
    return ((first,) if first else ()) + ((SYSTEM, *STORES) if live else ())


def read(folders: tuple[str, ...], names: tuple[str, ...] = NAMES) -> dict[str, bytes]:
    """The credentials `names` found in `folders` (the first folder that has one wins)."""
    return {name: data for name, (_, data) in located(folders, names).items()}


def located(folders: tuple[str, ...], names: tuple[str, ...] = NAMES) -> dict[str, tuple[str, bytes]]:
    """As `read`, with the path each credential was read from."""
    found: dict[str, tuple[str, bytes]] = {}
    for name in names:
        for folder in folders:
            path = os.path.join(folder, name)
            data = _read_file(path, name)
            if data is not None:
                found[name] = (path, data)
                break
    return found


def _read_file(path: str, name: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None  # absent (or not ours to read): this place does not pass it
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        fail_at(f"credential {name}", 1, 1, f"the credential is larger than {MAX_BYTES} bytes")
    return data


def answer(found: Mapping[str, bytes], *, arch: str | None = None) -> Answer | None:
    """The answer the credentials make (None without any): sysprep.unattend, then each
    well-known credential laid over it; every one validated on its own (LocatedError)."""
    out: Answer | None = None
    if UNATTEND in found:
        out, _ = reader.parse(found[UNATTEND], f"credential {UNATTEND}", arch=arch)
    for name, make in WELL_KNOWN.items():
        if name in found:
            one = _well_known(name, found[name], make, arch)
            out = one if out is None else overlay(out, one)
    return None if out is None else replace(out, origin="credential")


def _well_known(name: str, data: bytes, make: Callable[[str], tuple[str, str, Node]],
                arch: str | None) -> Answer:
    source = f"credential {name}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail_at(source, 1, 1, "the credential is not UTF-8 text")
    # a value without the newline a file made with echo ends with
    text = text if name == "ssh.authorized_keys.root" else text.strip("\n")
    pass_name, comp, node = make(text)
    doc = Document(passes=(PassSettings(pass_name, (Component(comp, (), (node,)),)),),
                   source=source)
    got, _ = reader.model(doc, arch=arch)
    return got
