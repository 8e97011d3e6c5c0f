"""Run the boot engine's passes stage on a fixture root in this terminal (what `sysprep boot
--stage passes --root DIR` does), hashing with the host's libcrypt when the runtime's own
hasher is not there."""

from __future__ import annotations

import sys

from sysprep.__main__ import main
from sysprep.ui import welcome

try:
    import sysprep.answer.passwords  # noqa: F401
except ImportError:
    from tests.ui.conftest import crypt_hash

    welcome.default_hasher = lambda fs: crypt_hash  # type: ignore[assignment]

sys.exit(main(["boot", "--stage", "passes", "--root", sys.argv[1]]))
