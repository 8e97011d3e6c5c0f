"""Entry point: `sysprep ...` and `python -m sysprep ...`."""

from __future__ import annotations

import sys
from typing import Sequence

from sysprep.errors import ExitCode, LocatedError, SysprepError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from sysprep.commands import dispatch

        return int(dispatch(args))
    except SysprepError as e:
        print(e if isinstance(e, LocatedError) else f"sysprep: {e}", file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt:
        print("sysprep: interrupted; the image state says what was finished", file=sys.stderr)
        return int(ExitCode.FAILURE)
    except BrokenPipeError:
        return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
