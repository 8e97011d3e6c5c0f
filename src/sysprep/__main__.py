"""Entry point: `sysprep ...` and `python -m sysprep ...`."""

from __future__ import annotations

import os
import sys
from typing import Sequence

from sysprep.errors import ExitCode, LocatedError, SysprepError, reason
from sysprep.log import printable


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from sysprep.commands import dispatch

        return int(dispatch(args))
    except SysprepError as e:
        text = str(e) if isinstance(e, LocatedError) else f"sysprep: {e}"
        print("\n".join(printable(line) for line in text.split("\n")), file=sys.stderr)
        return int(e.exit_code)
    except KeyboardInterrupt as e:  # Ctrl+C, SIGTERM, SIGHUP
        try:  # after SIGHUP the terminal may be gone
            print(f"sysprep: {reason(e)}; the image state says what was finished",
                  file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        return int(ExitCode.FAILURE)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except OSError as e:  # the system refused something sysprep did not foresee
        print(f"sysprep: error: {reason(e)}", file=sys.stderr)
        return int(ExitCode.FAILURE)
    except Exception as e:  # a bug: one line, and the details on request
        if os.environ.get("SYSPREP_DEBUG"):
            raise
        print(f"sysprep: internal error: {type(e).__name__}: {e} (run with SYSPREP_DEBUG=1 for "
              "the details)", file=sys.stderr)
        return int(ExitCode.FAILURE)


if __name__ == "__main__":
    sys.exit(main())
