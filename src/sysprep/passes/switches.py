"""The kernel command line's sysprep.* switches (sysprep.audit, sysprep.console=...): read by
the boot engine and by the UIs, so they live below both."""

from __future__ import annotations

import os

CMDLINE_ENV = "SYSPREP_KERNEL_CMDLINE"  # a file read instead of /proc/cmdline (tests)


def kernel_cmdline(path: str | None = None) -> dict[str, str]:
    """The kernel command line's sysprep.* switches: {"audit": "", "console": "ttyS0", ...}."""
    path = path or os.environ.get(CMDLINE_ENV) or "/proc/cmdline"
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            words = f.read().split()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for w in words:
        if w.startswith("sysprep."):
            key, _, value = w[len("sysprep.") :].partition("=")
            out[key] = value
    return out


def boot_switches(live: bool) -> dict[str, str]:
    """The sysprep.* switches that apply to a target: the running kernel's belong to the live
    system only (an offline root is not the machine that booted)."""
    if live or os.environ.get(CMDLINE_ENV):
        return kernel_cmdline()
    return {}
