"""The answer file cached in the target, and the implicit search for one.

A used answer file is cached at /var/lib/sysprep/unattend.xml (mode 0600, root) so that the
passes of later boots apply it; `--unattend FILE` replaces the cache. The cached copy never
holds a password in clear: plain and Windows-encoded passwords are replaced by their crypt
hash (made with the host's libcrypt) before it is written, passwords without a Linux
meaning by *SENSITIVE*DATA*DELETED*, and after the pass that used them, the hashes too.

Implicit search, when no file is named (the order is documented in the reference page):
  1. the cache, /var/lib/sysprep/unattend.xml;
  2. /etc/sysprep/unattend.xml, then unattend.yaml and unattend.yml;
  3. at boot on the live system only: a file system labelled SYSPREP (a USB stick, a
     cloud-init-style seed disk), mounted read-only: unattend.xml, unattend.yaml,
     unattend.yml or autounattend.xml at its top.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass, replace
from typing import Callable, Iterator

from sysprep.answer import reader, schema
from sysprep.answer.limits import MAX_BYTES
from sysprep.answer.model import Answer, Origin, password_state, plain_password
from sysprep.answer.passwords import DELETED, Hasher
from sysprep.answer.problems import fail_at
from sysprep.answer.schema import Kind, Setting
from sysprep.answer.tree import Component, Document, Node, PassSettings
from sysprep.errors import RunError, SysprepError, reason
from sysprep.target.confined import Confined, Outcome, Refused


def _writer(fmt: reader.Format) -> Callable[[Document], bytes]:
    """The form's writer, imported when used: a clone's boot that has no answer file to
    rewrite loads neither parser (their imports are a good part of its start-up)."""
    if fmt is reader.Format.XML:
        from sysprep.answer import xmlform

        return xmlform.write
    from sysprep.answer import yamlform

    return yamlform.write


CACHE = "var/lib/sysprep/unattend.xml"
CACHE_DIR = "var/lib/sysprep"
IMAGE_FILES = ("etc/sysprep/unattend.xml", "etc/sysprep/unattend.yaml", "etc/sysprep/unattend.yml")
MEDIUM_LABEL = "SYSPREP"
MEDIUM_DEVICE = f"/dev/disk/by-label/{MEDIUM_LABEL}"
MEDIUM_FILES = ("unattend.xml", "unattend.yaml", "unattend.yml", "autounattend.xml")


def shown_path(fs: Confined, rel: str) -> str:
    """A path of the target as the user can open it from here."""
    return os.path.join(fs.host_path, rel)


# -- reading ---------------------------------------------------------------------------------


def _parse_in(
    fs: Confined, rel: str, origin: Origin, *, strict: bool, shown: str | None = None
) -> Answer | None:
    name = shown or shown_path(fs, rel)
    try:
        data = fs.read_bytes(rel, limit=MAX_BYTES)
    except Refused:
        fail_at(
            name, 1, 1, f"the file is larger than {MAX_BYTES} bytes, the limit for an answer file"
        )
    if data is None:
        return None
    answer, _ = reader.parse(data, name, strict=strict)
    return replace(answer, origin=origin)


def read(fs: Confined, *, strict: bool = False) -> Answer | None:
    """The cached answer file, validated; None when nothing is cached. Its passwords are
    hashed as the target's login.defs asks (Answer.local_accounts)."""
    answer = _parse_in(fs, CACHE, "cache", strict=strict)
    return None if answer is None else replace(answer, hasher=Hasher.for_target(fs))


def find(
    fs: Confined, *, live: bool, strict: bool = False, medium: str | None = MEDIUM_DEVICE
) -> Answer | None:
    """The implicit search: the cache, the image's /etc/sysprep, then (live only) the medium
    labelled SYSPREP. None when there is no answer file anywhere. Warnings are in
    `answer.warnings`, where it came from in `answer.origin` and `answer.source`."""
    answer = read(fs, strict=strict)
    for rel in IMAGE_FILES:
        if answer is None:
            answer = _parse_in(fs, rel, "image", strict=strict)
    if answer is None and live and medium is not None and os.path.exists(medium):
        answer = from_medium(medium, strict=strict)
    return None if answer is None else replace(answer, hasher=Hasher.for_target(fs))


def from_medium(device: str, *, strict: bool = False) -> Answer | None:
    """An answer file at the top of a removable file system, mounted read-only meanwhile."""
    with _mounted(device) as where, Confined(where, own_mounts=["/"]) as medium_fs:
        for name in MEDIUM_FILES:
            found = _parse_in(medium_fs, name, "medium", strict=strict, shown=f"{device}:/{name}")
            if found is not None:
                return found
    return None


@contextlib.contextmanager
def _mounted(device: str) -> Iterator[str]:
    from sysprep.run import run

    where = tempfile.mkdtemp(prefix="sysprep-medium-")
    try:
        try:
            run(["mount", "-o", "ro,nosuid,nodev,noexec", device, where], timeout=60)
        except RunError as e:
            raise RunError(f"the answer-file medium {device} could not be mounted: {e}") from None
        try:
            yield where
        finally:
            run(["umount", where], timeout=60, check=False)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(where)


def for_run(fs: Confined, unattend: str | None, *, strict: bool = False) -> Answer | None:
    """The answer file of a sysprep run: `--unattend FILE` (from the host), else the cache,
    else /etc/sysprep/unattend.* in the image."""
    if unattend is not None:
        answer, _ = reader.load(unattend, strict=strict)
        return replace(answer, hasher=Hasher.for_target(fs))
    return find(fs, live=False, strict=strict)


def image_file(fs: Confined) -> str | None:
    """The answer file the implicit search takes from the image (/etc/sysprep/unattend.*)."""
    return next((rel for rel in IMAGE_FILES if fs.lstat(rel) is not None), None)


# -- answer files with passwords left in the target ---------------------------------------


@dataclass(frozen=True)
class Retired:
    """An answer file in the target that held passwords, and what became of each of its names:
    the one the run adopted is removed (its settings are cached), the others and every other
    hard link are rewritten with *SENSITIVE*DATA*DELETED* instead of the passwords."""

    path: str  # in the target, no leading slash
    removed: bool
    rewritten: tuple[str, ...] = ()  # its names rewritten without the passwords
    left: int = 0  # hard links that are not in the target (or not reachable): still holding them
    outcomes: tuple[Outcome, ...] = ()
    problem: str = ""  # why it could not be handled

    def warning(self) -> str:
        if self.problem:
            return f"/{self.path}: {self.problem}"
        head = f"/{self.path} held passwords in clear"
        done = []
        if self.removed:  # "from the image" only when no other link keeps the text
            where = "this name removed" if self.left else "removed from the image"
            done.append(f"{where} (its settings are cached in /{CACHE})")
        if self.rewritten:
            names = ", ".join(f"/{n}" for n in self.rewritten)
            done.append(f"{names} rewritten with {DELETED} instead of them")
        text = f"{head}: {'; '.join(done)}"
        if self.left:
            text += (
                f"; {self.left} more hard link(s) of it outside the target (or where "
                "sysprep does not go) still hold them: remove those yourself"
            )
        return text


def _without_secrets(data: bytes, name: str) -> bytes | None:
    """The file rewritten in its own form with every password and secret value replaced by
    *SENSITIVE*DATA*DELETED*; None when it holds none."""
    doc, _ = reader.document(data, name)
    changed = [False]

    def visit(_p: str, st: Setting | None, n: Node) -> Node | None:
        out = _deleted(st, n)
        if out is not None and out != n:
            changed[0] = True
        return out

    new = transform(doc, visit)
    if not changed[0]:
        return None
    return _writer(reader.detect(name, data))(new)


def _names(fs: Confined, rel: str, st: os.stat_result) -> tuple[list[str], int]:
    """Every name of a file in the target (its hard links, found by device and inode), and how
    many of its links are not among them."""
    if st.st_nlink <= 1:
        return [rel], 0
    key = (st.st_dev, st.st_ino)
    found: list[str] = []
    for folder, entries in fs.tree(""):
        # a hard link never crosses a file system (or a btrfs subvolume): do not go there
        entries[:] = [(n, e) for n, e in entries if e.st_dev == st.st_dev]
        found += [
            f"{folder}/{n}" if folder else n for n, e in entries if (e.st_dev, e.st_ino) == key
        ]
        if len(found) >= st.st_nlink:
            break
    return found, st.st_nlink - len(found)


def in_target(fs: Confined, host_path: str) -> str | None:
    """Where a file named from the host (`--unattend FILE`) is in the target, if it is: by
    device and inode, so that a symlink, a bind mount of the target or `..` cannot hide it;
    None when it is not (a hard link elsewhere is found by `_names`)."""
    try:
        st = os.stat(host_path)
        path = os.path.realpath(host_path)
    except OSError:
        return None
    root = (fs.root_stat.st_dev, fs.root_stat.st_ino)
    parts = path.strip("/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        try:
            up = os.stat("/" + "/".join(parts[:i]))
        except OSError:
            continue
        if (up.st_dev, up.st_ino) == root:
            rel = "/".join(parts[i:])
            mine = fs.lstat(rel)
            if mine is not None and (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino):
                return rel
    if st.st_nlink > 1 and st.st_dev == fs.root_stat.st_dev:
        names, _ = _names(fs, "", st)
        return names[0] if names else None
    return None


def _candidates(fs: Confined, answer: Answer) -> tuple[list[str], str | None]:
    """The answer files of the target to look at, and the one this run adopted (if there)."""
    adopted = None
    if answer.origin == "image":
        adopted = image_file(fs)
    elif answer.origin == "file":
        adopted = in_target(fs, answer.source)
    files = list(IMAGE_FILES)
    if adopted is not None and adopted not in files:
        files.append(adopted)
    return files, adopted


def retire_secrets(fs: Confined, answer: Answer) -> list[Retired]:
    """After the answer file of a run is cached: no answer file the implicit search can find in
    the target, nor the `--unattend` file when it lies in the target, keeps a password (every
    clone would carry it, readable by all). The adopted file goes, the others lose their
    passwords; every hard link of each too."""
    files, adopted = _candidates(fs, answer)
    done: list[Retired] = []
    seen: set[tuple[int, int]] = set()
    for rel in files:
        st = fs.lstat(rel)
        if st is None or not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        retired = _retire(fs, rel, st, remove=rel == adopted and answer.origin == "image")
        if retired is not None:
            done.append(retired)
    return done


def _retire(fs: Confined, rel: str, st: os.stat_result, *, remove: bool) -> Retired | None:
    try:
        data = fs.read_bytes(rel, limit=MAX_BYTES)
        clean = None if data is None else _without_secrets(data, shown_path(fs, rel))
    except (SysprepError, Refused) as e:
        return Retired(
            rel,
            False,
            problem=f"not readable as an answer file ({reason(e)}), so "
            "left as it is: check it for passwords",
        )
    if clean is None:
        return None
    names, left = _names(fs, rel, st)
    outcomes, rewritten = [], []
    for name in names:
        if name == rel and remove:
            outcome = fs.remove(name)
        else:
            outcome = fs.write(name, clean)
            rewritten.append(name)
        if outcome is not None:
            outcomes.append(outcome)
    return Retired(rel, remove, tuple(rewritten), left, tuple(outcomes))


# -- writing ---------------------------------------------------------------------------------


def store(
    fs: Confined, answer_or_source: Answer | str, *, hasher: Callable[[str], str] | None = None
) -> Outcome:
    """Cache an answer file (a model, or the path of a file on the host) in the target:
    unattend.xml, 0600, root, passwords hashed with the host's libcrypt as the target's
    login.defs asks."""
    answer = (
        answer_or_source
        if isinstance(answer_or_source, Answer)
        else reader.load(answer_or_source)[0]
    )
    hasher = hasher or answer.hasher or Hasher.for_target(fs)
    doc = transform(answer.document, lambda p, st, n: _for_cache(p, st, n, hasher))
    return _write(fs, _writer(reader.Format.XML)(doc))


def adopt(fs: Confined, answer: Answer) -> tuple[Outcome | None, list[Retired]]:
    """Cache the answer file a run uses (`store`; not when it is the cache already), then
    retire the passwords of every answer file left in the target (`retire_secrets`): what was
    cached, and the files handled (`Retired.warning` says what became of each)."""
    stored = None if answer.cached else store(fs, answer)
    return stored, retire_secrets(fs, answer)


def scrub_secrets(fs: Confined, pass_name: str) -> int:
    """After `pass_name` ran: its passwords in the cached copy become *SENSITIVE*DATA*DELETED*.
    Returns how many were replaced."""
    data = fs.read_bytes(CACHE, limit=MAX_BYTES)
    if data is None:
        return 0
    doc, _ = reader.document(data, shown_path(fs, CACHE))
    count = [0]

    def scrub(p: str, st: Setting | None, n: Node) -> Node | None:
        if p != pass_name:
            return None
        out = _deleted(st, n)
        if out is not None and out != n:
            count[0] += 1
        return out

    new = transform(doc, scrub)
    if count[0]:
        _write(fs, _writer(reader.Format.XML)(new))
    return count[0]


def _write(fs: Confined, data: bytes) -> Outcome:
    fs.mkdir(CACHE_DIR, 0o755)
    # replaced in one step (a crash leaves the old copy or the new, never none), as a new
    # file: mode 0600 and root's, whatever the old one was
    return fs.write(CACHE, data, mode=0o600, uid=0, gid=0, fresh=True)


# -- secrets in the tree ---------------------------------------------------------------------

Visit = Callable[[str, "Setting | None", Node], "Node | None"]


def transform(doc: Document, visit: Visit) -> Document:
    """A copy of the document where `visit(pass, setting, node)` may replace any element
    (setting is None where the schema does not know it); None keeps the element."""
    passes = []
    for p in doc.passes:
        comps = []
        for c in p.components:
            spec = schema.component(c.name)
            settings = tuple(_visit(p.name, spec, (n.name,), n, visit) for n in c.settings)
            comps.append(Component(c.name, c.attrs, settings, c.pos))
        passes.append(PassSettings(p.name, tuple(comps), p.pos))
    return replace(doc, passes=tuple(passes))


def _visit(
    pass_name: str, spec: schema.ComponentSpec | None, path: tuple[str, ...], n: Node, visit: Visit
) -> Node:
    st = schema.lookup(spec, path) if spec is not None else None
    new = visit(pass_name, st, n)
    if new is not None:
        return new
    if not n.children:
        return n
    return replace(
        n, children=tuple(_visit(pass_name, spec, (*path, c.name), c, visit) for c in n.children)
    )


def _is_password(st: Setting | None, n: Node) -> bool:
    """A Password element, of a known setting or of one sysprep does not know (a Windows
    component's Credentials, say): a *Password element with a Value."""
    if st is not None:
        return st.kind is Kind.PASSWORD
    return n.name.endswith("Password") and n.child("Value") is not None


def _is_secret_value(st: Setting | None, n: Node) -> bool:
    if st is not None:
        return st.secret and st.kind is not Kind.PASSWORD and n.name != "Value"
    return n.name.endswith("Password") and not n.children


def _deleted(st: Setting | None, n: Node) -> Node | None:
    """The element with its secret replaced by *SENSITIVE*DATA*DELETED*; None if it has none."""
    if _is_password(st, n):
        if password_state(n) in ("none", "empty", "deleted"):
            return n
        return Node(
            n.name,
            None,
            (Node("Value", DELETED, pos=n.pos), Node("PlainText", "true", pos=n.pos)),
            n.attrs,
            n.pos,
        )
    if _is_secret_value(st, n):
        return n if not (n.text or "").strip() else replace(n, text=DELETED)
    return None


def _for_cache(
    pass_name: str, st: Setting | None, n: Node, hasher: Callable[[str], str]
) -> Node | None:
    """Passwords as the cache keeps them: hashed when a pass will use them, else deleted."""
    usable = pass_name in schema.APPLICABLE and st is not None and st.linux
    if _is_password(st, n):
        if not usable:
            return _deleted(st, n)
        if password_state(n) in ("plain", "windows"):
            return Node(
                n.name, None, (Node("Hash", hasher(plain_password(n)), pos=n.pos),), n.attrs, n.pos
            )
        return None  # a hash already, or no password: kept
    if _is_secret_value(st, n) and not usable:
        return _deleted(st, n)
    return None
