"""GET /v1/decisions/{id} serves a decision only when its ledger entry agrees."""

from __future__ import annotations

from accord.policy import Policy
from tests.http.live_server import start


def test_a_forged_decision_row_is_answered_with_a_problem_not_served(
        store_url: str, policy: Policy) -> None:
    for server in start(store_url, policy):
        with server.http("admin") as http:
            d = http.post("/v1/proposals", json={"agent": "churn-guard", "customer": "c1",
                                                 "channel": "email", "intent": "retain"}).json()
            assert http.get(f"/v1/decisions/{d['id']}").json() == d
            with server.service.store.lock("c1") as tx:  # an attacker with database access
                tx.execute("UPDATE decisions SET body = replace(body, ?, ?) WHERE id = ?",
                           (f'"outcome":"{d["outcome"]}"', '"outcome":"stop"', d["id"]))
            assert d["outcome"] != "stop"
            answer = http.get(f"/v1/decisions/{d['id']}")
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["title"] == "Record does not match the ledger"
        assert problem["where"] == "decision_id"
        assert "differs from ledger entry" in problem["detail"]
