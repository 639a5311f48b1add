"""The gate over HTTP behaves as it does in process: collisions, idempotency, versions, errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from accord import InvalidInput, StaleVersion
from accord._errors import Forbidden, IdempotencyConflict
from accord.client import Client

from .live_server import Server

PROPOSAL = {"agent": "upsell", "customer": "c1", "channel": "email", "intent": "upsell",
            "offer": {"product": "pro", "discount_pct": 10}}


def ledger_size(s: Server) -> int:
    return len(s.service.ledger(limit=100_000))


def test_colliding_agents_get_one_go_and_reasons_for_the_rest(server: Server) -> None:
    with server.http("admin") as http:
        answers = [http.post("/v1/proposals", json={"agent": a, "customer": "c-col",
                                                    "channel": "email", "intent": i}).json()
                   for a, i in [("churn-guard", "retain"), ("upsell", "upsell"),
                                ("reengage", "reactivate")]]
    assert [a["outcome"] for a in answers] == ["go", "stop", "stop"]
    assert {"mixed-signals", "daily-cap"} <= {r["rule"] for r in answers[1]["reasons"]}
    assert all(a["policy_version"] == server.service.policy.version for a in answers)


def test_concurrent_proposals_for_one_customer_under_a_cap_of_one_get_exactly_one_go(
        server: Server) -> None:
    body = {"agent": "email-cadence", "customer": "c-race", "channel": "email",
            "intent": "nurture"}
    with server.http("admin") as http, ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: http.post("/v1/proposals", json=body).json()["outcome"],
                                 range(16)))
    assert outcomes.count("go") == 1
    assert set(outcomes) <= {"go", "defer"}


def test_a_retry_with_the_same_key_and_body_returns_the_same_decision_and_changes_nothing(
        server: Server) -> None:
    with server.http("agent_a") as http:
        first = http.post("/v1/proposals", json=PROPOSAL, headers={"Idempotency-Key": "k1"})
        before = ledger_size(server)
        again = http.post("/v1/proposals", json=PROPOSAL, headers={"Idempotency-Key": "k1"})
        assert again.status_code == 200
        assert again.json() == first.json()
        assert ledger_size(server) == before
        other = http.post("/v1/proposals", json={**PROPOSAL, "channel": "voice"},
                          headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert "different" in other.json()["detail"]


def test_an_idempotent_event_retry_replays_the_stored_answer(server: Server) -> None:
    event = {"customer": "c-ev", "type": "ticket_opened"}
    with server.http("admin") as http:
        first = http.post("/v1/events", json=event, headers={"Idempotency-Key": "e1"})
        before = ledger_size(server)
        again = http.post("/v1/events", json=event, headers={"Idempotency-Key": "e1"})
        assert again.json() == first.json()
        assert again.headers.get("idempotent-replayed") == "true"
        assert ledger_size(server) == before
        clash = http.post("/v1/events", json={**event, "type": "reply"},
                          headers={"Idempotency-Key": "e1"})
    assert clash.status_code == 409


def test_a_stale_if_match_is_refused_with_the_current_version(server: Server) -> None:
    with server.http("admin") as http:
        read = http.get("/v1/customers/c-v/context")
        etag = read.headers["etag"]
        ok = http.patch("/v1/customers/c-v/context", json={"tier": "gold"},
                        headers={"If-Match": etag})
        assert ok.status_code == 200 and ok.json()["version"] == 1
        assert ok.headers["etag"] == '"1"'
        stale = http.patch("/v1/customers/c-v/context", json={"tier": "vip"},
                           headers={"If-Match": etag})
        missing = http.patch("/v1/customers/c-v/context", json={"tier": "vip"})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 1
    assert missing.status_code == 428
    assert server.service.context("c-v").fields["tier"] == "gold"


def test_malformed_input_is_a_problem_naming_the_field(server: Server) -> None:
    with server.http("admin") as http:
        r = http.post("/v1/proposals", json={"agent": "upsell", "customer": "c1",
                                             "channel": "email"})
        junk = http.post("/v1/proposals", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["where"] == "body.intent"
    assert junk.status_code == 422


def test_the_client_speaks_the_in_process_api_and_raises_the_same_errors(server: Server) -> None:
    with Client(server.url, server.tokens["agent_a"]) as upsell, \
            Client(server.url, server.tokens["reviewer"]) as reviewer:
        d = upsell.propose("upsell", "c-cl", channel="email", intent="upsell",
                           offer={"product": "pro", "discount_pct": 20}, trace_id="tr-1")
        assert d.outcome == "flag"
        assert [a.id for a in reviewer.approvals()] == [d.id]
        approved = reviewer.approve(d.id, reviewer="rita", note="fine")
        assert approved.go and approved.parent_decision == d.id
        touch = upsell.report_outcome(approved.touch_id or "", "executed")
        assert touch.status == "executed"
        ctx = upsell.context("c-cl")
        upsell.update_context("c-cl", {"upsell_score": 0.7}, expected_version=ctx.version)
        with pytest.raises(StaleVersion) as stale:
            upsell.update_context("c-cl", {"upsell_score": 0.8}, expected_version=ctx.version)
        assert stale.value.current_version == ctx.version + 1
        with pytest.raises(Forbidden):
            upsell.update_context("c-cl", {"churn_risk": 1}, expected_version=ctx.version + 1)
        with pytest.raises(Forbidden):
            upsell.propose("churn-guard", "c-cl", channel="email", intent="retain")
        with pytest.raises(InvalidInput):
            upsell.record_event("c-cl", "", source="upsell")
        with pytest.raises(IdempotencyConflict):
            upsell.propose("upsell", "c-cl", channel="email", intent="upsell",
                           idempotency_key="same")
            upsell.propose("upsell", "c-cl", channel="voice", intent="upsell",
                           idempotency_key="same")
        assert [e.kind for e in reviewer.trace("tr-1")][:2] == ["decision", "approval"]
        assert reviewer.verify_ledger().ok
        assert upsell.decision(d.id).id == d.id
