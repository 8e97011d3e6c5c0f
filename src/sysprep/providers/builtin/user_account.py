"""user-account: remove the user accounts, their homes and their mail (off by default).

Which accounts are users comes from the target's login.defs (UID_MIN..UID_MAX); root and
system accounts are never removed. --remove-user-accounts limits the removal to the named
accounts, --keep-user-accounts spares the named ones (virt-sysprep's rules).
"""

from __future__ import annotations

import posixpath

from sysprep.providers.base import Context, Phase, Provider
from sysprep.rules import passwd as passwd_file

PASSWD, SHADOW, GROUP, GSHADOW = "etc/passwd", "etc/shadow", "etc/group", "etc/gshadow"
SUBIDS = ("etc/subuid", "etc/subgid")
MAIL = ("var/spool/mail", "var/mail")
DEFAULT_UID_MIN, DEFAULT_UID_MAX = 1000, 60000
# A home that is one of these (or above them) is shared with the system: never removed.
SYSTEM_DIRS = frozenset(
    {
        "",
        "home",
        "root",
        "etc",
        "usr",
        "var",
        "opt",
        "srv",
        "tmp",
        "boot",
        "bin",
        "sbin",
        "lib",
        "lib64",
        "dev",
        "proc",
        "sys",
        "run",
        "mnt",
        "media",
        "var/lib",
        "var/spool",
        "var/mail",
        "var/www",
        "usr/local",
        "nonexistent",
    }
)


def _names(ctx: Context, option: str) -> set[str]:
    return {
        n.strip() for value in ctx.settings.option(option) for n in value.split(",") if n.strip()
    }


def uid_range(ctx: Context) -> tuple[int, int]:
    defs = {}
    for line in (ctx.fs.read_text("etc/login.defs") or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#"):
            defs[fields[0]] = fields[1]

    def number(key: str, default: int) -> int:
        try:
            return int(defs.get(key, default))
        except ValueError:
            return default

    return number("UID_MIN", DEFAULT_UID_MIN), number("UID_MAX", DEFAULT_UID_MAX)


def _drop_entries(text: str, names: set[str]) -> str:
    """Lines of a colon-separated database whose first field is not in `names`."""
    return "".join(
        line for line in text.splitlines(keepends=True) if line.split(":", 1)[0] not in names
    )


def _drop_members(text: str, names: set[str], fields: tuple[int, ...]) -> str:
    """Remove `names` from the comma-separated member lists in `fields` of each line."""
    out = []
    for line in text.splitlines(keepends=True):
        end = "\n" if line.endswith("\n") else ""
        f = line.rstrip("\n").split(":")
        for i in fields:
            if i < len(f) and f[i]:
                f[i] = ",".join(m for m in f[i].split(",") if m and m not in names)
        out.append(":".join(f) + end)
    return "".join(out)


def run(ctx: Context) -> None:
    remove_only, keep = _names(ctx, "remove-user-accounts"), _names(ctx, "keep-user-accounts")
    passwd = ctx.fs.read_text(PASSWD)
    if passwd is None:
        return
    low, high = uid_range(ctx)
    everyone = passwd_file.entries(passwd)
    doomed = [
        a
        for a in everyone
        if low <= a.uid <= high
        and a.name != "root"
        and a.name not in keep
        and (not remove_only or a.name in remove_only)
    ]
    if not doomed:
        return
    names = {a.name for a in doomed}
    for unknown in sorted(remove_only - {a.name for a in everyone}):
        ctx.warning(f"--remove-user-accounts: no account {unknown} in /etc/passwd")
    # Private groups go with their user, unless another remaining account uses them.
    kept_gids = {a.gid for a in everyone if a.name not in names}
    group_text = ctx.fs.read_text(GROUP) or ""
    groups = set()
    for line in group_text.splitlines():
        f = line.split(":")
        if len(f) >= 3 and f[0] in names:
            try:
                if int(f[2]) not in kept_gids:
                    groups.add(f[0])
            except ValueError:
                continue
    # Compute everything first, then write: each file is replaced atomically.
    new: dict[str, str] = {PASSWD: _drop_entries(passwd, names)}
    for path, drop, members in (
        (SHADOW, names, ()),
        (GROUP, groups, (3,)),
        (GSHADOW, groups, (2, 3)),
        *((p, names, ()) for p in SUBIDS),
    ):
        text = ctx.fs.read_text(path)
        if text is not None:
            new[path] = _drop_members(_drop_entries(text, drop), names, members)
    for path in (GSHADOW, SHADOW, *SUBIDS, GROUP, PASSWD):  # the account itself goes last
        if path in new:
            old = ctx.fs.read_text(path)
            if new[path] != old:
                ctx.write(path, new[path].encode("utf-8", "surrogateescape"))
    kept_homes = [_canonical(ctx, a.home) for a in everyone if a.name not in names]
    for a in doomed:
        home = _canonical(ctx, a.home)
        if home is None or home in SYSTEM_DIRS:
            ctx.info(f"not removing {a.home}, home of {a.name}: a system folder")
        elif any(
            k is not None and (k == home or k.startswith(home + "/") or home.startswith(k + "/"))
            for k in kept_homes
        ):
            ctx.info(f"not removing {a.home}, home of {a.name}: shared with a kept account")
        else:
            ctx.remove(home)
        ctx.remove(*(f"{m}/{a.name}" for m in MAIL))


def _canonical(ctx: Context, home: str) -> str | None:
    if not home.startswith("/"):
        return None
    return ctx.fs.realpath(home) or posixpath.normpath(home).strip("/")


PROVIDER = Provider(
    name="user-account",
    heading="Remove the user accounts in the guest",
    description=(
        "Removes the user accounts (UID between UID_MIN and UID_MAX of the image's "
        "/etc/login.defs; root and system accounts never) from passwd, shadow, group, "
        "gshadow, subuid and subgid, each file replaced atomically with its owner and mode; "
        "their private groups and their memberships in other groups go too. Their home "
        "directories and mailboxes are removed. --remove-user-accounts USERS removes only "
        "those; --keep-user-accounts USERS spares those. Not enabled by default."
    ),
    phase=Phase.GENERALIZE,
    run=run,
    default=False,
    order=10,  # before the providers that look in every home
    options=("keep-user-accounts", "remove-user-accounts"),
    paths=(
        "/etc/passwd",
        "/etc/shadow",
        "/etc/group",
        "/etc/gshadow",
        "/etc/subuid",
        "/etc/subgid",
        "~user (each removed account)",
        "/var/mail/user",
        "/var/spool/mail/user",
    ),
    limits="Files the users own outside their home and mailbox stay (with a UID no account "
    "has). A home that is a system folder, or is shared with a kept account, stays.",
)
