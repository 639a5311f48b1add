"""Live updates between processes sharing one SQLite file: a decision made by another process
(``accord mcp`` over stdio beside ``accord serve``) reaches this process's subscribers once, and
a process nobody listens to writes nothing for them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from accord import Accord
from accord.policy import Policy
from accord.store.bus import Message, Subscription
from tests.conftest import EXAMPLE_POLICY, wait_until

PROPOSE = """
import sys
from accord import Accord
with Accord.open(sys.argv[1], policy=sys.argv[2]) as acc:
    print(acc.propose(sys.argv[3], sys.argv[4], channel="email", intent=sys.argv[5]).id)
"""


def propose_elsewhere(db: Path, agent: str, customer: str, intent: str) -> str:
    """Propose from another Python process on the same file; the decision's id."""
    done = subprocess.run([sys.executable, "-c", PROPOSE, str(db), str(EXAMPLE_POLICY), agent,
                           customer, intent], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def listening(db: Path) -> bool:
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT COUNT(*) FROM bus_listeners").fetchone()[0])


def until(sub: Subscription, predicate: object, deadline: float = 15.0) -> list[Message]:
    got: list[Message] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        m = sub.get(timeout=0.1)
        if m is None:
            continue
        got.append(m)
        if callable(predicate) and predicate(m):
            return got
    raise AssertionError(f"no matching message within {deadline}s; got {got}")


def decision_id(m: Message) -> str | None:
    return m["decision"]["id"] if m.get("kind") == "decision" else None


def test_a_decision_made_by_another_process_reaches_this_process_once(
        tmp_path: Path, policy: Policy) -> None:
    db = tmp_path / "accord.db"
    with Accord.open(db, policy=policy) as acc:
        sub = acc.subscribe(kinds={"decision"})
        wait_until(lambda: listening(db), what="this process's listener lease")
        own = acc.propose("churn-guard", "c-here", channel="email", intent="retain")
        other = propose_elsewhere(db, "upsell", "c-there", "upsell")
        marker = propose_elsewhere(db, "upsell", "c-marker", "upsell")
        got = [decision_id(m) for m in until(sub, lambda m: decision_id(m) == marker)]
        assert got == [own.id, other, marker], "each decision once, own ones not echoed"
        sub.close()


def test_a_process_that_nobody_listens_to_writes_no_events(tmp_path: Path,
                                                           policy: Policy) -> None:
    db = tmp_path / "accord.db"
    with Accord.open(db, policy=policy) as acc:
        acc.propose("upsell", "c-1", channel="email", intent="upsell")
        assert not acc.bus.active
    propose_elsewhere(db, "upsell", "c-2", "upsell")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM bus_events").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM bus_listeners").fetchone()[0] == 0


def test_a_listener_gives_up_its_lease_when_its_last_subscriber_leaves(
        tmp_path: Path, policy: Policy) -> None:
    db = tmp_path / "accord.db"
    with Accord.open(db, policy=policy) as acc:
        sub = acc.subscribe()
        wait_until(lambda: listening(db), what="the listener lease")
        sub.close()
        wait_until(lambda: not listening(db), what="the lease to be given up")


def test_a_decision_made_through_accord_mcp_over_stdio_reaches_a_server_on_the_same_file(
        tmp_path: Path, policy: Policy) -> None:
    """The README's Claude Desktop setup: ``accord mcp`` over stdio beside ``accord serve``."""
    import anyio
    from mcp import Client

    from tests.protocols.test_mcp_stdio import call, params

    db = tmp_path / "accord.db"
    with Accord.open(db, policy=policy) as server:
        sub = server.subscribe(kinds={"decision"})
        wait_until(lambda: listening(db), what="the server's listener lease")

        async def propose_over_mcp() -> str:
            async with Client(params("upsell", db)) as c:
                d = await call(c, "propose", customer="c-desktop", channel="email",
                               intent="upsell")
                return str(d["decision_id"])

        made = anyio.run(propose_over_mcp)
        got = until(sub, lambda m: decision_id(m) == made)
        assert got[-1]["decision"]["proposal"]["agent"] == "upsell"
        sub.close()
