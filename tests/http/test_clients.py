"""The remote clients against a live server on each backend: every method of ``Accord``, the same
answers as the embedded service, the same errors, and the live stream over SSE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accord import (
    AccordAPI,
    AccordError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyError,
    StaleVersion,
)
from accord.client import AsyncClient, Client
from accord.client._stream import RemoteSubscription
from accord.fleet import Handoff, SeatChange
from accord.store.bus import Subscription

from .live_server import Server

UNTIL = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # claims last at most 366 days


def next_decision(sub: Subscription) -> str:
    """The id of the next decision on ``sub`` (a missing one fails, naming the wait)."""
    got = sub.get(timeout=15)
    assert got is not None, "no decision arrived on the stream within 15 s"
    return str(got["decision"]["id"])


def test_a_handoff_reaches_the_receivers_inbox_and_is_acknowledged(server: Server) -> None:
    with Client(server.url, server.tokens["admin"]) as admin, \
            Client(server.url, server.tokens["agent_b"]) as churn:
        sent = admin.handoff("lead-scoring", "churn-guard", "scored-lead", {"score": 90},
                             customer="h-1")
        assert isinstance(sent, Handoff) and sent.via == "http"
        inbox = churn.inbox("churn-guard")
        assert [h.id for h in inbox] == [sent.id] and inbox[0].payload == {"score": 90}
        acked = churn.ack_handoff(sent.id, agent="churn-guard")
        assert isinstance(acked, Handoff) and acked.acked_at is not None
        assert churn.inbox("churn-guard") == []
        assert [h.id for h in admin.handoffs()] == [h.id for h in server.service.handoffs()]


def test_every_read_answers_as_the_embedded_service_does(server: Server) -> None:
    svc = server.service
    with Client(server.url, server.tokens["admin"]) as admin:
        d = admin.propose("upsell", "r-1", channel="email", intent="upsell", trace_id="tr-r")
        assert d.touch_id is not None
        admin.report_outcome(d.touch_id, "executed", agent="upsell")
        admin.record_event("r-1", "login")
        admin.claim("churn-guard", "r-1", "watch", UNTIL)
        assert admin.release("churn-guard", "r-1") == svc.release("churn-guard", "r-1") + 1
        admin.fleet_entry("review", {"note": "quarterly"}, agent="upsell")
        reads: dict[str, Callable[[AccordAPI], Any]] = {
            "seats": lambda a: a.seats(),
            "seat": lambda a: a.seat("upsell"),
            "seats_removed_from_file": lambda a: a.seats_removed_from_file(),
            "touch": lambda a: a.touch(d.touch_id or ""),
            "decision": lambda a: a.decision(d.id),
            "approvals": lambda a: a.approvals(),
            "context": lambda a: a.context("r-1"),
            "context as an agent": lambda a: a.context("r-1", agent="lead-scoring"),
            "trace": lambda a: a.trace("tr-r"),
            "ledger": lambda a: a.ledger(after=2, limit=5),
            "iter_ledger": lambda a: list(a.iter_ledger(batch=3)),
            "verify_ledger": lambda a: a.verify_ledger(),
            "handoffs": lambda a: a.handoffs(),
        }
        for name, read in reads.items():
            assert read(admin) == read(svc), name
        assert any(e.kind == "review" and e.body == {"note": "quarterly"}
                   for e in admin.iter_ledger())


def test_the_kill_switch_and_seat_lifecycle_work_remotely_for_an_admin_only(
        server: Server) -> None:
    spec = {"id": "winback-bot", "owner": "growth", "mandate": {"intents": ["winback"],
                                                                 "channels": ["email"]}}
    with Client(server.url, server.tokens["admin"]) as admin, \
            Client(server.url, server.tokens["agent_a"]) as upsell, \
            Client(server.url, server.tokens["reviewer"]) as reviewer:
        with pytest.raises(Forbidden):
            upsell.pause_seat("churn-guard", by="upsell", reason="rogue")
        with pytest.raises(Forbidden):
            reviewer.register_seat(spec, by="rita")
        registered = admin.register_seat(spec, by="ops")
        assert isinstance(registered, SeatChange) and registered.seat.origin == "runtime"
        changed = admin.update_seat("winback-bot", {"owner": "retention"}, by="ops")
        assert changed.seat.owner == "retention" and changed.seat.updated_by == "admin:ops"
        go = upsell.propose("upsell", "k-1", channel="email", intent="upsell")
        paused = admin.pause_seat("upsell", by="ops", reason="sending too much")
        assert paused.seat.status == "paused" and paused.revoked == [go.touch_id]
        assert upsell.touch(go.touch_id or "").status == "revoked"
        assert upsell.propose("upsell", "k-2", channel="email", intent="upsell").outcome == "stop"
        assert admin.resume_seat("upsell", by="ops").seat.status == "active"
        retired = admin.retire_seat("winback-bot", by="ops")
        assert retired.seat.status == "retired" and retired.orphaned.intents == []  # support
        assert admin.seats() == server.service.seats()


def test_a_policy_applied_remotely_is_the_one_in_force(server: Server) -> None:
    text = server.service.policy.text.replace("max_cost_usd: 25", "max_cost_usd: 24")
    assert text != server.service.policy.text
    with Client(server.url, server.tokens["admin"]) as admin:
        applied = admin.apply_policy(text, by="ops")
        assert applied.version == server.service.policy.version
        assert admin.refresh_policy() is False


def _cases() -> list[tuple[str, str, Callable[[AccordAPI], Any], type[AccordError]]]:
    return [
        ("an unknown decision", "admin", lambda a: a.decision("d_nope"), NotFound),
        ("an unknown touch", "admin", lambda a: a.touch("t_nope"), NotFound),
        ("an unknown seat", "admin", lambda a: a.seat("nope"), NotFound),
        ("resuming an unknown seat", "admin", lambda a: a.resume_seat("nope", by="ops"),
         NotFound),
        ("a pause without a reason", "admin",
         lambda a: a.pause_seat("upsell", by="ops", reason=""), InvalidInput),
        ("a seat that exists", "admin", lambda a: a.register_seat(
            {"id": "upsell", "owner": "x", "mandate": {"intents": ["upsell"]}}, by="ops"),
         Conflict),
        ("an outcome for no touch", "admin", lambda a: a.report_outcome("t_nope", "executed"),
         NotFound),
        ("a stale context write", "admin",
         lambda a: a.update_context("e-1", {"tier": "gold"}, expected_version=99), StaleVersion),
        ("a field outside the agent's grant", "admin",
         lambda a: a.update_context("e-1", {"tier": "gold"}, expected_version=0,
                                    agent="upsell"), Forbidden),
        ("the context as no seat", "admin", lambda a: a.context("e-1", agent="nobody"),
         Forbidden),
        ("a claim by no seat", "admin", lambda a: a.claim("nobody", "e-1", "x", UNTIL),
         Forbidden),
        ("a handoff to no seat", "admin",
         lambda a: a.handoff("lead-scoring", "nobody", "scored-lead", {"score": 1}), Forbidden),
        ("a payload off its schema", "admin",
         lambda a: a.handoff("lead-scoring", "churn-guard", "scored-lead", {"score": "high"}),
         InvalidInput),
        ("acking no handoff", "admin", lambda a: a.ack_handoff("h_nope", agent="churn-guard"),
         NotFound),
        ("a proposal with no channel", "admin",
         lambda a: a.propose("upsell", "e-1", channel="", intent="upsell"), InvalidInput),
        ("a broken policy", "admin", lambda a: a.apply_policy("agents: [", by="ops"),
         PolicyError),
        ("approving no decision", "reviewer",
         lambda a: a.approve("d_nope", reviewer="rita"), NotFound),
    ]


def test_a_remote_refusal_raises_the_embedded_exception_class(server: Server) -> None:
    clients = {role: Client(server.url, server.tokens[role]) for role in ("admin", "reviewer")}
    try:
        for what, role, call, expected in _cases():
            with pytest.raises(expected) as embedded:
                call(server.service)
            with pytest.raises(expected) as far:
                call(clients[role])
            assert type(far.value) is type(embedded.value), what
            said = far.value.hint or far.value.where or getattr(far.value, "problems", None)
            assert said, f"{what}: a refusal says where or how to fix it"
    finally:
        for c in clients.values():
            c.close()


def test_remote_reads_of_other_agents_records_are_refused(server: Server) -> None:
    go = server.service.propose("churn-guard", "o-1", channel="email", intent="retain")
    with Client(server.url, server.tokens["agent_a"]) as upsell:
        with pytest.raises(Forbidden):
            upsell.touch(go.touch_id or "")
        with pytest.raises(Forbidden):
            upsell.ledger()
        with pytest.raises(Forbidden):
            upsell.fleet_entry("review", {})
        with pytest.raises(Forbidden):
            upsell.context("o-1", agent="churn-guard")
        with pytest.raises(InvalidInput):
            upsell.submit(go.proposal, decision_id="d_mine")


def test_a_subscription_over_sse_gets_what_the_embedded_one_gets(server: Server) -> None:
    svc = server.service
    with Client(server.url, server.tokens["admin"]) as admin, \
            admin.subscribe(agent="upsell", kinds={"decision"}) as far, \
            svc.subscribe(agent="upsell", kinds={"decision"}) as near:
        svc.propose("churn-guard", "s-1", channel="email", intent="retain")
        mine = svc.propose("upsell", "s-2", channel="email", intent="upsell")
        got = far.get(timeout=15)
        assert got is not None and got["decision"]["id"] == mine.id
        assert got == near.get(timeout=15)


def test_a_dropped_stream_resumes_after_its_last_event_without_loss_or_repeat(
        server: Server) -> None:
    svc = server.service
    with Client(server.url, server.tokens["agent_a"]) as upsell:
        sub = upsell.subscribe(kinds={"decision"})
        first = svc.propose("upsell", "d-0", channel="email", intent="upsell")
        assert next_decision(sub) == first.id
        resume_from = sub.last_event_id
        sub.close()
        missed = [svc.propose("upsell", f"d-{i}", channel="email", intent="upsell").id
                  for i in (1, 2)]
        again = RemoteSubscription(server.url, server.tokens["agent_a"], kinds={"decision"},
                                   last_event_id=resume_from)
        with again:
            got = [next_decision(again) for _ in missed]
            assert got == missed
            again.reconnect()
            later = svc.propose("upsell", "d-3", channel="email", intent="upsell")
            assert next_decision(again) == later.id and again.reconnects >= 1
            assert again.get(timeout=0.2) is None


def test_the_async_client_offers_the_same_methods_awaited(server: Server) -> None:
    svc = server.service

    async def run() -> None:
        async with AsyncClient(server.url, server.tokens["admin"]) as acc:
            d = await acc.propose("churn-guard", "ac-1", channel="email", intent="retain")
            assert d.go and (await acc.decision(d.id)).id == d.id
            assert await acc.touch(d.touch_id or "") == svc.touch(d.touch_id or "")
            ctx = await acc.context("ac-1")
            await acc.update_context("ac-1", {"tier": "gold"}, expected_version=ctx.version)
            with pytest.raises(StaleVersion):
                await acc.update_context("ac-1", {"tier": "vip"},
                                         expected_version=ctx.version)
            e = await acc.record_event("ac-1", "purchase")
            assert e.context_version == ctx.version + 2
            assert [x async for x in acc.iter_ledger(batch=4)] == list(svc.iter_ledger())
            paused = await acc.pause_seat("reengage", by="ops", reason="test")
            assert paused.seat.status == "paused"
            assert (await acc.resume_seat("reengage", by="ops")).seat.status == "active"
            assert await acc.seats() == svc.seats()
            with pytest.raises(NotFound):
                await acc.seat("nope")
            sub = await acc.subscribe(customer="ac-2")
            with sub:
                mine = svc.propose("churn-guard", "ac-2", channel="email", intent="retain")
                got = await asyncio.wait_for(anext(aiter(sub)), timeout=15)
                assert got["decision"]["id"] == mine.id

    asyncio.run(run())
