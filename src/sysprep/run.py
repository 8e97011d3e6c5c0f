"""Every subprocess goes through run(): an argv list, a clean environment, stdin closed."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from typing import IO, Callable, Mapping, Sequence

from sysprep.errors import RunError

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class _Trace:
    """Where `-x` shows each command before it runs (virt-sysprep -x): off unless asked."""

    stream: IO[str] | None = None
    shown: Callable[[str], str] = str  # what the line becomes on the screen (secrets hidden)


def trace_to(stream: IO[str] | None, shown: Callable[[str], str] = str) -> None:
    """Show every command run from now on, as `+ argv` lines on `stream` (None: stop), each
    line passed through `shown` (the run log's redaction and escaping)."""
    _Trace.stream = stream
    _Trace.shown = shown


def _trace(argv: Sequence[str]) -> None:
    if _Trace.stream is not None:
        try:
            print(_Trace.shown("+ " + shlex.join(argv)), file=_Trace.stream, flush=True)
        except (OSError, ValueError):
            pass


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": CLEAN_PATH, "LC_ALL": "C.UTF-8", "HOME": "/root"}
    if "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    output_fd: int | None = None,
) -> Completed:
    """Run a command and capture its output; a failure raises RunError naming the command.

    With `output_fd`, stdout and stderr stream into that descriptor instead (a log file a
    reader can follow while the command runs); Completed then carries no output.
    """
    streams: dict[str, object] = (
        {"stdout": output_fd, "stderr": subprocess.STDOUT}
        if output_fd is not None
        else {"capture_output": True}
    )
    _trace(argv)
    try:
        proc = subprocess.run(
            list(argv),
            env=clean_env(env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            **streams,  # type: ignore[call-overload]
            text=True,
            errors="replace",
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise RunError(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise RunError(f"{shlex.join(argv)}: timed out after {timeout} s") from None
    done = Completed(tuple(argv), proc.returncode, proc.stdout or "", proc.stderr or "")
    if check and proc.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or [""]
        raise RunError(f"{shlex.join(argv)} failed with exit status {proc.returncode}: {last[0]}")
    return done


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.PIPE,
    stdout: int | None = subprocess.PIPE,
    stderr: int | None = None,
    new_session: bool = True,
) -> subprocess.Popen[bytes]:
    """Start a long-lived helper (same clean environment as run()); the caller owns it.

    In its own session by default, so that Ctrl+C in the terminal reaches only sysprep,
    which then stops its helpers in order.
    """
    _trace(argv)
    try:
        return subprocess.Popen(
            list(argv),
            env=clean_env(env),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            cwd="/",
            start_new_session=new_session,
        )
    except FileNotFoundError:
        raise RunError(f"{argv[0]}: command not found") from None
