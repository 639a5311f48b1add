"""Real headless Chromium, driven from the tests without any browser-automation package.

``dump_dom`` and ``screenshot`` run the command-line modes (the DOM after scripts ran, a PNG).
``Tab`` keeps a browser open over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
NUL-separated JSON on file descriptors 3 and 4), so a test can watch a page that keeps a
connection open, which the one-shot modes cannot: they stop at the load event, or wait forever
for a stream to end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--hide-scrollbars"]


def chromium() -> str:
    """The browser's path, or a loud skip (a failure under CI=true)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true: the browser tests must run")
        pytest.skip(message)
    return found


def _run(args: list[str], timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="accord-chromium-") as profile:
        done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(url: str) -> str:
    """The page's DOM once it loaded and its scripts ran."""
    return _run(["--dump-dom", url])


def screenshot(url: str, path: Path, *, width: int = 1280, height: int = 900) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--screenshot={path}", f"--window-size={width},{height}", url])
    assert path.stat().st_size > 0, f"chromium wrote an empty screenshot to {path}"
    return path


LAUNCH = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
          "os.execv(sys.argv[3], sys.argv[3:])")


class Tab:
    """One page in a browser kept open over the DevTools protocol on a pipe."""

    def __init__(self, url: str) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # above 4, so that putting one end on 3 or 4 cannot overwrite the other
        for name in ("to_browser_r", "from_browser_w"):
            low = locals()[name]
            high = fcntl.fcntl(low, fcntl.F_DUPFD, 10)
            os.close(low)
            if name == "to_browser_r":
                to_browser_r = high
            else:
                from_browser_w = high
        self._profile = tempfile.TemporaryDirectory(prefix="accord-chromium-")
        # a tiny Python launcher puts the pipe ends on 3 and 4, where the browser expects them
        self._proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(to_browser_r), str(from_browser_w), chromium(),
             *FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe",
             "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        target = self._call("Target.createTarget", {"url": url})["targetId"]
        self._session = self._call("Target.attachToTarget",
                                   {"targetId": target, "flatten": True})["sessionId"]

    def _call(self, method: str, params: dict[str, Any], session: str | None = None,
              timeout: float = 30.0) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next:
                    if "error" in reply:
                        pytest.fail(f"DevTools {method} failed: {reply['error']}")
                    return reply.get("result", {})  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                pytest.fail(f"no DevTools answer to {method} within {timeout} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                pytest.fail(f"chromium closed the DevTools pipe during {method}")
            self._buffer += chunk

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self._call("Runtime.evaluate", {"expression": expression,
                                                 "returnByValue": True}, self._session)
        return result.get("result", {}).get("value")

    def resize(self, width: int, height: int = 900) -> None:
        """Lay the page out as on a screen ``width`` CSS pixels wide (a phone: 420)."""
        self._call("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                   self._session)

    def navigate(self, url: str) -> None:
        """Open ``url`` in this tab and wait until it has loaded."""
        self._call("Page.navigate", {"url": url}, self._session)
        self.wait_for(f"location.href === {json.dumps(url)} && "
                      "document.readyState === 'complete'", what=f"{url} to load")

    def wait_for(self, expression: str, *, timeout: float = 15.0, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy, or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the browser may already be gone
            os.write(self._to_browser, json.dumps(
                {"id": self._next + 1, "method": "Browser.close", "params": {}}).encode() + b"\0")
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def __enter__(self) -> Tab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
