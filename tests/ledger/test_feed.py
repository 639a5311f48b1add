"""The ledger feed's cursor never skips a committed entry, however commits interleave."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from accord import Accord, InvalidInput
from accord.policy import Policy
from tests.conftest import Clock, fresh_pg_schema, wait_until
from tests.http.live_server import start

WRITES = 300
"""Entries each writer thread records; four threads over two replicas."""


def follow(consumer: Accord, cursor: str | None, seen: Counter[int]) -> str | None:
    page = consumer.ledger_feed(cursor, limit=50)
    seen.update(e.seq for e in page.entries)
    return page.cursor


@pytest.mark.postgres
def test_a_consumer_resuming_from_its_cursor_sees_every_entry_once_under_two_replicas(
        clock: Clock, policy: Policy) -> None:
    url = fresh_pg_schema()
    replicas = [Accord.open(url, policy=policy, clock=clock) for _ in range(2)]
    consumer = Accord.open(url, policy=policy, clock=clock)
    try:
        def write(replica: Accord, name: str) -> None:
            for n in range(WRITES):
                replica.record_event(f"{name}-{n % 5}", "login", data={"n": n})

        writers = [threading.Thread(target=write, args=(r, f"w{i}{j}"))
                   for i, r in enumerate(replicas) for j in range(2)]
        for w in writers:
            w.start()
        seen: Counter[int] = Counter()
        cursor: str | None = None
        while any(w.is_alive() for w in writers):
            cursor = follow(consumer, cursor, seen)
        for w in writers:
            w.join()
        total = {e.seq for e in consumer.iter_ledger()}
        assert len(total) == 4 * WRITES

        def caught_up() -> bool:
            nonlocal cursor
            cursor = follow(consumer, cursor, seen)
            return set(seen) >= total

        wait_until(caught_up, what="the feed to serve every committed entry")
        assert set(seen) == total, f"{len(total - set(seen))} committed entries were skipped"
        assert [s for s, n in seen.items() if n > 1] == []
    finally:
        for a in (*replicas, consumer):
            a.close()


def test_the_feed_pages_through_the_ledger_in_order_and_resumes_at_its_cursor(
        any_acc: Accord) -> None:
    for n in range(7):
        any_acc.record_event(f"c{n % 3}", "login", data={"n": n})
    served: list[int] = []
    cursor: str | None = None

    def page() -> bool:
        nonlocal cursor
        got = any_acc.ledger_feed(cursor, limit=4)
        assert len(got.entries) <= 4
        served.extend(e.seq for e in got.entries)
        cursor = got.cursor
        return len(served) >= 7

    # PostgreSQL holds back entries while any older transaction on the server is open.
    wait_until(page, what="the feed to serve the seven entries")
    assert served == [e.seq for e in any_acc.ledger()]
    assert any_acc.ledger_feed(cursor).entries == []
    assert any_acc.ledger_feed(cursor).cursor == cursor


@pytest.mark.parametrize("bad", ["12", "a.b", "-1.2", "1.2.3", "9" * 30 + ".1"])
def test_a_malformed_cursor_is_refused_naming_the_field(any_acc: Accord, bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        any_acc.ledger_feed(bad)
    assert err.value.where == "after" and err.value.hint


def read_feed_over_http(http: httpx.Client, entries: int) -> list[int]:
    served: list[int] = []
    cursor: list[str] = []

    def page() -> bool:
        params = {"limit": 2, **({"after": cursor[-1]} if cursor else {})}
        got = http.get("/v1/ledger/feed", params=params).json()
        served.extend(e["seq"] for e in got["entries"])
        cursor.append(got["cursor"])
        return len(served) >= entries

    wait_until(page, what="the feed to serve every entry")
    return served


def test_the_feed_over_http_resumes_from_its_cursor_and_refuses_a_bad_one(
        store_url: str, policy: Policy) -> None:
    for server in start(store_url, policy):
        for n in range(5):
            server.service.record_event(f"c{n % 2}", "login", data={"n": n})
        expected = [e.seq for e in server.service.ledger()]
        with server.http("reviewer") as http:
            served = read_feed_over_http(http, len(expected))
            bad = http.get("/v1/ledger/feed", params={"after": "nope"})
        assert served == expected
        assert bad.status_code == 422 and bad.json()["where"] == "after", bad.text
