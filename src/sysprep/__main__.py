"""Entry point: `sysprep ...` and `python -m sysprep ...`."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Sequence

from sysprep.errors import ExitCode, LocatedError, SysprepError, UsageError, reason
from sysprep.log import printable

_LOCATION = re.compile(r"^(.*):(\d+):(\d+): (.*)$", re.S)


def wants_json(argv: Sequence[str]) -> bool:
    """--json asked for, read from the raw arguments: an argparse error happens before any
    request exists, and still gets its JSON document."""
    args = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in args


def error_document(
    message: str, code: ExitCode, kind: str, located: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON document of a failed command (schema: error)."""
    from sysprep import schemas

    error: dict[str, Any] = {"message": message, "exit_code": int(code), "kind": kind}
    if located:
        error["locations"] = [
            {
                "file": m.group(1),
                "line": int(m.group(2)),
                "column": int(m.group(3)),
                "message": m.group(4),
            }
            for m in (_LOCATION.match(line) for line in located)
            if m
        ]
    return {"schema_version": schemas.VERSION, "error": error}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = wants_json(args)

    def fail(message: str, code: ExitCode, kind: str, located: Sequence[str] = ()) -> int:
        try:  # after SIGHUP the terminal may be gone: the exit status still says it
            print(
                "\n".join(printable(line) for line in message.split("\n")),
                file=sys.stderr,
                flush=True,
            )
            if as_json:
                # on one line: also whole among the JSON lines of `state --follow --json`
                print(
                    json.dumps(
                        error_document(message.removeprefix("sysprep: "), code, kind, located)
                    ),
                    flush=True,
                )
        except (OSError, ValueError):
            pass
        return int(code)

    try:
        from sysprep.commands import dispatch

        return int(dispatch(args))
    except LocatedError as e:
        return fail(str(e), e.exit_code, "answer-file", e.lines)
    except SysprepError as e:
        return fail(f"sysprep: {e}", e.exit_code, "usage" if isinstance(e, UsageError) else "run")
    except KeyboardInterrupt as e:  # Ctrl+C, SIGTERM, SIGHUP
        return fail(
            f"sysprep: {reason(e)}; the image state says what was finished",
            ExitCode.FAILURE,
            "interrupted",
        )
    except BrokenPipeError:
        return int(ExitCode.OK)
    except OSError as e:  # the system refused something sysprep did not foresee
        return fail(f"sysprep: error: {reason(e)}", ExitCode.FAILURE, "run")
    except Exception as e:  # a bug: one line, and the details on request
        if os.environ.get("SYSPREP_DEBUG"):
            raise
        return fail(
            f"sysprep: internal error: {type(e).__name__}: {e} (run with "
            "SYSPREP_DEBUG=1 for the details)",
            ExitCode.FAILURE,
            "internal",
        )
    finally:
        from sysprep.run import trace_to

        trace_to(None)  # -x lasts one command (the tests run many in one process)


if __name__ == "__main__":
    sys.exit(main())
