"""The table of the command line: every option of the main command and of `sysprep batch`,
their groups, the sub-commands, the description and examples. One table drives the parser
(sysprep.cli), `--help`, the man page and the shell completions (sysprep.docs)."""

from __future__ import annotations

from dataclasses import dataclass

from sysprep.target.image.formats import FORMATS

ACTIONS = "Actions (as in Windows Sysprep)"
FINISH = "When done (at most one; default: quit)"
TARGET = "Target (default: the live system)"
SELECT = "Choosing operations (as virt-sysprep)"
OUTPUT = "Output"
CUSTOMIZE = "Customizing (as virt-customize; they make an answer file, merged with --unattend)"


@dataclass(frozen=True)
class Opt:
    """One option of the main command; `windows` also accepts it as /name or /name:value."""

    name: str
    help: str
    group: str
    metavar: str | None = None  # takes a value when set
    windows: bool = False
    repeat: bool = False
    choices: tuple[str, ...] = ()
    complete: str = ""  # what the shell completes for the value: file, dir, operation, choice
    short: str = ""  # a one-letter spelling (-n), as virt-sysprep has
    aliases: tuple[str, ...] = ()  # other long spellings (--add for --image, as virt-sysprep)

    @property
    def long(self) -> tuple[str, ...]:
        """Every long spelling: --name first, then the aliases."""
        return ("--" + self.name, *("--" + a for a in self.aliases))


OPTIONS: tuple[Opt, ...] = (
    Opt(
        "generalize",
        "remove everything that makes this installation one particular machine "
        "(cleanup and generalize phases, the answer file's generalize pass)",
        ACTIONS,
        windows=True,
    ),
    Opt(
        "oobe",
        "at the next boot, run the first-boot welcome (OOBE) after the passes "
        "(--generalize alone reseals headless: the passes run unattended, no welcome)",
        ACTIONS,
        windows=True,
    ),
    Opt(
        "audit",
        "at the next boot, enter audit mode (auditSystem and auditUser passes) "
        "instead of the welcome",
        ACTIONS,
        windows=True,
    ),
    Opt(
        "mode",
        "with --generalize: 'vm' keeps hardware-bound state (the clone runs on the "
        "same virtual hardware)",
        ACTIONS,
        metavar="MODE",
        windows=True,
        choices=("vm",),
        complete="choice",
    ),
    Opt(
        "no-boot-passes",
        "with --generalize: install nothing that runs at the next boot "
        "(no sysprep runtime, no python3 needed in the image); only a unit that makes the SSH "
        "host keys when nothing else in the image would. Not with --oobe, --audit or an "
        "answer file that sets boot-time passes",
        ACTIONS,
    ),
    Opt(
        "unattend",
        "answer file (unattend.xml or YAML) to validate, cache in the target and apply",
        ACTIONS,
        metavar="FILE",
        windows=True,
        complete="file",
    ),
    Opt("quit", "quit when done (the default)", FINISH, windows=True),
    Opt("reboot", "reboot when done (live system only)", FINISH, windows=True),
    Opt("shutdown", "power off when done (live system only)", FINISH, windows=True),
    Opt(
        "root",
        "prepare the offline root file system mounted at DIR",
        TARGET,
        metavar="DIR",
        complete="dir",
    ),
    Opt(
        "image",
        "prepare a disk image (raw, qcow2 with or without a backing chain, vmdk, "
        "vhdx, vdi, vpc); repeat for the disks of one guest",
        TARGET,
        metavar="FILE",
        repeat=True,
        complete="file",
        short="a",
        aliases=("add",),
    ),
    Opt(
        "format",
        "format of --image (detected when omitted)",
        TARGET,
        metavar="FORMAT",
        choices=FORMATS,
        complete="choice",
    ),
    Opt(
        "allow-block-device",
        "with --image: let it name a block device (an LV, a mapped RBD "
        "or iSCSI disk of a stopped VM); refused when something holds or mounts it",
        TARGET,
    ),
    Opt(
        "root-fs",
        "with --image: the device of the root file system, when several are found "
        "(/dev/sda2, /dev/VG/LV, UUID=, LABEL=, PARTUUID=, PARTLABEL=; DEV:SUBVOLUME for "
        "btrfs)",
        TARGET,
        metavar="DEV",
    ),
    Opt(
        "sparsify",
        "with --image: discard the free blocks of its file systems at the end, so "
        "that the image file stays sparse and compresses",
        TARGET,
    ),
    Opt(
        "zero-free-space",
        "with --image: overwrite the free blocks of its file systems with "
        "zeros at the end (a qcow2 image stays sparse)",
        TARGET,
    ),
    Opt(
        "dry-run",
        "print exactly what would be removed, emptied or rewritten; change nothing",
        SELECT,
        short="n",
    ),
    Opt(
        "list-operations",
        "list the operations (providers): name, * when on by default, heading",
        SELECT,
    ),
    Opt(
        "operations",
        "comma-separated operations to run instead of the defaults; 'defaults', "
        "'all' and '-NAME' are understood; repeated, the lists add up",
        SELECT,
        metavar="LIST",
        repeat=True,
        complete="operation",
    ),
    Opt(
        "enable", "also run this operation", SELECT, metavar="OP", repeat=True, complete="operation"
    ),
    Opt(
        "disable",
        "do not run this operation",
        SELECT,
        metavar="OP",
        repeat=True,
        complete="operation",
    ),
    Opt(
        "keep-user-accounts",
        "user-account: keep these accounts (comma-separated)",
        SELECT,
        metavar="USERS",
    ),
    Opt(
        "remove-user-accounts",
        "user-account: remove only these accounts (comma-separated)",
        SELECT,
        metavar="USERS",
    ),
    Opt(
        "script",
        "script: run this host script with the target as its working directory",
        SELECT,
        metavar="FILE",
        repeat=True,
        complete="file",
    ),
    Opt(
        "quiet",
        "no messages on the screen except errors (logs are written as always)",
        OUTPUT,
        windows=True,
        short="q",
    ),
    Opt(
        "verbose",
        "show every action (and each operation's heading and totals), as virt-sysprep -v",
        OUTPUT,
        short="v",
    ),
    Opt("trace", "show every command sysprep runs, as virt-sysprep -x", OUTPUT, short="x"),
    Opt(
        "json",
        "print the report (or the dry-run plan) as one JSON document on stdout, or the "
        "error document when it fails (docs/contract.md)",
        OUTPUT,
    ),
    Opt(
        "hostname",
        "set the host name of the clones (specialize ComputerName)",
        CUSTOMIZE,
        metavar="NAME",
    ),
    Opt(
        "root-password",
        "set root's password: file:FILE (its first line), password:PASSWORD, "
        "random (shown once on the terminal, never logged) or disabled (no password login)",
        CUSTOMIZE,
        metavar="SELECTOR",
    ),
    Opt(
        "password",
        "set an account's password, with the selectors of --root-password",
        CUSTOMIZE,
        metavar="USER:SELECTOR",
        repeat=True,
    ),
    Opt(
        "ssh-inject",
        "add SSH keys to an account's authorized_keys: USER:file:FILE, "
        "USER:string:KEY, or USER alone for your ~/.ssh/id_*.pub",
        CUSTOMIZE,
        metavar="USER[:SELECTOR]",
        repeat=True,
    ),
    Opt(
        "timezone", "set the time zone of the clones (specialize TimeZone)", CUSTOMIZE, metavar="TZ"
    ),
    Opt(
        "firstboot-command",
        "run this shell command once, at the clone's first boot "
        "(specialize RunSynchronous, in the order given)",
        CUSTOMIZE,
        metavar="CMD",
        repeat=True,
    ),
    Opt(
        "run-command",
        "run this shell command now, inside the target, in the sandbox "
        "(generalize RunSynchronous, before the operations; needs --generalize)",
        CUSTOMIZE,
        metavar="CMD",
        repeat=True,
    ),
    Opt(
        "strict",
        "treat answer-file settings without a Linux meaning as errors, and fail a "
        "generalize that leaves a copy of the template's identity in the target",
        OUTPUT,
    ),
)

BATCH = "Batch (sysprep batch IMAGE...)"
# sysprep batch: its own options, and the main command's that it passes to each image's run
BATCH_OPTIONS: tuple[Opt, ...] = (
    Opt(
        "jobs",
        "how many images to prepare at once (default: the number of CPUs)",
        BATCH,
        metavar="N",
    ),
    Opt(
        "report",
        "write the JSON report of every image to FILE",
        BATCH,
        metavar="FILE",
        complete="file",
    ),
)
BATCH_PASSED = (
    "oobe",
    "audit",
    "mode",
    "no-boot-passes",
    "unattend",
    "format",
    "sparsify",
    "zero-free-space",
    "dry-run",
    "operations",
    "enable",
    "disable",
    "keep-user-accounts",
    "remove-user-accounts",
    "script",
    "strict",
)

BY_NAME = {o.name: o for o in OPTIONS}

# name -> (module, one-line summary); each module has build(parser) and run(namespace).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "state": ("sysprep.commands.state", "show the image state of a target, and the pass under way"),
    "providers": ("sysprep.commands.providers", "list the providers, or show one in full"),
    "install": ("sysprep.commands.install", "put sysprep into a target and record its release"),
    "answer": (
        "sysprep.commands.answer",
        "validate, show or convert an answer file (unattend.xml or YAML)",
    ),
    "license": (
        "sysprep.commands.license",
        "the registrations a rearm resets and the rearms counted (slmgr /dlv)",
    ),
    "boot": ("sysprep.commands.boot", "run the pending boot-time passes (what the boot units run)"),
    "batch": ("sysprep.commands.batch", "generalize many disk images, several at a time"),
    "schema": (
        "sysprep.commands.schema",
        "print the JSON schema of a --json output (the pipeline contract)",
    ),
    "scan": (
        "sysprep.commands.scan",
        "prove a target is safe to clone: report the template's "
        "identity and the secrets a clone would share",
    ),
    "completion": (
        "sysprep.commands.docs",
        "print the shell completion script (bash, zsh or fish)",
    ),
    "man": ("sysprep.commands.docs", "print the man page (troff)"),
}

WINDOWS = {o.name: o for o in OPTIONS if o.windows}
# every spelling of an option that takes a value next: --image, --add, -a
SPELLED = {flag: o for o in OPTIONS for flag in (*o.long, *(["-" + o.short] if o.short else []))}

DESCRIPTION = """\
Prepare a Linux installation for imaging or delivery: generalize it (remove what makes it
one particular machine), then reseal it so the next boot gives each clone its own identity:
headless by default (the passes run unattended and the clone is COMPLETE before logins),
with the first-boot welcome (--oobe) or in audit mode (--audit). Works on the live system,
an offline root (--root) or a disk image (--image); unattended from an answer file or
interactively.
"""

EPILOG = """\
Windows syntax works too, in any case: /generalize /oobe /audit /mode:vm /reboot /shutdown
/quit /quiet /unattend:FILE.

examples:
  sysprep --generalize --image vm.qcow2            a template; its clones boot headless
  sysprep --generalize --no-boot-passes --root D   nothing of sysprep runs at boot
  sysprep --generalize --oobe --shutdown           this machine, welcome at next boot
  sysprep /generalize /oobe /unattend:u.xml        the same in Windows syntax, with answers
  sysprep --generalize --oobe --root /mnt/img -n   show what would change in a mounted image
  sysprep state --root /mnt/img                    show the image state
  sysprep state --wait --timeout 900 --json        on a clone: wait until its passes are done

other commands: state, providers, install, answer, license, batch, schema, completion, man
(sysprep COMMAND --help).
Exit status: 0 done, 1 the run failed, 2 the request was wrong (nothing was changed);
sysprep state: 0 a final good state, 1 UNDEPLOYABLE, 3 a pass is pending or running.
With --json, stdout is one JSON document whatever the exit status (docs/contract.md).
"""
