"""Rows outside every customer's chain (webhook deliveries, idempotency claims) are written
without the fleet lock; replicas sharing one PostgreSQL database still send each delivery once
and run each keyed write once, because the statements themselves arbitrate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from accord.store import Store, open_store
from accord.store import _requests as requests
from accord.store import _webhooks as webhooks
from tests.conftest import fresh_pg_schema, wait_until

pytestmark = [pytest.mark.postgres]


def _waiting_on_a_lock(store: Store) -> bool:
    with store.read() as tx:
        row = tx.one("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND datname = current_database()")
    return bool(row and row["n"])


def _race(url: str, first: Callable[[Any], Any], second: Callable[[Any], Any]
          ) -> tuple[Any, Any]:
    """``first`` in one replica's open transaction; ``second`` in another replica's, started
    while the first is open and left waiting on its locks until the first commits."""
    a, b, watcher = open_store(url), open_store(url), open_store(url)
    try:
        got: dict[str, Any] = {}
        with a.write() as tx:
            got["a"] = first(tx)

            def other() -> None:
                with b.write() as tx2:
                    got["b"] = second(tx2)

            thread = threading.Thread(target=other)
            thread.start()
            wait_until(lambda: _waiting_on_a_lock(watcher), what="the second replica to wait")
        thread.join(timeout=30)
        return got["a"], got["b"]
    finally:
        for s in (a, b, watcher):
            s.close()


def test_two_replicas_leasing_due_deliveries_at_once_lease_each_one_once() -> None:
    url = fresh_pg_schema()
    seed = open_store(url)
    try:
        with seed.write() as tx:
            webhooks.add(tx, "wh_1", "admin:ops", "http://127.0.0.1:9/", "s", '["*"]', 1.0)
            webhooks.enqueue(tx, [(f"dl_{i}", "wh_1", "{}", 1.0) for i in range(3)])
    finally:
        seed.close()

    def lease(tx: Any) -> list[str]:
        return sorted(d["id"] for d in webhooks.lease_due(tx, 10.0, 20.0))

    first, second = _race(url, lease, lease)
    assert first == ["dl_0", "dl_1", "dl_2"]
    assert second == []  # it read them as due, then found them leased


def test_two_replicas_claiming_one_idempotency_key_at_once_give_it_to_one() -> None:
    def claim(tx: Any) -> Any:
        return requests.claim(tx, "agent:upsell", "k1", "digest", 100.0, 60.0)

    first, second = _race(fresh_pg_schema(), claim, claim)
    assert first is None  # the first claimant holds it
    assert second is not None and second["request_hash"] == "digest"
    assert second["status"] == requests.PENDING
