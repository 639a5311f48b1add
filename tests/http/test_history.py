"""The stream's history: a stream that resumes after any event it got misses nothing and
repeats nothing, as long as the server still keeps what it missed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from accord.http._history import History
from accord.store.bus import Bus


@given(published=st.integers(0, 40), seen=st.integers(0, 40), size=st.integers(1, 50))
def test_resuming_after_any_event_gets_exactly_the_kept_ones_after_it(
        published: int, seen: int, size: int) -> None:
    bus = Bus()
    history = History(bus, size=size)
    seen = min(seen, published)
    bus.publish([{"kind": "decision", "n": i} for i in range(1, published + 1)])
    cursor = history.cursor(history.event_id(seen) if seen else None)
    got = [m["n"] for _, m in history.after(cursor, timeout=0)]
    if seen:
        assert got == list(range(max(seen, published - size) + 1, published + 1))
    else:
        assert got == []  # no Last-Event-ID: the stream starts from now


@given(other=st.text(max_size=30))
def test_an_id_from_another_process_starts_the_stream_from_now(other: str) -> None:
    bus = Bus()
    history = History(bus)
    bus.publish([{"kind": "decision"}] * 3)
    if other.strip().rpartition("-")[0] == history.epoch:
        return
    assert history.after(history.cursor(other), timeout=0) == []
