"""Languages and keyboards: Windows locale names and input locales mapped to Linux ones.

Windows writes `en-US` where Linux writes `en_US.UTF-8`; both are accepted. InputLocale is
Windows' `0409:00000409` (language:keyboard layout), a language name (`de-DE`) or a Linux
console keymap name (`de-latin1`); the first of a `;`-separated list is the keyboard.
"""

from __future__ import annotations

import re

# BCP 47 (Windows) or POSIX (Linux) locale names.
_WINDOWS_LOCALE = re.compile(r"^([a-zA-Z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|\d{3}))?$")
_POSIX_LOCALE = re.compile(r"^([a-z]{2,3})(?:_([A-Z]{2}))?(?:\.([A-Za-z0-9-]+))?(?:@([a-z]+))?$")
_SCRIPTS = {"latn": "latin", "cyrl": "cyrillic"}
_DEFAULT_SCRIPT = {"sr": "cyrl", "uz": "latn", "bs": "latn", "az": "latn"}


def to_linux_locale(value: str) -> str:
    """`en-US` -> `en_US.UTF-8`; Linux names are kept as given. Raises ValueError."""
    text = value.strip()
    if text in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        return text
    m = _POSIX_LOCALE.match(text)
    if m and ("_" in text or "." in text or "@" in text):
        return (
            text
            if m.group(3)
            else text.replace("@", ".UTF-8@", 1)
            if "@" in text
            else text + ".UTF-8"
        )
    m = _WINDOWS_LOCALE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a locale name (en-US or en_US.UTF-8)")
    lang, script, region = m.group(1).lower(), (m.group(2) or "").lower(), (m.group(3) or "")
    name = lang + (f"_{region.upper()}" if region and not region.isdigit() else "")
    name += ".UTF-8"
    if script and script != _DEFAULT_SCRIPT.get(lang, "") and script in _SCRIPTS:
        name += "@" + _SCRIPTS[script]
    return name


# Windows keyboard layout identifiers (KLID) and languages -> Linux console keymaps.
KLID_TO_KEYMAP: dict[str, str] = {
    "00000409": "us",
    "00020409": "us-intl",
    "00010409": "dvorak",
    "00000809": "uk",
    "00001809": "ie",
    "00001009": "cf",
    "00011009": "ca",
    "00000407": "de",
    "00000807": "sg",
    "0000100c": "fr_CH",
    "0000040c": "fr",
    "0000080c": "be-latin1",
    "00000813": "be-latin1",
    "00000413": "nl",
    "00000410": "it",
    "0000040a": "es",
    "0000080a": "la-latin1",
    "00000816": "pt-latin1",
    "00000416": "br-abnt2",
    "00010416": "br-abnt2",
    "00000406": "dk",
    "00000414": "no",
    "0000041d": "se-latin1",
    "0000040b": "fi",
    "0000040f": "is-latin1",
    "00000405": "cz",
    "00000415": "pl2",
    "00010415": "pl",
    "0000041b": "sk-qwertz",
    "0000040e": "hu",
    "00000418": "ro",
    "00000424": "slovene",
    "0000041a": "croat",
    "00000419": "ru",
    "00000422": "ua",
    "00000423": "by",
    "00000402": "bg_bds-utf8",
    "00000408": "gr",
    "0000041f": "trq",
    "0001041f": "trf",
    "0000040d": "il",
    "00000401": "us",
    "00000411": "jp106",
    "00000412": "us",
    "00000804": "us",
    "00000404": "us",
    "00000425": "et",
    "00000426": "lv",
    "00010427": "lt",
    "00000427": "lt",
}
LANGUAGE_TO_KEYMAP: dict[str, str] = {
    "en-us": "us",
    "en-gb": "uk",
    "en-ie": "ie",
    "en-ca": "us",
    "fr-ca": "cf",
    "de-de": "de",
    "de-at": "de",
    "de-ch": "sg",
    "fr-ch": "fr_CH",
    "fr-fr": "fr",
    "fr-be": "be-latin1",
    "nl-be": "be-latin1",
    "nl-nl": "us",
    "it-it": "it",
    "es-es": "es",
    "es-mx": "la-latin1",
    "pt-pt": "pt-latin1",
    "pt-br": "br-abnt2",
    "da-dk": "dk",
    "nb-no": "no",
    "nn-no": "no",
    "sv-se": "se-latin1",
    "fi-fi": "fi",
    "is-is": "is-latin1",
    "cs-cz": "cz",
    "pl-pl": "pl2",
    "sk-sk": "sk-qwertz",
    "hu-hu": "hu",
    "ro-ro": "ro",
    "sl-si": "slovene",
    "hr-hr": "croat",
    "ru-ru": "ru",
    "uk-ua": "ua",
    "be-by": "by",
    "bg-bg": "bg_bds-utf8",
    "el-gr": "gr",
    "tr-tr": "trq",
    "he-il": "il",
    "ja-jp": "jp106",
    "et-ee": "et",
    "lv-lv": "lv",
    "lt-lt": "lt",
}
_INPUT = re.compile(r"^(?:([0-9A-Fa-f]{4}):)?([0-9A-Fa-f]{8})(?:\{.*\}\{.*\})?$")
_KEYMAP = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")


def to_keymap(value: str) -> str:
    """The Linux console keymap for InputLocale/Keymap. Raises ValueError."""
    first = value.split(";")[0].strip()
    if not first:
        raise ValueError("empty keyboard")
    m = _INPUT.match(first)
    if m:
        klid = m.group(2).lower()
        if klid in KLID_TO_KEYMAP:
            return KLID_TO_KEYMAP[klid]
        raise ValueError(f"keyboard layout {first} has no Linux keymap here")
    if first.lower() in LANGUAGE_TO_KEYMAP:
        return LANGUAGE_TO_KEYMAP[first.lower()]
    if _WINDOWS_LOCALE.match(first) and "-" in first:
        raise ValueError(f"no Linux keymap is known for {first}")
    if not _KEYMAP.match(first):
        raise ValueError(f"{first!r} is not a keymap name")
    return first


# Console keymaps whose XKB layout is not the part of their name before a '-'.
CONSOLE_TO_XKB: dict[str, str] = {
    "uk": "gb",
    "la-latin1": "latam",
    "bg_bds-utf8": "bg",
    "pl2": "pl",
    "slovene": "si",
    "croat": "hr",
    "trq": "tr",
    "trf": "tr",
    "jp106": "jp",
    "cf": "ca",
    "sg": "ch",
    "fr_CH": "ch",
    "et": "ee",
    "dvorak": "us",
}


def xkb_layout(keymap: str) -> str:
    """The XKB layout Debian's /etc/default/keyboard gets for a console keymap (de-latin1 ->
    de, uk -> gb)."""
    return CONSOLE_TO_XKB.get(keymap, keymap.split("-")[0])
