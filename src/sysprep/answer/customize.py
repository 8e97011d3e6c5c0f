"""The virt-customize spellings compiled into an answer file, read like any other one.

`--hostname`, `--root-password`, `--password`, `--ssh-inject`, `--timezone`,
`--firstboot-command` and `--run-command` become the elements an answer file would hold
(ComputerName, AdministratorPassword, LocalAccounts, TimeZone, RunSynchronous), and that
document goes through the same validation as a file: the same checks, the same caching with
passwords hashed, the same boot passes. A `random` password is hashed here and never kept in
clear; the caller shows it once on the terminal.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import string
from dataclasses import replace

from sysprep.answer import reader, schema
from sysprep.answer.model import Answer, Hash
from sysprep.answer.tree import ACTION, KEY_VALUE, Component, Document, Node, PassSettings, Pos
from sysprep.errors import LocatedError, UsageError
from sysprep.request import Customize

SOURCE = "the command line"
RANDOM_LENGTH = 16
_LOCATED = re.compile(r"^[^\n]*?:(\d+):\d+: (.*)$", re.S)


def answer(c: Customize, hasher: Hash, *, strict: bool = False) -> tuple[Answer, list[str]]:
    """The answer the options make, validated; and the random passwords made, as
    "account: password" lines to show once (never to log)."""
    said: list[str] = []  # the option each line of the pseudo-document comes from
    shown: list[str] = []

    def at(option: str) -> Pos:
        said.append(option)
        return Pos(len(said), 1)

    passes: dict[str, dict[str, list[Node]]] = {}

    def put(pass_name: str, component: str, node: Node) -> None:
        passes.setdefault(pass_name, {}).setdefault(component, []).append(node)

    shell, deployment = schema.SHELL.name, schema.DEPLOYMENT.name
    if c.hostname is not None:
        put(
            "specialize",
            shell,
            Node("ComputerName", c.hostname, pos=at(f"--hostname {c.hostname}")),
        )
    if c.timezone is not None:
        put("specialize", shell, Node("TimeZone", c.timezone, pos=at(f"--timezone {c.timezone}")))
    for pass_name, option, commands in (
        ("specialize", "--firstboot-command", c.firstboot_commands),
        ("generalize", "--run-command", c.run_commands),
    ):
        if commands:
            put(
                pass_name,
                deployment,
                Node(
                    "RunSynchronous",
                    None,
                    tuple(
                        _item(
                            "RunSynchronousCommand",
                            str(i),
                            (Node("Order", str(i)), Node("Path", cmd)),
                            at(f"{option} {cmd!r}"),
                        )
                        for i, cmd in enumerate(commands, 1)
                    ),
                ),
            )
    accounts: dict[str, list[Node]] = {}
    if c.root_password is not None:
        pos = at(f"--root-password {_shown(c.root_password)}")
        root = _password("AdministratorPassword", "root", c.root_password, hasher, shown, pos)
        put("oobeSystem", shell, Node("UserAccounts", None, (root,), pos=pos))
    for user, selector in c.passwords:
        pos = at(f"--password {user}:{_shown(selector)}")
        accounts.setdefault(user, []).append(
            _password("Password", user, selector, hasher, shown, pos)
        )
    for user, selector in c.ssh_inject:
        pos = at(
            f"--ssh-inject {user}:{selector.split(':', 1)[0]}"
            if selector
            else f"--ssh-inject {user}"
        )
        keys = tuple(Node("AuthorizedKey", k) for k in _keys(user, selector))
        accounts.setdefault(user, []).append(Node("AuthorizedKeys", None, keys, pos=pos))
    if accounts:
        items = tuple(
            _item("LocalAccount", user, (Node("Name", user), *_joined(nodes)), nodes[0].pos)
            for user, nodes in accounts.items()
        )
        put("oobeSystem", shell, Node("LocalAccounts", None, items))
    doc = Document(
        tuple(
            PassSettings(
                p, tuple(Component(name, settings=_grouped(nodes)) for name, nodes in comps.items())
            )
            for p, comps in passes.items()
        ),
        source=SOURCE,
    )
    try:
        made, _ = reader.model(reader.normalize(doc), strict=strict)
    except LocatedError as e:
        raise UsageError("\n".join(_named(line, said) for line in e.lines)) from None
    return replace(made, hasher=hasher), shown


def _grouped(nodes: list[Node]) -> tuple[Node, ...]:
    """UserAccounts (root's password) and LocalAccounts are one element in the file."""
    accounts = [n for n in nodes if n.name == "LocalAccounts"]
    users = [n for n in nodes if n.name == "UserAccounts"]
    rest = [n for n in nodes if n.name not in ("LocalAccounts", "UserAccounts")]
    if accounts or users:
        children = tuple(child for n in users for child in n.children) + tuple(accounts)
        pos = users[0].pos if users else accounts[0].children[0].pos
        rest.append(Node("UserAccounts", None, children, pos=pos))
    return tuple(rest)


def _joined(nodes: list[Node]) -> tuple[Node, ...]:
    """One account's Password and its AuthorizedKeys (every --ssh-inject for it in one list)."""
    out: list[Node] = [n for n in nodes if n.name == "Password"][-1:]
    keys = [k.text or "" for n in nodes if n.name == "AuthorizedKeys" for k in n.children]
    if keys:
        pos = next(n.pos for n in nodes if n.name == "AuthorizedKeys")
        out.append(
            Node(
                "AuthorizedKeys",
                None,
                tuple(
                    _item("AuthorizedKey", str(i), (), pos, text=k) for i, k in enumerate(keys, 1)
                ),
                pos=pos,
            )
        )
    return tuple(out)


def _item(
    name: str, key: str, children: tuple[Node, ...], pos: Pos, text: str | None = None
) -> Node:
    return Node(
        name,
        text if text is not None else None,
        children,
        ((ACTION, "add"), (KEY_VALUE, key)) if text is not None else ((ACTION, "add"),),
        pos=pos,
    )


def _shown(selector: str) -> str:
    """A selector as messages may show it: never the password itself."""
    return "password:..." if selector.startswith("password:") else selector


def _password(
    element: str, account: str, selector: str, hasher: Hash, shown: list[str], pos: Pos
) -> Node:
    if selector == "disabled":  # virt-customize: no password login (a locked field)
        return Node(element, None, (Node("Hash", "*"),), pos=pos)
    if selector == "random":
        alphabet = string.ascii_letters + string.digits
        plain = "".join(secrets.choice(alphabet) for _ in range(RANDOM_LENGTH))
        shown.append(f"{account}: {plain}")
        return Node(element, None, (Node("Hash", hasher(plain)),), pos=pos)
    if selector.startswith("file:"):
        path = selector[5:]
        try:
            with open(path, encoding="utf-8") as f:
                plain = f.readline().rstrip("\r\n")  # virt-customize: the file's first line
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{path}: cannot read the password: {e}") from None
        if not plain:
            raise UsageError(f"{path}: the first line, the password, is empty")
    else:
        plain = selector[len("password:") :]
    return Node(element, None, (Node("Value", plain), Node("PlainText", "true")), pos=pos)


def _keys(user: str, selector: str) -> list[str]:
    """The public keys an --ssh-inject names: a file's lines, one string, or the invoking
    user's ~/.ssh/id_*.pub (as virt-customize without a selector)."""
    if selector.startswith("string:"):
        return [selector[len("string:") :].strip()]
    files = [selector[5:]] if selector else sorted(glob.glob(os.path.expanduser("~/.ssh/id_*.pub")))
    if not files:
        raise UsageError(
            f"--ssh-inject {user}: no ~/.ssh/id_*.pub to inject; give "
            f"{user}:file:FILE or {user}:string:KEY"
        )
    keys = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                keys += [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"--ssh-inject {user}: {path}: {e}") from None
    if not keys:
        raise UsageError(f"--ssh-inject {user}: {', '.join(files)} holds no key")
    return keys


def _named(line: str, said: list[str]) -> str:
    """A validation message about the pseudo-document, naming the option instead."""
    m = _LOCATED.match(line)
    if m is None or not 0 < int(m.group(1)) <= len(said):
        return line
    return f"{said[int(m.group(1)) - 1]}: {m.group(2)}"
