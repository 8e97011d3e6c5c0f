"""The man page and the shell completions, generated from the same tables as the parser
(cli.OPTIONS, cli.SUBCOMMANDS): below the commands, so the runtime's installer can write the
man page into an image without reaching up to the command layer."""

from __future__ import annotations

import argparse
import importlib
from typing import Iterator

from sysprep import __version__
from sysprep.cli import DESCRIPTION, OPTIONS, SUBCOMMANDS, Opt, Parser

# Commands people do not type: the boot units run `sysprep boot`; the man page still lists it.
_INTERNAL = ("boot",)


def _sub_parsers() -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    # the command modules are loaded by name, as dispatch loads them (a lazy registry)
    for name, (module, summary) in SUBCOMMANDS.items():
        mod = importlib.import_module(module)
        p = Parser(prog=f"sysprep {name}", description=summary)
        mod.build(p, name)
        yield name, summary, p


def _roff(text: str) -> str:
    return text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")


def _flag(o: Opt) -> str:
    s = (f"\\fB\\-{o.short}\\fR, " if o.short else "") + ", ".join(
        f"\\fB{_roff(flag)}\\fR" for flag in o.long
    )
    if o.metavar:
        s += f" \\fI{o.metavar}\\fR"
    if o.windows:
        s += f", \\fB/{_roff(o.name)}\\fR" + (f"\\fB:\\fR\\fI{o.metavar}\\fR" if o.metavar else "")
    return s


def man_page() -> str:
    out = [
        f'.TH SYSPREP 8 "" "sysprep {__version__}" "System Administration"',
        ".SH NAME",
        "sysprep \\- prepare a Linux installation for imaging (generalize, reseal, specialize)",
        ".SH SYNOPSIS",
        "\\fBsysprep\\fR [\\fB/audit\\fR | \\fB/generalize\\fR [\\fB/mode:vm\\fR]] [\\fB/oobe\\fR] "
        "[\\fB/reboot\\fR | \\fB/shutdown\\fR | \\fB/quit\\fR] [\\fB/quiet\\fR] [\\fB/unattend:\\fR\\fIFILE\\fR]",
        ".br",
        "\\fBsysprep\\fR [\\fB\\-\\-generalize\\fR] [\\fB\\-\\-oobe\\fR | \\fB\\-\\-audit\\fR] "
        "[\\fIOPTION\\fR...] [\\fB\\-\\-root\\fR \\fIDIR\\fR | \\fB\\-\\-image\\fR \\fIFILE\\fR...]",
        ".br",
        "\\fBsysprep\\fR \\fICOMMAND\\fR [\\fIARGS\\fR...]",
        ".SH DESCRIPTION",
        _roff(" ".join(DESCRIPTION.split())),
        ".PP",
        "With no action on a terminal, sysprep opens the Sysprep dialog.",
    ]
    group = None
    for o in OPTIONS:
        if o.group != group:
            group = o.group
            out += [f".SH {_roff(group.upper())}"]
        out += [".TP", _flag(o), _roff(o.help[0].upper() + o.help[1:]) + "."]
    out += _operations()
    out += [".SH COMMANDS"]
    for _name, summary, p in _sub_parsers():
        usage = " ".join(p.format_usage().split()[1:])
        out += [".TP", f"\\fB{_roff(usage)}\\fR", _roff(summary[0].upper() + summary[1:]) + "."]
        for a in p._actions:
            if a.help == argparse.SUPPRESS or "-h" in a.option_strings:
                continue
            flags = ", ".join(a.option_strings) or (a.metavar or a.dest)
            out += [".RS", ".TP", f"\\fB{_roff(str(flags))}\\fR", _roff(str(a.help or "")), ".RE"]
    out += [
        ".SH EXIT STATUS",
        "0 done; 1 the run failed (the image state says UNDEPLOYABLE); 2 the request was wrong "
        "(bad option, answer file or target): nothing was changed.",
        ".SH FILES",
        ".TP",
        "\\fI/var/lib/sysprep/state.ini\\fR",
        "The image state (ImageState, pending passes).",
        ".TP",
        "\\fI/var/lib/sysprep/panther/\\fR",
        "Logs of the cleanup and generalize phases: setupact.log, setuperr.log, actions.jsonl.",
        ".TP",
        "\\fI/var/log/sysprep/\\fR",
        "Logs of the specialize, OOBE and audit passes.",
        ".TP",
        "\\fI/etc/sysprep/providers.d/PHASE/\\fR",
        "The image's own providers (executables).",
        ".SH SEE ALSO",
        "\\fBvirt\\-sysprep\\fR(1), \\fBsystemd\\-firstboot\\fR(1), \\fBcloud\\-init\\fR(1)",
    ]
    return "\n".join(out) + "\n"


def _operations() -> list[str]:
    """One entry per built-in provider, from the registry (as virt-sysprep's page)."""
    from sysprep.providers.registry import builtin

    out = [
        ".SH OPERATIONS",
        "Operations marked \\fB*\\fR run by default. \\fBcleanup\\fR operations run on "
        "every run (also \\fB/oobe\\fR alone), \\fBgeneralize\\fR ones with "
        "\\fB/generalize\\fR. Operations tagged \\fIhardware\\fR are skipped when devices are "
        "persisted (\\fB/mode:vm\\fR, PersistAllDeviceInstalls); \\fIactivation\\fR ones with "
        "SkipRearm. The paths each touches are listed (\\fBsysprep providers show\\fR \\fINAME\\fR too).",
    ]
    for p in sorted(builtin(), key=lambda p: p.name):
        tags = f"; {', '.join(sorted(p.tags))}" if p.tags else ""
        out += [
            ".TP",
            f"\\fB{_roff(p.name)}\\fR{' *' if p.default else ''} ({p.phase.value}{tags})",
            _roff(p.heading) + ".",
            ".br",
            _roff(p.description),
        ]
        if p.paths:  # from the same declaration the provider acts on
            out += [".br", "Touches: " + _roff(", ".join(p.paths)) + "."]
        if p.limits:
            out += [".br", "Limits: " + _roff(p.limits)]
    return out


def _words() -> tuple[list[str], list[str]]:
    flags = ["--help", "--version", *("-" + o.short for o in OPTIONS if o.short)]
    for o in OPTIONS:
        flags.extend(o.long)
        if o.windows:
            flags.append(f"/{o.name}" + (":" if o.metavar else ""))
    return flags, [name for name, _ in _sub_options()]


def _sub_options() -> list[tuple[str, list[argparse.Action]]]:
    """The commands people type, each with its options and arguments (help hidden)."""
    return [
        (
            name,
            [a for a in p._actions if a.help != argparse.SUPPRESS and "-h" not in a.option_strings],
        )
        for name, _, p in _sub_parsers()
        if name not in _INTERNAL
    ]


def bash_completion() -> str:
    flags, subs = _words()
    files = " ".join(flag for o in OPTIONS if o.complete == "file" for flag in o.long)
    dirs = " ".join("--" + o.name for o in OPTIONS if o.complete == "dir")
    ops = " ".join("--" + o.name for o in OPTIONS if o.complete == "operation")
    choices = "\n".join(
        f"        --{o.name}) COMPREPLY=($(compgen -W '{' '.join(o.choices)}' -- \"$cur\")); return;;"
        for o in OPTIONS
        if o.complete == "choice"
    )
    sub_words = "\n".join(
        f"        {name}) COMPREPLY=($(compgen -W '{' '.join(_sub_words(actions))}' -- \"$cur\")); return;;"
        for name, actions in _sub_options()
    )
    return f"""# bash completion for sysprep (generated by `sysprep completion bash`)
_sysprep() {{
    local cur prev
    cur=${{COMP_WORDS[COMP_CWORD]}}
    prev=${{COMP_WORDS[COMP_CWORD-1]}}
    case "$prev" in
        {files.replace(" ", "|") or "--none"}) COMPREPLY=($(compgen -f -- "$cur")); return;;
        {dirs.replace(" ", "|") or "--none"}) COMPREPLY=($(compgen -d -- "$cur")); return;;
        {ops.replace(" ", "|") or "--none"})
            COMPREPLY=($(compgen -W "$(sysprep --list-operations 2>/dev/null | cut -d' ' -f1) defaults all" -- "$cur")); return;;
{choices}
    esac
    if [ "$COMP_CWORD" -eq 1 ] && [[ "$cur" != -* && "$cur" != /* ]]; then
        COMPREPLY=($(compgen -W "{" ".join(subs)}" -- "$cur")); return
    fi
    case "${{COMP_WORDS[1]}}" in
{sub_words}
    esac
    COMPREPLY=($(compgen -W "{" ".join(flags)}" -- "$cur"))
}}
complete -F _sysprep sysprep
"""


def zsh_completion() -> str:
    _, subs = _words()
    lines = []
    for o in OPTIONS:
        action = {
            "file": ":file:_files",
            "dir": ":directory:_files -/",
            "choice": f":{o.metavar}:({' '.join(o.choices)})",
            "operation": ":operation:",
        }.get(o.complete, f":{o.metavar}:" if o.metavar else "")
        desc = o.help.replace("'", "").replace("[", "(").replace("]", ")").split(";")[0][:70]
        lines.append(f"    '--{o.name}[{desc}]{action}'")
        if o.windows:
            lines.append(f"    '/{o.name}[{desc}]'")
    return (
        "#compdef sysprep\n# zsh completion for sysprep (generated by `sysprep completion zsh`)\n"
        "_arguments -s \\\n" + " \\\n".join(lines) + f" \\\n    '1::command:({' '.join(subs)})'\n"
    )


def _sub_words(actions: list[argparse.Action]) -> list[str]:
    """What may follow a command: its options, and the choices of its arguments."""
    words = ["--help"]
    for a in actions:
        words += a.option_strings or [str(c) for c in a.choices or ()]
    return words


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_completion() -> str:
    """fish: one `complete` line per option and command, with its help as the description."""
    _, subs = _words()
    top = "not __fish_seen_subcommand_from " + " ".join(subs)
    out = [
        "# fish completion for sysprep (generated by `sysprep completion fish`)",
        "complete -c sysprep -f",
    ]
    for name, summary, _ in _sub_parsers():
        if name not in _INTERNAL:
            out.append(
                f"complete -c sysprep -n '__fish_use_subcommand' -a {name} "
                f"-d {_fish_quote(summary)}"
            )
    for o in OPTIONS:
        # -x: takes a value, and no file names (-F: file names)
        value = {
            "file": " -r -F",
            "dir": " -x -a '(__fish_complete_directories)'",
            "choice": f" -x -a {_fish_quote(' '.join(o.choices))}",
            "operation": " -x -a '(sysprep --list-operations 2>/dev/null | string split -f1 \" \") defaults all'",
        }.get(o.complete, " -x" if o.metavar else "")
        out.append(
            f"complete -c sysprep -n '{top}' -l {o.name}{value} "
            f"-d {_fish_quote(o.help.split(';')[0][:70])}"
        )
        if o.windows:
            out.append(
                f"complete -c sysprep -n '{top}' -a /{o.name}{':' if o.metavar else ''} "
                f"-d {_fish_quote(o.help.split(';')[0][:70])}"
            )
    for name, actions in _sub_options():
        for a in actions:
            cond = f"-n '__fish_seen_subcommand_from {name}'"
            desc = _fish_quote(str(a.help or "").split(";")[0][:70])
            for flag in a.option_strings:
                kind = "-l " + flag[2:] if flag.startswith("--") else "-s " + flag[1:]
                out.append(
                    f"complete -c sysprep {cond} {kind}{' -r -F' if a.nargs != 0 else ''} -d {desc}"
                )
            if not a.option_strings and a.choices:
                out.append(
                    f"complete -c sysprep {cond} -a {_fish_quote(' '.join(map(str, a.choices)))} -d {desc}"
                )
    return "\n".join(out) + "\n"


COMPLETIONS = {"bash": bash_completion, "zsh": zsh_completion, "fish": fish_completion}

# Where each generated file is installed, relative to the prefix (/usr, a venv, pipx's):
# where man(1), bash-completion, zsh and fish look for them. The wheel and the Debian
# package are built with these (setup.py), so nothing generated is kept in the repository.
INSTALLED = {
    "share/man/man8/sysprep.8": man_page,
    "share/bash-completion/completions/sysprep": bash_completion,
    "share/zsh/vendor-completions/_sysprep": zsh_completion,
    "share/fish/vendor_completions.d/sysprep.fish": fish_completion,
}
