"""Kept proposals over HTTP: the server's own scheduler re-decides them, the agent hears the
answer on its stream, reads the kept proposal and can cancel it (issue 13, build item 1)."""

from __future__ import annotations

import json

import pytest

from accord import Conflict, Forbidden, ScheduledStatus
from accord.client import Client
from tests.conftest import Clock, wait_until

from .live_server import Server
from .test_live_updates import Receiver

HOUR = 3600.0


def test_the_server_re_decides_a_kept_proposal_and_the_agent_hears_it_on_its_stream(
        server: Server) -> None:
    clock = server.service.clock = Clock()  # the server decides on a clock the test moves
    with Client(server.url, server.tokens["admin"]) as admin, \
            Client(server.url, server.tokens["agent_b"]) as churn:
        admin.record_event("k-1", "ticket_opened")  # holds outbound proposals for 48 h
        with churn.subscribe(kinds={"decision"}) as sub:
            d = churn.propose("churn-guard", "k-1", channel="email", intent="retain",
                              on_defer="reschedule", deadline="3d")
            assert d.outcome.value == "defer" and d.follow_up is not None
            first = sub.get(timeout=15)
            assert first is not None and first["decision"]["id"] == d.id
            clock.advance(48 * HOUR)
            again = sub.get(timeout=30)  # the server's scheduler pass, on its own thread
        assert again is not None and again["decision"]["follow_up"] == d.follow_up
        assert again["decision"]["outcome"] == "go"
        assert again["decision"]["parent_decision"] == d.id
        kept = churn.scheduled(d.follow_up)
        assert kept.status is ScheduledStatus.DONE
        assert kept.decisions == [d.id, again["decision"]["id"]]


def test_an_agent_cancels_its_own_kept_proposal_and_no_other(server: Server) -> None:
    with Client(server.url, server.tokens["admin"]) as admin, \
            Client(server.url, server.tokens["agent_a"]) as upsell, \
            Client(server.url, server.tokens["agent_b"]) as churn:
        admin.record_event("k-2", "ticket_opened")
        d = churn.propose("churn-guard", "k-2", channel="email", intent="retain",
                          on_defer="reschedule", deadline="2099-01-01T00:00:00Z")
        assert d.follow_up is not None
        with pytest.raises(Forbidden) as refused:
            upsell.scheduled(d.follow_up)
        assert refused.value.where == "scheduled_id"
        with pytest.raises(Forbidden):
            upsell.cancel_scheduled(d.follow_up)
        cancelled = churn.cancel_scheduled(d.follow_up)
        assert cancelled.status is ScheduledStatus.CANCELLED
        assert admin.scheduled(d.follow_up) == cancelled


def test_a_finished_kept_proposal_cannot_be_cancelled_and_the_answer_says_why(
        sqlite_server: Server) -> None:
    server = sqlite_server
    clock = server.service.clock = Clock()
    with Client(server.url, server.tokens["admin"]) as admin:
        admin.record_event("k-3", "ticket_opened")
        d = admin.propose("churn-guard", "k-3", channel="email", intent="retain",
                          on_defer="reschedule", deadline="3d")
        assert d.follow_up is not None
        sid = d.follow_up
        clock.advance(48 * HOUR)
        wait_until(lambda: admin.scheduled(sid).status is not ScheduledStatus.WAITING,
                   timeout=30, what="the server's scheduler to re-decide it")
        with pytest.raises(Conflict) as refused:
            admin.cancel_scheduled(sid)
        assert refused.value.where == "scheduled_id" and "done" in str(refused.value)


def test_reschedule_without_a_deadline_is_a_422_naming_the_field(sqlite_server: Server) -> None:
    with sqlite_server.http("agent_b") as http:
        r = http.post("/v1/proposals", json={
            "agent": "churn-guard", "customer": "k-4", "channel": "email", "intent": "retain",
            "on_defer": "reschedule"})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["where"].endswith("deadline") and "7d" in problem["detail"]


def test_a_webhook_for_scheduled_hears_a_kept_proposal_end(sqlite_server: Server) -> None:
    receiver = Receiver(200)
    try:
        with Client(sqlite_server.url, sqlite_server.tokens["admin"]) as admin, \
                sqlite_server.http("admin") as http:
            assert http.post("/v1/webhooks", json={"url": receiver.url,
                                                   "kinds": ["scheduled"]}).status_code == 201
            admin.record_event("k-5", "ticket_opened")
            d = admin.propose("churn-guard", "k-5", channel="email", intent="retain",
                              on_defer="reschedule", deadline="7d")
            assert d.follow_up is not None
            admin.cancel_scheduled(d.follow_up)
        wait_until(lambda: receiver.received, what="a webhook delivery")
        message = json.loads(receiver.received[0][1])["message"]
        assert message["kind"] == "scheduled"
        assert message["scheduled"]["id"] == d.follow_up
        assert message["scheduled"]["status"] == "cancelled"
    finally:
        receiver.close()
