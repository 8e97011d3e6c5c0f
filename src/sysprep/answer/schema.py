"""Every component and setting an answer file may hold, with its Linux meaning.

One declarative table drives validation, the typed getters, the YAML list forms and the
generated reference page (docs/answer-file-reference.md). Element names follow Windows
wherever Windows has the setting; the Windows component names are aliases.
"""

from __future__ import annotations

from sysprep.answer import locales, timezones
from sysprep.answer.checks import (
    check_absolute,
    check_account,
    check_command_line,
    check_full_name,
    check_groups,
    check_hash,
    check_hostname,
    check_key_line,
    check_keymap,
    check_locale,
    check_time_zone,
)
from sysprep.answer.setting import Check as Check
from sysprep.answer.setting import ComponentSpec as ComponentSpec
from sysprep.answer.setting import Kind as Kind
from sysprep.answer.setting import Setting as Setting

# Configuration passes, in the order Windows runs them.
PASSES = (
    "windowsPE",
    "offlineServicing",
    "generalize",
    "specialize",
    "auditSystem",
    "auditUser",
    "oobeSystem",
)
NOT_APPLICABLE = ("windowsPE", "offlineServicing")  # Windows Setup only: reported, not applied
APPLICABLE = tuple(p for p in PASSES if p not in NOT_APPLICABLE)


def _password(name: str, help: str, *, linux: bool = True) -> Setting:
    return Setting(
        name,
        Kind.PASSWORD,
        help,
        linux=linux,
        secret=True,
        example="<Value>c2VjcmV0UGFzc3dvcmQ=</Value><PlainText>false</PlainText>",
        children=(
            Setting(
                "Value",
                Kind.STRING,
                "The password: in clear when PlainText is true; "
                f"with PlainText false, base64 of the UTF-16LE password followed by "
                f"'{name}' (as Windows System Image Manager writes it). An empty Value "
                "sets no password.",
                secret=True,
            ),
            Setting(
                "PlainText", Kind.BOOLEAN, "Whether Value is the password in clear.", default="true"
            ),
            Setting(
                "Hash",
                Kind.STRING,
                "A ready crypt(3) hash ($y$..., $6$...) used as is, "
                "instead of Value and PlainText.",
                windows=False,
                secret=True,
                check=check_hash,
                example="$y$j9T$...$...",
            ),
        ),
    )


_COMMAND_FIELDS = (
    Setting(
        "Order",
        Kind.INTEGER,
        "Position of the command in the list; unique.",
        required=True,
        minimum=1,
        maximum=1000,
        example="1",
    ),
    Setting(
        "Path",
        Kind.STRING,
        "The command line, run by /bin/sh -c inside the image (in a "
        "sandbox whose root is the image when the target is offline). Its program (the "
        "first word after variable assignments) must be in the image, absolute or in the "
        "PATH, when sysprep runs: a warning instead when an earlier command mentions it.",
        required=True,
        check=check_command_line,
        example="/usr/local/sbin/enroll --site eu",
    ),
    Setting(
        "Description",
        Kind.STRING,
        "What the progress display shows instead of the Path.",
        example="Enroll in inventory",
    ),
    Setting(
        "WillReboot",
        Kind.ENUM,
        "Whether the command reboots the machine; the exit status "
        "is read as in Windows (OnRequest: 0 done, 1 done and reboot, 2 reboot and run "
        "again, anything else fatal).",
        choices=("Always", "Never", "OnRequest"),
        default="Never",
        example="OnRequest",
    ),
    Setting(
        "Credentials",
        Kind.GROUP,
        "Run the command as another account.",
        children=(
            Setting(
                "Username",
                Kind.STRING,
                "The account the command runs as.",
                check=check_account,
                example="builder",
            ),
            Setting(
                "Password",
                Kind.STRING,
                "Not needed on Linux: sysprep runs as root.",
                linux=False,
                secret=True,
            ),
            Setting("Domain", Kind.STRING, "Windows domains have no Linux meaning.", linux=False),
        ),
    ),
)

DEPLOYMENT = ComponentSpec(
    "Linux-Deployment",
    "Commands to run during a pass, and where the machine goes after a pass (Reseal).",
    ("Microsoft-Windows-Deployment",),
    (
        Setting(
            "RunSynchronous",
            Kind.LIST,
            "Commands run one after the other, in Order, "
            "during the pass; each may reboot the machine (WillReboot). In the generalize "
            "pass they run before the providers (so the generalization removes what they "
            "leave behind), their output goes to /var/lib/sysprep/panther, and the run "
            "cannot reboot half-way: WillReboot Always is refused there, and an OnRequest "
            "command that asks for a reboot fails the run.",
            passes=("generalize", "specialize", "auditUser"),
            item="RunSynchronousCommand",
            key="Order",
            children=_COMMAND_FIELDS,
            example='<RunSynchronousCommand wcm:action="add"><Order>1</Order>'
            "<Path>/usr/local/sbin/enroll</Path></RunSynchronousCommand>",
        ),
        Setting(
            "Reseal",
            Kind.GROUP,
            "Where the machine goes when the pass has run: OOBE (the "
            "first-boot welcome) or Audit (audit mode). In oobeSystem, Mode=Audit sends a "
            "generalized image to audit mode instead of the welcome.",
            passes=("auditSystem", "auditUser", "oobeSystem"),
            children=(
                Setting(
                    "Mode",
                    Kind.ENUM,
                    "Audit or OOBE.",
                    choices=("Audit", "OOBE"),
                    default="OOBE",
                    example="OOBE",
                    required=True,
                ),
                Setting(
                    "ForceShutdownNow",
                    Kind.BOOLEAN,
                    "Power off right after the pass instead of rebooting.",
                    default="false",
                ),
            ),
            example="<Mode>OOBE</Mode><ForceShutdownNow>true</ForceShutdownNow>",
        ),
    ),
)

PNP = ComponentSpec(
    "Linux-PnPSysprep",
    "Hardware-bound state (the Windows Plug and Play device installs).",
    ("Microsoft-Windows-PnPSysprep",),
    (
        Setting(
            "PersistAllDeviceInstalls",
            Kind.BOOLEAN,
            "true keeps hardware-bound state "
            "(persistent network names, MAC-matched network configuration, a host-only "
            "initramfs) at generalize, as /mode:vm does: for clones that run on the same "
            "hardware. false (the default) runs the hardware providers, which also make a "
            "host-only initramfs generic so that a clone boots on other hardware.",
            passes=("generalize",),
            default="false",
            example="false",
        ),
    ),
)

LICENSING = ComponentSpec(
    "Linux-Security-Licensing",
    "Registrations of the image (subscription-manager, SUSEConnect, Ubuntu Pro, rhn): each "
    "/generalize rearms (removes them) and counts a rearm, unless SkipRearm is 1. Linux has "
    "no activation clock: the count (`sysprep license`) never blocks a run unless RearmLimit "
    "sets a limit.",
    ("Microsoft-Windows-Security-SPP", "Microsoft-Windows-Security-Licensing-SPP"),
    (
        Setting(
            "SkipRearm",
            Kind.INTEGER,
            "1: this /generalize neither removes the "
            "registrations nor counts a rearm (to keep a registration in the clones); 0 "
            "rearms.",
            passes=("generalize",),
            minimum=0,
            maximum=1,
            default="0",
            example="1",
        ),
        Setting(
            "RearmLimit",
            Kind.INTEGER,
            "Refuse (exit 2, nothing changed) a /generalize "
            "that would rearm the image more than this many times in all; SkipRearm 1 "
            "still generalizes. Without it the count is only reported: Windows' limit of "
            "3 is a Windows licensing rule.",
            passes=("generalize",),
            minimum=1,
            maximum=1000000,
            example="3",
            windows=False,
        ),
        Setting(
            "LicenseType",
            Kind.ENUM,
            "Ignored, accepted from older answer files: Linux "
            "has no license types that limit rearms (see RearmLimit).",
            passes=("generalize",),
            choices=("Retail", "KMS", "MAK", "OEM"),
            linux=False,
            windows=False,
            hint="RearmLimit sets a limit, if one is wanted",
        ),
        Setting(
            "Activated",
            Kind.BOOLEAN,
            "Ignored, accepted from older answer files: Linux has no activation (see RearmLimit).",
            passes=("generalize",),
            linux=False,
            windows=False,
            hint="RearmLimit sets a limit, if one is wanted",
        ),
    ),
)

SHELL = ComponentSpec(
    "Linux-Shell-Setup",
    "The identity of the machine, its accounts and the first-boot welcome (OOBE).",
    ("Microsoft-Windows-Shell-Setup",),
    (
        Setting(
            "ComputerName",
            Kind.STRING,
            "The host name; * generates a random one, as in Windows.",
            passes=("specialize",),
            check=check_hostname,
            example="web-01",
            hint="use letters, digits and '-', or * for a generated name",
        ),
        Setting(
            "TimeZone",
            Kind.STRING,
            "An IANA time zone, or a Windows time-zone name "
            "(mapped to IANA as Unicode CLDR does); it must be installed in the image "
            "(/usr/share/zoneinfo).",
            passes=("specialize", "auditSystem", "oobeSystem"),
            check=check_time_zone,
            meaning=timezones.to_iana,
            example="Europe/Berlin",
        ),
        Setting(
            "UserAccounts",
            Kind.GROUP,
            "Local accounts to create, and root's password.",
            passes=("auditSystem", "oobeSystem"),
            example="<LocalAccounts>...</LocalAccounts>",
            children=(
                _password("AdministratorPassword", "root's password."),
                Setting(
                    "LocalAccounts",
                    Kind.LIST,
                    "Local accounts, keyed by Name.",
                    item="LocalAccount",
                    key="Name",
                    children=(
                        Setting(
                            "Name",
                            Kind.STRING,
                            "The account name.",
                            required=True,
                            check=check_account,
                            example="operator",
                        ),
                        Setting(
                            "Group",
                            Kind.STRING,
                            "Groups, separated by ; or ','. "
                            "Administrators means sudo; Users means users. Each "
                            "must exist in the image (or be made by an earlier "
                            "command).",
                            check=check_groups,
                            example="Administrators;adm",
                        ),
                        _password("Password", "The account's password."),
                        Setting(
                            "DisplayName",
                            Kind.STRING,
                            "The full name (GECOS); without ':', ',', '=' or control characters.",
                            check=check_full_name,
                            example="Operator",
                        ),
                        Setting(
                            "Description",
                            Kind.STRING,
                            "Windows' account comment has no separate Linux field.",
                            linux=False,
                        ),
                        Setting(
                            "AuthorizedKeys",
                            Kind.LIST,
                            "SSH public keys allowed to log in (~/.ssh/authorized_keys).",
                            item="AuthorizedKey",
                            item_kind=Kind.STRING,
                            check=check_key_line,
                            windows=False,
                            example="<AuthorizedKey "
                            'wcm:action="add" wcm:keyValue="1">ssh-ed25519 '
                            "AAAA... admin@example</AuthorizedKey>",
                        ),
                        Setting(
                            "Sudo",
                            Kind.BOOLEAN,
                            "Whether the account may use sudo (as membership of Administrators).",
                            default="false",
                            windows=False,
                        ),
                    ),
                ),
            ),
        ),
        Setting(
            "AutoLogon",
            Kind.GROUP,
            "Log an account in automatically on the console.",
            passes=("specialize", "auditSystem", "oobeSystem"),
            children=(
                Setting(
                    "Username", Kind.STRING, "The account.", required=True, check=check_account
                ),
                Setting("Enabled", Kind.BOOLEAN, "Whether automatic logon is on.", default="true"),
                Setting(
                    "LogonCount",
                    Kind.INTEGER,
                    "How many automatic logons before it turns itself off.",
                    minimum=1,
                    maximum=1000000,
                    default="1",
                ),
                _password("Password", "Not needed for automatic logon on Linux.", linux=False),
                Setting(
                    "Domain", Kind.STRING, "Windows domains have no Linux meaning.", linux=False
                ),
            ),
            example="<Username>operator</Username><Enabled>true</Enabled>",
        ),
        Setting(
            "OOBE",
            Kind.GROUP,
            "The first-boot welcome: which pages it shows.",
            passes=("oobeSystem",),
            children=(
                Setting(
                    "HideEULAPage", Kind.BOOLEAN, "Do not show the license terms.", default="false"
                ),
                Setting(
                    "EulaFile",
                    Kind.STRING,
                    "The license terms to show (a file in the image).",
                    check=check_absolute,
                    windows=False,
                    example="/usr/share/doc/oem/EULA.txt",
                ),
                Setting(
                    "SkipMachineOOBE",
                    Kind.BOOLEAN,
                    "Skip the welcome altogether (every answer must come from the answer file).",
                    default="false",
                ),
            ),
            example="<HideEULAPage>true</HideEULAPage>",
        ),
        Setting(
            "FirstLogonCommands",
            Kind.LIST,
            "Commands run once, in Order, as root, "
            "at the end of the oobeSystem pass, after the welcome; logins wait for them, "
            "so they have run before anyone first logs on.",
            passes=("oobeSystem",),
            item="SynchronousCommand",
            key="Order",
            children=(
                Setting(
                    "Order",
                    Kind.INTEGER,
                    "Position in the list; unique.",
                    required=True,
                    minimum=1,
                    maximum=1000,
                    example="1",
                ),
                Setting(
                    "CommandLine",
                    Kind.STRING,
                    "The command line (/bin/sh -c); "
                    "its program must be in the image, as for RunSynchronous.",
                    required=True,
                    check=check_command_line,
                ),
                Setting("Description", Kind.STRING, "What is shown instead of the command line."),
                Setting(
                    "RequiresUserInput",
                    Kind.BOOLEAN,
                    "Commands always run without a terminal on Linux.",
                    linux=False,
                ),
            ),
            example='<SynchronousCommand wcm:action="add"><Order>1</Order>'
            "<CommandLine>/usr/local/bin/welcome</CommandLine>"
            "</SynchronousCommand>",
        ),
    ),
)

INTERNATIONAL = ComponentSpec(
    "Linux-International-Core",
    "Language and keyboard (locale, console keymap). Each locale must be compiled in the image "
    "or generable there (listed in /usr/share/i18n/SUPPORTED or /etc/locale.gen, with "
    "locale-gen); the keyboard must be a console keymap of the image (kbd) or, on Debian, an "
    "XKB layout of it.",
    ("Microsoft-Windows-International-Core",),
    (
        Setting(
            "SystemLocale",
            Kind.STRING,
            "The system locale (LANG); Windows names such as de-DE are mapped to de_DE.UTF-8.",
            passes=("specialize", "oobeSystem"),
            check=check_locale,
            meaning=locales.to_linux_locale,
            example="de-DE",
        ),
        Setting(
            "UILanguage",
            Kind.STRING,
            "The language of messages (LC_MESSAGES and LANGUAGE).",
            passes=("specialize", "oobeSystem"),
            check=check_locale,
            meaning=locales.to_linux_locale,
            example="en-US",
        ),
        Setting(
            "UserLocale",
            Kind.STRING,
            "Formats of dates, numbers and money (LC_TIME, LC_NUMERIC, LC_MONETARY...).",
            passes=("specialize", "oobeSystem"),
            check=check_locale,
            meaning=locales.to_linux_locale,
            example="de-DE",
        ),
        Setting(
            "InputLocale",
            Kind.STRING,
            "The keyboard: a Windows input locale "
            "(0407:00000407), a language (de-DE) or a console keymap (de-latin1); the "
            "first of a ;-separated list is used.",
            passes=("specialize", "oobeSystem"),
            check=check_keymap,
            meaning=locales.to_keymap,
            example="0407:00000407",
        ),
        Setting(
            "Keymap",
            Kind.STRING,
            "The console keymap by its Linux name; wins over InputLocale.",
            passes=("specialize", "oobeSystem"),
            check=check_keymap,
            meaning=locales.to_keymap,
            windows=False,
            example="de-latin1",
        ),
    ),
)

COMPONENTS: tuple[ComponentSpec, ...] = (DEPLOYMENT, PNP, LICENSING, SHELL, INTERNATIONAL)
BY_NAME: dict[str, ComponentSpec] = {}
for _c in COMPONENTS:
    BY_NAME[_c.name] = _c
    for _a in _c.aliases:
        BY_NAME[_a] = _c
_FOLDED = {k.casefold(): v for k, v in BY_NAME.items()}


def component(name: str) -> ComponentSpec | None:
    """The component of a name, Linux or Windows, in any case (Windows itself writes both
    Microsoft-Windows-PnpSysprep and Microsoft-Windows-PnPSysprep)."""
    return _FOLDED.get(name.casefold())


def is_windows_component(name: str, attrs: dict[str, str]) -> bool:
    """A component of Windows (not a misspelt Linux one): its name or its signing key says so."""
    return name.startswith("Microsoft-") or "publicKeyToken" in attrs


def lookup(spec: ComponentSpec, path: tuple[str, ...]) -> Setting | None:
    """The setting at a path of element names (list items included), None when unknown."""
    if not path:
        return None
    cur = spec.setting(path[0])
    for name in path[1:]:
        if cur is None:
            return None
        cur = item_of(cur) if cur.kind is Kind.LIST and name == cur.item else cur.field(name)
    return cur


def item_of(lst: Setting) -> Setting:
    """A list item as a setting of its own: a group of the list's fields, or a value."""
    if lst.item_kind is not None:
        return Setting(lst.item, lst.item_kind, lst.help, windows=lst.windows, check=lst.check)
    return Setting(lst.item, Kind.GROUP, lst.help, children=lst.children, windows=lst.windows)


def list_item(component_name: str, path: tuple[str, ...]) -> str | None:
    """The item element name when `path` names a list setting (for YAML's short list form)."""
    spec = component(component_name)
    if spec is None:
        return None
    s = lookup(spec, path)
    return s.item if s is not None and s.kind is Kind.LIST else None


def canonical_bool(text: str) -> bool:
    """Boolean values as Windows writes them (true/false, any case); ValueError otherwise."""
    low = text.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ValueError(text)


def canonical_choice(setting: Setting, text: str) -> str:
    for c in setting.choices:
        if c.lower() == text.strip().lower():
            return c
    raise ValueError(text)
