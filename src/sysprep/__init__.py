"""sysprep: System Preparation for Linux."""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"


def _use_vendored() -> None:
    """The Debian package ships the libraries Debian 12 lacks or has too old (debian/vendor.txt)
    in PREFIX/share/sysprep/vendor; they go first on the path, ahead of the system's older
    copies. Only for sysprep installed in the system's dist-packages: never in a venv, nor in
    the runtime bundle (which carries its own)."""
    vendor = os.path.join(sys.prefix, "share", "sysprep", "vendor")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if (
        os.path.basename(here) == "dist-packages"
        and os.path.isdir(vendor)
        and vendor not in sys.path
    ):
        sys.path.insert(0, vendor)


_use_vendored()
