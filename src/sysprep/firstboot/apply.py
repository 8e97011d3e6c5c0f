"""Answer-file settings applied at boot: host name, time zone, locale, keyboard, accounts.

Each function acts through a provider Context (the confined layer; target programs in the
sandbox when the target is offline) and is idempotent, so a pass resumed after a crash or a
reboot applies it again harmlessly.
"""

from __future__ import annotations

import re
import socket
import stat

from sysprep.answer import locales
from sysprep.answer.model import generate_computer_name
from sysprep.answer.types import AutoLogon, LocalAccount
from sysprep.errors import UsageError
from sysprep.providers.base import Context
from sysprep.rules import passwd
from sysprep.rules.names import valid_account, valid_hostname
from sysprep.target.sandbox import run_in_target

ZONE = re.compile(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$")
LOCALE = re.compile(
    r"^[A-Za-z]{2,3}(_[A-Za-z]{2})?(\.[A-Za-z0-9-]+)?(@[A-Za-z]+)?$|^C(\.UTF-8)?$|^POSIX$"
)
KEYMAP = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def set_hostname(ctx: Context, name: str) -> str:
    if name == "*":
        name = generate_computer_name()
    if not valid_hostname(name):
        raise UsageError(
            f"ComputerName {name!r} is not a valid host name (letters, digits and '-')"
        )
    short = name.split(".")[0]
    old = (ctx.fs.read_text("etc/hostname") or "").strip()
    if old != name:
        ctx.write("etc/hostname", name + "\n")
    hosts = ctx.fs.read_text("etc/hosts")
    if hosts is not None:
        lines, found = [], False
        for line in hosts.splitlines():
            fields = line.split()
            if fields and fields[0] == "127.0.1.1":
                line, found = f"127.0.1.1\t{name}" + (f" {short}" if short != name else ""), True
            lines.append(line)
        if not found:
            lines.append(f"127.0.1.1\t{name}" + (f" {short}" if short != name else ""))
        new = "\n".join(lines) + "\n"
        if new != hosts:
            ctx.write("etc/hosts", new)
    if ctx.target.live and not ctx.dry_run:
        try:
            socket.sethostname(name)
        except OSError as e:
            ctx.warning(f"could not set the running host name: {e}")
    ctx.info(f"host name is {name}")
    return name


def set_timezone(ctx: Context, zone: str) -> None:
    if not ZONE.match(zone) or ".." in zone:
        raise UsageError(f"TimeZone {zone!r} is not a time-zone name")
    if not ctx.fs.is_file(f"usr/share/zoneinfo/{zone}"):
        ctx.fail(
            f"time zone {zone} is not installed in the image (usr/share/zoneinfo/{zone}); "
            "install tzdata"
        )
        return
    if ctx.fs.readlink("etc/localtime") != f"/usr/share/zoneinfo/{zone}":
        ctx.symlink(f"/usr/share/zoneinfo/{zone}", "etc/localtime")
    debian = ctx.fs.exists("etc/timezone") or ctx.fs.exists("etc/debian_version")
    if debian and (ctx.fs.read_text("etc/timezone") or "").strip() != zone:
        ctx.write("etc/timezone", zone + "\n", make_parents=True)
    ctx.info(f"time zone is {zone}")


def _set_key(text: str, key: str, value: str) -> str:
    lines = [ln for ln in text.splitlines() if not re.match(rf"^\s*{re.escape(key)}=", ln)]
    lines.append(f'{key}="{value}"' if " " in value else f"{key}={value}")
    return "\n".join(lines) + "\n"


def set_locale(ctx: Context, locale: str, messages: str | None = None) -> None:
    for value in filter(None, (locale, messages)):
        if not LOCALE.match(value):
            raise UsageError(f"locale {value!r} is not a locale name like en_US.UTF-8")
    conf = _set_key(ctx.fs.read_text("etc/locale.conf") or "", "LANG", locale)
    if messages and messages != locale:
        conf = _set_key(conf, "LC_MESSAGES", messages)
    if conf != ctx.fs.read_text("etc/locale.conf"):
        ctx.write("etc/locale.conf", conf, make_parents=True)
    if ctx.fs.exists("etc/default/locale") or ctx.fs.exists("etc/debian_version"):
        deb = _set_key(ctx.fs.read_text("etc/default/locale") or "", "LANG", locale)
        if messages and messages != locale:
            deb = _set_key(deb, "LC_MESSAGES", messages)
        if deb != ctx.fs.read_text("etc/default/locale"):
            ctx.write("etc/default/locale", deb, make_parents=True)
    _generate_locales(ctx, [v for v in (locale, messages) if v])
    ctx.info(f"locale is {locale}" + (f", messages {messages}" if messages else ""))


def _generate_locales(ctx: Context, names: list[str]) -> None:
    """Debian-style: enable the locales in /etc/locale.gen and run locale-gen."""
    gen = ctx.fs.read_text("etc/locale.gen")
    if gen is None or not ctx.fs.is_file("usr/sbin/locale-gen"):
        return
    lines = gen.splitlines()
    changed = False
    for name in names:
        if name in ("C", "C.UTF-8", "POSIX"):
            continue
        wanted = name if "." in name else f"{name}.UTF-8"
        if any(ln.split()[:1] == [wanted] for ln in lines if not ln.startswith("#")):
            continue
        for i, ln in enumerate(lines):
            if re.match(rf"^#\s*{re.escape(wanted)}\s", ln):
                lines[i] = ln.lstrip("#").lstrip()
                changed = True
                break
        else:
            lines.append(f"{wanted} {wanted.split('.')[1] if '.' in wanted else 'UTF-8'}")
            changed = True
    if changed:
        ctx.write("etc/locale.gen", "\n".join(lines) + "\n")
        if not ctx.dry_run:
            done = run_in_target(ctx.target, ["/usr/sbin/locale-gen"])
            if done.returncode != 0:
                ctx.warning(f"locale-gen failed with status {done.returncode}")


def set_keymap(ctx: Context, keymap: str) -> None:
    if not KEYMAP.match(keymap):
        raise UsageError(f"keyboard layout {keymap!r} is not a keymap name like de or us")
    conf = _set_key(ctx.fs.read_text("etc/vconsole.conf") or "", "KEYMAP", keymap)
    if conf != ctx.fs.read_text("etc/vconsole.conf"):
        ctx.write("etc/vconsole.conf", conf, make_parents=True)
    if ctx.fs.exists("etc/default/keyboard") or ctx.fs.exists("etc/debian_version"):
        layout = locales.xkb_layout(keymap)
        kb = _set_key(ctx.fs.read_text("etc/default/keyboard") or "", "XKBLAYOUT", layout)
        if kb != ctx.fs.read_text("etc/default/keyboard"):
            ctx.write("etc/default/keyboard", kb, make_parents=True)
    ctx.info(f"keyboard layout is {keymap}")


def passwd_entry(ctx: Context, name: str) -> passwd.Entry | None:
    return passwd.entry(ctx.fs.read_text("etc/passwd") or "", name)


def _groups(ctx: Context) -> set[str]:
    return passwd.names(ctx.fs.read_text("etc/group") or "")


def ensure_account(ctx: Context, account: LocalAccount) -> None:
    """Create (or update) a local account: groups, password hash, authorized keys, sudo."""
    name = account.name
    if not valid_account(name):
        raise UsageError(f"account name {name!r} would be rejected by useradd")
    known = _groups(ctx)
    groups = [g for g in account.groups if g in known]
    for g in account.groups:
        if g not in known:
            ctx.warning(f"group {g} does not exist in the image; {name} is not added to it")
    if account.sudo:
        admin = next((g for g in ("sudo", "wheel", "admin") if g in known), None)
        if admin and admin not in groups:
            groups.append(admin)
        elif admin is None:
            ctx.write(f"etc/sudoers.d/90-sysprep-{name}", f"{name} ALL=(ALL:ALL) ALL\n", mode=0o440)
    if ctx.dry_run:
        return
    if passwd_entry(ctx, name) is None:
        argv = ["useradd", "--create-home", "--shell", _default_shell(ctx)]
        if account.display_name:
            argv += ["--comment", account.display_name]
        if groups:
            argv += ["--groups", ",".join(groups)]
        if name in known:  # e.g. Debian's system group "operator": no private group possible
            argv += ["--no-user-group", "--gid", "users" if "users" in known else name]
        done = run_in_target(ctx.target, [*argv, name])
        if done.returncode != 0:
            ctx.fail(
                f"useradd {name} failed with status {done.returncode}: {done.stderr.strip()[-300:]}"
            )
            return
        ctx.info(f"created the account {name}")
    elif groups:
        run_in_target(ctx.target, ["usermod", "--append", "--groups", ",".join(groups), name])
    if account.password_hash:
        done = run_in_target(
            ctx.target, ["chpasswd", "--encrypted"], input=f"{name}:{account.password_hash}\n"
        )
        if done.returncode != 0:
            ctx.fail(f"setting the password of {name} failed with status {done.returncode}")
            return
        ctx.info(f"set the password of {name}")
    if account.authorized_keys:
        _authorized_keys(ctx, name, account.authorized_keys)


def set_root_password(ctx: Context, password_hash: str) -> None:
    """AdministratorPassword: root's password, given as a crypt hash (never in clear)."""
    if ctx.dry_run:
        return
    done = run_in_target(ctx.target, ["chpasswd", "--encrypted"], input=f"root:{password_hash}\n")
    if done.returncode != 0:
        ctx.fail(f"setting root's password failed with status {done.returncode}")
    else:
        ctx.info("set root's password")


def _default_shell(ctx: Context) -> str:
    for shell in ("/bin/bash", "/usr/bin/bash", "/bin/sh"):
        if ctx.fs.is_file(shell.lstrip("/")):
            return shell
    return "/bin/sh"


def _authorized_keys(ctx: Context, name: str, keys: tuple[str, ...]) -> None:
    entry = passwd_entry(ctx, name)
    if entry is None:
        return
    uid, gid = entry.uid, entry.gid
    home = entry.home.strip("/")
    hst = ctx.fs.lstat(home) if home else None
    if hst is None or not stat.S_ISDIR(hst.st_mode):
        ctx.fail(f"{name} has no home folder (not a link) for its authorized keys")
        return
    home = ctx.fs.realpath(home) or home
    # the account owns its home: ~/.ssh must be its own real folder, never a link it planted
    # to have root write (and chown to it) somewhere else
    ssh = f"{home}/.ssh"
    st = ctx.fs.lstat(ssh)
    if st is None:
        ctx.note(ctx.fs.mkdir(ssh, 0o700, uid=uid, gid=gid))
    elif not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
        ctx.fail(f"/{ssh} is not a folder owned by {name}: its authorized keys are not written")
        return
    path = f"{ssh}/authorized_keys"
    st = ctx.fs.lstat(path)
    if st is not None and (not stat.S_ISREG(st.st_mode) or st.st_uid != uid):
        ctx.fail(f"/{path} is not a file owned by {name}: its authorized keys are not written")
        return
    old = (ctx.fs.read_text(path) or "").splitlines()
    new = old + [k.strip() for k in keys if k.strip() and k.strip() not in old]
    if new != old:
        ctx.write(path, "\n".join(new) + "\n", mode=0o600, uid=uid, gid=gid)


def set_autologon(ctx: Context, auto: AutoLogon | None, *, tty: str = "tty1") -> None:
    """AutoLogon: log this account in on the console (a getty drop-in); None removes it."""
    path = f"etc/systemd/system/getty@{tty}.service.d/60-sysprep-autologon.conf"
    if auto is None or not auto.enabled:
        ctx.remove(path)
        return
    if not valid_account(auto.username):
        raise UsageError(f"AutoLogon user {auto.username!r} is not an account name")
    ctx.mkdir(path.rsplit("/", 1)[0])
    ctx.write(
        path,
        "# written by sysprep (AutoLogon)\n[Service]\nExecStart=\n"
        f"ExecStart=-/sbin/agetty --autologin {auto.username} --noclear %I $TERM\n",
    )
