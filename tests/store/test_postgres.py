"""What only the PostgreSQL store promises: it fails closed, serializes replicas, migrates once."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from accord import Accord
from accord._errors import StoreUnavailable
from accord.policy import Policy
from accord.store import _rows
from accord.store.postgres import PostgresStore
from tests.conftest import wait_until

from .test_conformance import propose_together

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(store_url: str) -> str:
    """A fresh PostgreSQL schema (``store_url`` narrowed to its PostgreSQL case)."""
    return store_url


on_pg = pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
CONNECTIONS = 3


def with_option(url: str, option: str) -> str:
    """``url`` with one more server option (``-c name=value``) in its ``options``."""
    head, _, tail = url.partition("options=")
    return f"{head}options=-c{option.replace('=', '%3D')}%20{tail}"


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


class Relay:
    """A real loopback TCP relay in front of PostgreSQL that a test can cut, as a network
    partition or a crashed server would."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.upstream = (host, port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
                upstream = socket.create_connection(self.upstream)
            except OSError:
                return
            with self.lock:
                if not self.open:  # accepted in the instant of the cut: refuse it
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Close the port (new connections are refused) and drop every open connection."""
        with self.lock:
            self.open = False
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


class AnswerLosingRelay(Relay):
    """A relay that, once armed, forwards the next COMMIT to the server and then drops the
    client's side before the answer comes back: the server commits, the client cannot know."""

    armed = False

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:  # type: ignore[override]
        to_server = dst.getpeername() == self.upstream
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if to_server and self.armed and b"\0COMMIT\0" in data:
                    self.armed = False
                    src.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay() -> Iterator[Relay]:
    r = Relay()
    yield r
    r.cut()


def test_an_unreachable_database_refuses_to_open_with_store_unavailable(policy: Policy) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailable) as err:
        Accord.open(f"postgresql://postgres@127.0.0.1:{port}/test", policy=policy,
                    connect_timeout=1)
    assert f"127.0.0.1:{port}" in str(err.value)
    assert err.value.to_problem()["status"] == 503


@on_pg
def test_a_database_that_goes_away_fails_the_proposal_closed_and_records_nothing(
        pg_url: str, policy: Policy, relay: Relay) -> None:
    through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    acc = Accord.open(through, policy=policy, connect_timeout=1, statement_timeout=2)
    try:
        assert acc.propose("email-cadence", "c1", channel="email", intent="nurture").go
        relay.cut()
        with pytest.raises(StoreUnavailable):
            acc.propose("churn-guard", "c2", channel="email", intent="retain")
    finally:
        acc.close()
    assert count(pg_url, "SELECT count(*) FROM decisions") == 1
    assert count(pg_url, "SELECT count(*) FROM touches WHERE customer = 'c2'") == 0


@on_pg
def test_a_read_only_database_refuses_proposals_and_records_nothing(
        pg_url: str, policy: Policy) -> None:
    Accord.open(pg_url, policy=policy).close()  # the schema exists; the server then turns RO
    acc = Accord.open(with_option(pg_url, "default_transaction_read_only=on"), policy=policy)
    try:
        with pytest.raises(StoreUnavailable) as err:
            acc.propose("email-cadence", "c1", channel="email", intent="nurture")
        assert "ReadOnlySqlTransaction" in str(err.value)
        assert acc.context("c1").version == 0  # reads still work
    finally:
        acc.close()
    assert count(pg_url, "SELECT count(*) FROM decisions") == 0
    assert count(pg_url, "SELECT count(*) FROM customers") == 0


@on_pg
def test_a_customer_locked_past_the_statement_timeout_fails_closed(
        pg_url: str, policy: Policy) -> None:
    acc = Accord.open(pg_url, policy=policy, statement_timeout=0.3)
    try:
        # due beyond the commit horizon, so the later go may pre-empt it
        acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                    at=acc.clock() + 3 * 3600)
        with psycopg.connect(pg_url) as holder:  # another replica, stuck mid-transaction
            holder.execute("SELECT 1 FROM customers WHERE id = 'c1' FOR UPDATE")
            with pytest.raises(StoreUnavailable) as err:
                acc.propose("churn-guard", "c1", channel="email", intent="retain")
            assert "QueryCanceled" in str(err.value)
        after = acc.propose("churn-guard", "c1", channel="voice", intent="retain")
        assert after.go and len(after.preempted) == 1  # the lock is free again
    finally:
        acc.close()
    assert count(pg_url, "SELECT count(*) FROM decisions") == 2


@on_pg
def test_two_replicas_on_one_database_give_exactly_one_go_to_a_new_customer(
        pg_url: str, policy: Policy) -> None:
    a = Accord.open(pg_url, policy=policy)
    b = Accord.open(pg_url, policy=policy)
    try:
        for k in range(3):
            decisions = propose_together([a, b], f"new-{k}", 16)
            assert sum(d.go for d in decisions) == 1
        assert a.verify_ledger().ok
    finally:
        a.close()
        b.close()


@on_pg
def test_replicas_starting_together_create_the_schema_once(pg_url: str) -> None:
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        try:
            start.wait(timeout=30)
            opened.append(PostgresStore(pg_url, pool_size=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in opened:
        s.close()
    assert errors == []
    assert len(opened) == 4
    assert count(pg_url, "SELECT value::int FROM meta WHERE key = 'schema'") == (
        _rows.SCHEMA_VERSION)


@on_pg
def test_a_schema_written_by_a_newer_accord_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema'")
    with pytest.raises(StoreUnavailable, match="version 999"):
        PostgresStore(pg_url)


@on_pg
def test_rows_come_back_as_the_same_python_types_as_on_sqlite(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        with store.lock("c1") as tx:
            row = tx.customer()
            tx.execute("INSERT INTO spend (agent, day, shard, usd, tokens) VALUES (?,?,?,?,?)",
                       ("a", "2026-01-01", 0, 1.5, 7))
            got: dict[str, Any] | None = tx.one(
                "SELECT usd, tokens, day FROM spend WHERE agent = ? AND usd > ?", ("a", 1.0))
        assert row.id == "c1" and row.version == 0 and row.fields == {}
        assert got == {"usd": 1.5, "tokens": 7, "day": "2026-01-01"}
    finally:
        store.close()


@on_pg
def test_a_write_the_database_refuses_inside_the_commit_never_breaks_a_pooled_connection(
        pg_url: str) -> None:
    """A refused write aborts the pipelined commit; statements queued behind it, some being
    prepared for the first time on that connection, never reach the server. Every later
    transaction on every pooled connection must still run."""
    store = PostgresStore(pg_url, pool_size=CONNECTIONS)
    good = "INSERT INTO meta (key, value) VALUES (?, ?)"
    refused = "INSERT INTO spend (agent, day, shard, usd, tokens) VALUES (?,?,?,?,?)"

    def on_every_connection(write: Callable[[Any, int], None]) -> list[str]:
        """Hold one transaction per pooled connection, write in each, then commit each."""
        held = [store.lock(f"c{i}") for i in range(CONNECTIONS)]
        for i, cm in enumerate(held):
            write(cm.__enter__(), i)
        errors = []
        for cm in held:
            try:
                cm.__exit__(None, None, None)
            except psycopg.Error as exc:
                errors.append(type(exc).__name__)
        return errors

    try:
        for n in range(12):  # crosses the driver's prepare threshold at every position
            assert on_every_connection(
                lambda tx, i, n=n: tx.execute(good, (f"ok-{n}-{i}", "v"))) == []
            assert on_every_connection(lambda tx, i, n=n: (
                tx.execute(refused, ("a", "2026-01-01", n * CONNECTIONS + i, 0.0, 2**63)),
                tx.execute(good, (f"lost-{n}-{i}", "v")))) == [
                    "NumericValueOutOfRange"] * CONNECTIONS
        for n in range(10):
            assert on_every_connection(
                lambda tx, i, n=n: tx.execute(good, (f"after-{n}-{i}", "v"))) == []
            with store.read() as tx:
                assert tx.one("SELECT value FROM meta WHERE key = ?", (f"after-{n}-0",))
    finally:
        store.close()
    assert count(pg_url, "SELECT count(*) FROM meta WHERE key LIKE 'after-%'") == 10 * CONNECTIONS
    assert count(pg_url, "SELECT count(*) FROM meta WHERE key LIKE 'lost-%'") == 0
    assert count(pg_url, "SELECT count(*) FROM spend") == 0


@on_pg
def test_a_commit_whose_answer_is_lost_says_the_outcome_is_unknown_and_a_retry_finds_it(
        pg_url: str, policy: Policy) -> None:
    relay = AnswerLosingRelay()
    through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    acc = Accord.open(through, policy=policy, connect_timeout=1, statement_timeout=2)
    try:
        relay.armed = True
        with pytest.raises(StoreUnavailable) as err:
            acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                        idempotency_key="k1")
        problem = err.value.to_problem()
        assert problem["status"] == 503 and problem["outcome"] == "unknown"
        assert "outcome is unknown" in problem["detail"]
        assert "nothing was recorded" not in problem["detail"]
        assert "same Idempotency-Key" in problem["hint"]
        # it was committed (the server may finish the COMMIT a moment after the client gave up)
        wait_until(lambda: count(pg_url, "SELECT count(*) FROM decisions") == 1, timeout=10,
                   what="the server to commit the decision whose answer was lost")
        again = acc.propose("email-cadence", "c1", channel="email", intent="nurture",
                            idempotency_key="k1")
        assert again.go
    finally:
        acc.close()
        relay.cut()
    assert count(pg_url, "SELECT count(*) FROM decisions") == 1


@on_pg
def test_a_database_gone_before_the_commit_says_nothing_was_recorded(
        pg_url: str, policy: Policy, relay: Relay) -> None:
    through = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    acc = Accord.open(through, policy=policy, connect_timeout=5, statement_timeout=2)
    try:
        relay.cut()
        with pytest.raises(StoreUnavailable) as err:
            acc.propose("email-cadence", "c1", channel="email", intent="nurture")
    finally:
        acc.close()
    problem = err.value.to_problem()
    assert "nothing was recorded" in problem["detail"] and problem["outcome"] == "none"
    assert "outcome is unknown" not in problem["detail"]
    assert count(pg_url, "SELECT count(*) FROM decisions") == 0
