"""A real terminal for the tests: tmux at 80x25, keys typed with send-keys, the screen read
with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid


def available() -> bool:
    return shutil.which("tmux") is not None


class Tmux:
    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        width: int = 80,
        height: int = 25,
        term: str = "xterm-256color",
    ) -> None:
        self.name = f"sysprep-test-{uuid.uuid4().hex[:8]}"
        self.socket = f"/tmp/{self.name}.sock"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        shell = (
            f"cd {shlex.quote(os.getcwd())} && env {exports} TERM={term} {shlex.join(command)}; "
            "echo EXIT=$?; sleep 600"
        )
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=True
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)
        time.sleep(0.15)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear on the screen:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        if os.path.exists(self.socket):
            os.remove(self.socket)

    def __enter__(self) -> Tmux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
