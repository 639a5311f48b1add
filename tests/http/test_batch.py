"""POST /v1/proposals:batch: a planning round where the slot goes by value, not by arrival."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from accord._errors import IdempotencyConflict, InvalidInput
from accord.client import AsyncClient, Client

from .live_server import Server

DAY = 86400.0


def at(days: float) -> float:
    """An instant a little ahead, so the round plans future touches."""
    return time.time() + DAY + days * DAY


def item(agent: str, customer: str, intent: str, value: float | None = None,
         channel: str = "email", **extra: Any) -> dict[str, Any]:
    body = {"agent": agent, "customer": customer, "channel": channel, "intent": intent,
            **extra}
    if value is not None:
        body["value"] = value
    return body


def batch(server: Server, items: list[dict[str, Any]], role: str = "admin",
          **headers: str) -> Any:
    with server.http(role, **headers) as http:
        return http.post("/v1/proposals:batch", json={"proposals": items})


def rules(decision: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in decision["reasons"]}


def test_the_higher_value_proposal_takes_the_slot_though_it_came_second_and_ranks_lower(
        server: Server) -> None:
    when = at(0)
    answer = batch(server, [item("churn-guard", "c-val", "retain", 5, at=when),
                            item("reengage", "c-val", "reactivate", 50, at=when)])
    assert answer.status_code == 200
    churn, reengage = answer.json()
    assert reengage["outcome"] == "go"
    assert churn["outcome"] != "go"
    assert churn["preempted"] == [] and reengage["preempted"] == []
    assert {"daily-cap", "arbitration"} <= rules(churn)
    why = next(r for r in churn["reasons"] if r["rule"] == "arbitration")
    assert why["refs"]["decisions"] == [reengage["id"]]
    assert "reengage" in why["message"] and "50" in why["message"]
    touch = server.service.touch(reengage["touch_id"])
    assert touch.status == "pending"


def test_two_proposals_worth_more_together_beat_one_worth_more_alone(server: Server) -> None:
    """10 alone, or 6 + 6 a day apart that the 48 h agent gap keeps from sharing with it."""
    start = at(0)
    answer = batch(server, [
        item("churn-guard", "c-pair", "retain", 10, at=start + DAY / 2),
        item("email-cadence", "c-pair", "nurture", 6, at=start),
        item("email-cadence", "c-pair", "nurture", 6, at=start + DAY * 1.1),
    ]).json()
    assert [d["outcome"] for d in answer] == ["defer", "go", "go"]
    why = next(r for r in answer[0]["reasons"] if r["rule"] == "arbitration")
    assert sorted(why["refs"]["decisions"]) == sorted([answer[1]["id"], answer[2]["id"]])
    assert "worth 12 together" in why["message"]
    assert "agent-gap" in rules(answer[0])


def test_equal_values_go_to_precedence_and_then_to_the_earlier_submission(
        server: Server) -> None:
    when = at(0)
    answer = batch(server, [item("email-cadence", "c-tie", "nurture", 7, at=when),
                            item("upsell", "c-tie", "upsell", 7, at=when),
                            item("email-cadence", "c-tie2", "nurture", 7, at=when),
                            item("email-cadence", "c-tie2", "nurture", 7, at=when)]).json()
    assert [d["outcome"] == "go" for d in answer] == [False, True, True, False]


def test_uplift_scales_value_so_a_likely_change_beats_a_larger_unlikely_one(
        server: Server) -> None:
    when = at(0)
    answer = batch(server, [item("upsell", "c-up", "upsell", 100, uplift=0.05, at=when),
                            item("email-cadence", "c-up", "nurture", 20, uplift=0.5,
                                 at=when)]).json()
    assert [d["outcome"] == "go" for d in answer] == [False, True]
    assert answer[0]["proposal"]["uplift"] == 0.05


def test_customers_in_one_round_are_decided_independently(server: Server) -> None:
    when = at(0)
    answer = batch(server, [item("upsell", f"c-ind-{i}", "upsell", i, at=when)
                            for i in range(5)]).json()
    assert [d["outcome"] for d in answer] == ["go"] * 5
    assert [d["proposal"]["customer"] for d in answer] == [f"c-ind-{i}" for i in range(5)]


def test_a_retried_round_with_the_same_key_gets_the_same_answers_and_changes_nothing(
        server: Server) -> None:
    when = at(0)
    items = [item("churn-guard", "c-idem", "retain", 5, at=when),
             item("reengage", "c-idem", "reactivate", 50, at=when),
             item("upsell", "c-idem2", "upsell", 1, at=when)]
    first = batch(server, items, **{"Idempotency-Key": "round-7"})
    before = len(server.service.ledger(limit=100_000))
    again = batch(server, items, **{"Idempotency-Key": "round-7"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(server.service.ledger(limit=100_000)) == before
    changed = batch(server, [items[0], {**items[1], "value": 1}, items[2]],
                    **{"Idempotency-Key": "round-7"})
    assert changed.status_code == 409
    assert changed.json()["where"] == "Idempotency-Key"
    assert "same method, path and body" in changed.json()["hint"]


def test_a_bad_item_is_refused_naming_its_position_and_nothing_is_decided(
        server: Server) -> None:
    before = len(server.service.ledger(limit=100_000))
    good = item("upsell", "c-bad", "upsell", 3)
    for bad, where in [({"agent": "upsell", "customer": "c-bad", "intent": "upsell"},
                        "body.proposals.1.channel"),
                       ({**good, "uplift": 1.5}, "body.proposals.1.uplift"),
                       ({**good, "value": "lots"}, "body.proposals.1.value")]:
        answer = batch(server, [good, bad])
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["where"] == where
    for size in (0, 101):
        answer = batch(server, [good] * size)
        assert answer.status_code == 422
        assert answer.json()["where"] == "body.proposals"
    assert len(server.service.ledger(limit=100_000)) == before


def test_concurrent_rounds_for_one_customer_under_a_cap_of_one_get_exactly_one_go(
        server: Server) -> None:
    when = at(0)
    rounds = [[item("email-cadence", "c-race", "nurture", v, at=when),
               item("email-cadence", "c-race", "nurture", v + 1, at=when)] for v in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda r: batch(server, r).json(), rounds))
    outcomes = [d["outcome"] for a in answers for d in a]
    assert outcomes.count("go") == 1
    assert len(outcomes) == 12


def test_a_batch_key_longer_than_its_proposals_keys_allow_is_refused_at_the_header(
        server: Server) -> None:
    answer = batch(server, [item("upsell", "c-key", "upsell", 1)],
                   **{"Idempotency-Key": "k" * 191})
    assert answer.status_code == 422
    assert answer.json()["where"] == "Idempotency-Key"


def test_an_agent_token_batches_only_its_own_proposals(server: Server) -> None:
    answer = batch(server, [item("upsell", "c-own", "upsell", 1),
                            item("churn-guard", "c-own", "retain", 9)], role="agent_a")
    assert answer.status_code == 403
    assert answer.json()["where"] == "proposals.1.agent"
    assert batch(server, [item("upsell", "c-own", "upsell", 1)],
                 role="agent_a").status_code == 200


@pytest.mark.parametrize("remote", ["sync", "async"])
def test_the_clients_decide_a_round_and_refuse_bad_input_with_the_item_named(
        server: Server, remote: str) -> None:
    when = at(0)
    items = [item("churn-guard", f"c-cl-{remote}", "retain", 5, at=when),
             item("reengage", f"c-cl-{remote}", "reactivate", 50, at=when)]

    async def run_async() -> list[Any]:
        async with AsyncClient(server.url, server.tokens["admin"]) as client:
            first = await client.propose_batch(items, idempotency_key=f"k-{remote}")
            again = await client.propose_batch(items, idempotency_key=f"k-{remote}")
            assert again == first
            with pytest.raises(InvalidInput) as bad:
                await client.propose_batch([{**items[0], "uplift": -1}])
            assert bad.value.where == "body.proposals.0.uplift"
            return first

    if remote == "async":
        answers = asyncio.run(run_async())
    else:
        with Client(server.url, server.tokens["admin"]) as client:
            answers = client.propose_batch(items, idempotency_key="k-sync")
            assert client.propose_batch(items, idempotency_key="k-sync") == answers
            with pytest.raises(IdempotencyConflict):
                client.propose_batch(items[::-1], idempotency_key="k-sync")
    assert [d.go for d in answers] == [False, True]
    assert "arbitration" in {r.rule for r in answers[0].reasons}
