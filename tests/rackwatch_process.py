"""A ``rackwatch`` command run as a real subprocess, its output lines kept with their arrival
times (the ``procs`` fixture in conftest.py kills whatever a test left running)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

RACKWATCH = str(Path(sys.executable).with_name("rackwatch"))


class Proc:
    """A rackwatch subprocess whose output lines (stderr and stdout) are kept with the monotonic
    time they arrived."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
    ) -> None:
        self.args = args
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [RACKWATCH, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            preexec_fn=preexec_fn,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def seen(self, text: str) -> list[float]:
        return [at for at, line in list(self.lines) if text in line]

    def wait_line(self, text: str, count: int = 1, timeout: float = 20.0) -> float:
        """When the ``count``-th line holding ``text`` arrived (waits for it)."""
        deadline = time.monotonic() + timeout
        while len(self.seen(text)) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{self.args[0]}: no {count}x {text!r} on stderr; got {self.stderr}")
            time.sleep(0.02)
        return self.seen(text)[count - 1]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.exit_code()

    def exit_code(self, timeout: float = 20.0) -> int:
        """Its exit status once it ends (waits), with every output line read."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)
