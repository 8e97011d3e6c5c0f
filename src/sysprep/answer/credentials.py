"""Per-clone answers from systemd credentials: the answer file `sysprep.unattend` and
systemd's well-known first-boot credentials, as the hypervisor passes them to this boot.

Where they are read, the first place that has a credential wins:
  1. $CREDENTIALS_DIRECTORY: what the unit imports (ImportCredential=, systemd >= 254: the
     system credentials and the credential stores, encrypted ones decrypted);
  2. /run/credentials/@system: what PID 1 imported at boot (systemd >= 252: SMBIOS type 11
     io.systemd.credential[.binary]:, qemu fw_cfg opt/io.systemd.credentials/, the kernel
     command line's systemd.set_credential=), for systemd 252, which has no ImportCredential=;
  3. the firmware itself, as PID 1 would have imported it (SMBIOS type 11 strings in
     /sys/firmware/dmi/tables/DMI, /sys/firmware/qemu_fw_cfg): systemd 252 imports them only
     when dmi-sysfs and qemu_fw_cfg are loaded before it starts, which Debian 12 does not do;
  4. the plain credential stores /etc/credstore, /run/credstore, /usr/lib/credstore.
Each credential is validated on its own (its errors are located in it: "credential NAME:LINE:
COL"), then laid over the others per setting, the well-known ones over sysprep.unattend
(sysprep.answer.overlay). They are read once per clone, at the start of the specialize pass,
and cached with the answer file (passwords hashed): never copied anywhere else.
"""

from __future__ import annotations

import base64
import binascii
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
FIRMWARE = "firmware"  # a place that is not a folder: SMBIOS and fw_cfg, read as systemd does
DMI_TABLE = "/sys/firmware/dmi/tables/DMI"
FW_CFG = "/sys/firmware/qemu_fw_cfg/by_name/opt/io.systemd.credentials"
SMBIOS_PREFIXES = ("io.systemd.credential:", "io.systemd.credential.binary:")
_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,255}$")


def _value(pass_name: str, comp: str, name: str) -> Callable[[str], tuple[str, str, Node]]:
    return lambda text: (pass_name, comp, Node(name, text))


def _root_password(element: str) -> Callable[[str], tuple[str, str, Node]]:
    def make(text: str) -> tuple[str, str, Node]:
        parts = (
            (Node("Hash", text),)
            if element == "Hash"
            else (Node("Value", text), Node("PlainText", "true"))
        )
        return (
            "oobeSystem",
            SHELL,
            Node("UserAccounts", None, (Node("AdministratorPassword", None, parts),)),
        )

    return make


def _root_keys(text: str) -> tuple[str, str, Node]:
    keys = tuple(
        Node("AuthorizedKey", line.strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    account = Node(
        "LocalAccount",
        None,
        (Node("Name", "root"), Node("AuthorizedKeys", None, keys)),
        ((ACTION, "add"),),
    )
    return (
        "oobeSystem",
        SHELL,
        Node("UserAccounts", None, (Node("LocalAccounts", None, (account,)),)),
    )


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
    return ((first,) if first else ()) + ((SYSTEM, FIRMWARE, *STORES) if live else ())


def read(folders: tuple[str, ...], names: tuple[str, ...] = NAMES) -> dict[str, bytes]:
    """The credentials `names` found in `folders` (the first folder that has one wins)."""
    return {name: data for name, (_, data) in located(folders, names).items()}


def located(
    folders: tuple[str, ...], names: tuple[str, ...] = NAMES
) -> dict[str, tuple[str, bytes]]:
    """As `read`, with the path each credential was read from."""
    found: dict[str, tuple[str, bytes]] = {}
    firmware: dict[str, tuple[str, bytes]] | None = None
    for name in names:
        for folder in folders:
            if folder == FIRMWARE:
                firmware = firmware_credentials() if firmware is None else firmware
                got = firmware.get(name)
            else:
                path = os.path.join(folder, name)
                data = _read_file(path, name)
                got = None if data is None else (path, data)
            if got is not None:
                found[name] = got
                break
    return found


def firmware_credentials(
    dmi: str = DMI_TABLE, fw_cfg: str = FW_CFG
) -> dict[str, tuple[str, bytes]]:
    """The credentials of the firmware: qemu fw_cfg opt/io.systemd.credentials/NAME, then
    SMBIOS type 11 io.systemd.credential:NAME=VALUE and io.systemd.credential.binary:NAME=BASE64
    (systemd's import-creds order: a later one with the same name does not replace it)."""
    found: dict[str, tuple[str, bytes]] = {}
    for name in _listdir(fw_cfg):
        data = _read_file(os.path.join(fw_cfg, name, "raw"), name)
        if data is not None and _NAME.match(name):
            found.setdefault(name, (f"fw_cfg opt/io.systemd.credentials/{name}", data))
    table = _read_file(dmi, "SMBIOS") or b""
    for text in smbios_strings(table):
        prefix = next((p for p in SMBIOS_PREFIXES if text.startswith(p)), None)
        name, eq, value = text[len(prefix or "") :].partition("=")
        if prefix is None or not eq or not _NAME.match(name):
            continue
        try:
            data = (
                base64.b64decode(value, validate=True)
                if prefix.endswith("binary:")
                else value.encode()
            )
        except (ValueError, binascii.Error):
            continue  # systemd skips it too
        found.setdefault(name, (f"SMBIOS type 11 {prefix}{name}", data))
    return found


def smbios_strings(table: bytes) -> list[str]:
    """The OEM strings (SMBIOS structures of type 11) of a DMI structure table."""
    out: list[str] = []
    at = 0
    while at + 4 <= len(table):
        kind, length = table[at], table[at + 1]
        if length < 4:
            break  # a broken table: stop rather than loop
        end = table.find(b"\0\0", at + length)
        if end < 0:
            break
        if kind == 11:
            out += [
                s.decode("utf-8", "replace") for s in table[at + length : end].split(b"\0") if s
            ]
        if kind == 127:  # end of table
            break
        at = end + 2
    return out


def _listdir(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _read_file(path: str, name: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None  # absent (or not ours to read): this place does not pass it
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while size <= MAX_BYTES:  # a sysfs file gives a page a read
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
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


def _well_known(
    name: str, data: bytes, make: Callable[[str], tuple[str, str, Node]], arch: str | None
) -> Answer:
    source = f"credential {name}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail_at(source, 1, 1, "the credential is not UTF-8 text")
    # a value without the newline a file made with echo ends with
    text = text if name == "ssh.authorized_keys.root" else text.strip("\n")
    pass_name, comp, node = make(text)
    doc = Document(
        passes=(PassSettings(pass_name, (Component(comp, (), (node,)),)),), source=source
    )
    got, _ = reader.model(doc, arch=arch)
    return got
