"""Durations and timestamps as the policy file and the APIs spell them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(w|d|h|m|s|ms))+\s*$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s|ms)")
_UNIT = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}

Clock = Callable[[], float]
"""Returns the current time in epoch seconds; injectable so simulations run on their own clock."""


def system_clock() -> float:
    return time.time()


class ManualClock:
    """A clock moved by hand — set ``now`` or call ``advance`` — for the demo, bench, replay
    and tests: a run on it decides the same way every time."""

    __slots__ = ("now",)

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def parse_duration(text: str | float | int) -> float:
    """``'48h'``, ``'7d'``, ``'1h30m'``, ``'90s'`` or a number of seconds → seconds."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text!r}")
        return float(text)
    if not isinstance(text, str) or not _DURATION.match(text):
        raise ValueError(f"not a duration: {text!r} (write e.g. 30m, 48h, 7d, 2w)")
    return sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))


def format_duration(seconds: float) -> str:
    """Seconds as people write them in a policy: 30m, 24h, 48h, 7d."""
    if seconds >= 3 * 86400 and seconds % 86400 == 0:
        return f"{int(seconds // 86400)}d"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


MIN_EPOCH, MAX_EPOCH = 0.0, 253402300799.0  # 1970-01-01 … 9999-12-31T23:59:59Z


def to_epoch(value: datetime | str | float | int) -> float:
    """A timestamp in any accepted spelling → epoch seconds (naive datetimes are UTC)."""
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        if not MIN_EPOCH <= value <= MAX_EPOCH:
            raise ValueError(f"timestamp {value!r} is outside the years 1970–9999")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"not a timestamp: {value!r} (write RFC 3339, e.g. 2026-11-23T10:00:00Z)"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(f"not a timestamp: {value!r} (write RFC 3339, e.g. 2026-11-23T10:00:00Z)")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return to_datetime(epoch).isoformat().replace("+00:00", "Z")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO = timedelta(0)
