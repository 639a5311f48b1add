"""Background passes: a daemon thread that calls ``run_once`` until stopped, at once again after
a pass that did work, after ``interval`` seconds after an idle one. The delivery dispatcher and
the scheduler of kept proposals both run this way; their rows are durable, so a pass that
raises is simply retried by the next."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class Passes:
    def __init__(self, run_once: Callable[[], int], *, name: str, interval: float) -> None:
        """``run_once`` returns how much it did (0: idle)."""
        self._run_once, self.name, self.interval = run_once, name, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = 0
            with contextlib.suppress(Exception):  # the next pass retries
                busy = self._run_once()
            if not busy:
                self._stop.wait(self.interval)
