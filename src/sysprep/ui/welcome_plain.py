"""The welcome as line prompts: a serial console, TERM=dumb, SYSPREP_UI=plain, or a
terminal where the full-screen welcome could not start."""

from __future__ import annotations

import getpass
import re
from typing import IO, TYPE_CHECKING, Callable, TextIO, cast

from sysprep.ui import choices
from sysprep.ui.choices import Catalog
from sysprep.ui.welcome_plan import (
    ACCOUNT,
    AUDIT_HINT,
    AUDIT_SEQUENCES,
    HOST_NAME,
    KEYBOARD,
    LICENSE,
    LOCALE,
    TIME_ZONE,
    Account,
    Hasher,
    Plan,
    Result,
)

if TYPE_CHECKING:
    from sysprep.target.confined import Confined


class _Audit(Exception):
    pass


def _line(out: IO[str], inp: IO[str], prompt: str, *, first: bool = False) -> str:
    out.write(prompt)
    out.flush()
    line = inp.readline()
    if not line:
        raise EOFError
    if first and (any(s in line for s in AUDIT_SEQUENCES) or line.strip() == "!audit"):
        raise _Audit
    return line.strip()


def _secret(out: IO[str], inp: IO[str], prompt: str) -> str:
    if inp.isatty():
        return getpass.getpass(prompt, stream=cast(TextIO, out))
    return _line(out, inp, prompt)


def _choose(
    out: IO[str],
    inp: IO[str],
    title: str,
    catalog: Catalog,
    default: str,
    *,
    first: bool,
    check: Callable[[str], str | None],
) -> str:
    out.write(f"\n{title}\n")
    while True:
        answer = _line(
            out, inp, f"  [{default}] (part of a name and ? lists matches): ", first=first
        )
        if answer.endswith("?"):
            part = answer[:-1].lower()
            hits = [
                o.value
                for o in catalog.options
                if part in o.value.lower() or part in o.description.lower()
            ]
            out.write(
                "  "
                + (", ".join(hits[:60]) or "nothing matches")
                + (" ..." if len(hits) > 60 else "")
                + "\n"
            )
            continue
        value = answer or default
        hits = [o.value for o in catalog.options if value.lower() in o.value.lower()]
        value = catalog.find(value) or (hits[0] if len(hits) == 1 else value)
        problem = check(value)
        if problem is None:
            return value
        out.write(f"  {problem}\n")


def _offered(form: re.Pattern[str], catalog: Catalog, what: str) -> Callable[[str], str | None]:
    """The check of a page: `form`, and one of the catalog's values when they are the image's."""

    def check(value: str) -> str | None:
        if form.match(value) and (not catalog.known or catalog.has(value)):
            return None
        return f"{value!r} is not {what} of this system"

    return check


def ask_plain(plan: Plan, hasher: Hasher, fs: Confined, out: IO[str], inp: IO[str]) -> Result:
    """The welcome as line prompts (a serial console, TERM=dumb, SYSPREP_UI=plain)."""
    r = Result()
    out.write(
        "Welcome. A few questions set up this computer.\n"
        f"(On this first question, {AUDIT_HINT}; on a line-mode console type !audit.)\n"
    )
    try:
        for i, page in enumerate(plan.pages):
            first = i == 0
            if page == LOCALE:
                r.locale = _choose(
                    out,
                    inp,
                    "Language and region (locale)",
                    plan.locales,
                    plan.locale,
                    first=first,
                    check=_offered(choices.LOCALE, plan.locales, "a locale"),
                )
            elif page == KEYBOARD:
                r.keymap = _choose(
                    out,
                    inp,
                    "Keyboard layout",
                    plan.keymaps,
                    plan.keymap,
                    first=first,
                    check=_offered(choices.KEYMAP, plan.keymaps, "a keyboard layout"),
                )
            elif page == TIME_ZONE:
                r.time_zone = _choose(
                    out,
                    inp,
                    "Time zone",
                    plan.zones,
                    plan.zone,
                    first=first,
                    check=lambda v: choices.valid_zone(fs, v),
                )
            elif page == LICENSE:
                out.write("\nLicense terms\n\n" + plan.eula.rstrip() + "\n\n")
                while True:
                    a = _line(out, inp, "Do you accept the license terms? (yes/no): ", first=first)
                    if a.lower() in ("yes", "y"):
                        r.eula_accepted = True
                        break
                    out.write("  To use this computer you must accept the license terms.\n")
            elif page == HOST_NAME:
                out.write("\nComputer name\n")
                while True:
                    name = _line(out, inp, f"  [{plan.hostname}]: ", first=first) or plan.hostname
                    problem = choices.hostname_problem(name)
                    if problem is None:
                        r.hostname = name
                        break
                    out.write(f"  {problem}\n")
            elif page == ACCOUNT:
                out.write("\nUser account\n")
                while True:
                    name = _line(out, inp, "  User name: ", first=first)
                    problem = choices.account_problem(fs, name)
                    if problem is None:
                        break
                    out.write(f"  {problem}\n")
                full = _line(out, inp, "  Full name (optional): ")
                while True:
                    pw = _secret(out, inp, "  Password: ")
                    level = choices.strength(pw, name)
                    out.write(f"  strength: {choices.LEVELS[level]}\n")
                    again = _secret(out, inp, "  Password again: ")
                    problem = choices.password_problem(pw, again, name)
                    if problem is None:
                        break
                    out.write(f"  {problem}\n")
                admin = _line(out, inp, "  Administrator (may use sudo)? [Y/n]: ").lower() not in (
                    "n",
                    "no",
                )
                r.account = Account(name, hasher(pw), admin, full)
                del pw, again
    except _Audit:
        return Result(audit=True)
    out.write("\nSetting up this computer...\n")
    out.flush()
    return r
