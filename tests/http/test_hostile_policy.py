"""Over HTTP, a hostile policy is refused with a problem, and a rule that fails at run time
answers a decision, never a 500 (issue 10, item 10)."""

from __future__ import annotations

from tests.conftest import EXAMPLE_POLICY
from tests.gate.test_failing_rules import policy_text

from .live_server import Server


def test_a_policy_refused_by_check_is_a_problem_over_http_and_the_gate_keeps_working(
        server: Server) -> None:
    bad = EXAMPLE_POLICY.read_text().replace("\nreducers:", """
  - id: pairs
    effect: stop
    when: touches.exists(t, touches.exists(u, t.at < u.at))
\nreducers:""", 1)
    before = server.service.policy.version
    with server.http("admin") as http:
        r = http.post("/v1/policy", json={"text": bad})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert "(rule pairs)" in r.text and "iterations" in r.text
        ok = http.post("/v1/proposals", json={"agent": "upsell", "customer": "c-h",
                                              "channel": "email", "intent": "upsell"})
    assert ok.status_code == 200 and ok.json()["outcome"] == "go"
    assert server.service.policy.version == before


def test_a_rule_that_fails_at_run_time_answers_a_decision_over_http_not_a_500(
        server: Server) -> None:
    with server.http("admin") as http:
        assert http.post("/v1/policy", json={"text": policy_text()}).status_code == 200
    server.service.update_context("c-big", {"ids": [f"id{i}" for i in range(1_200)]},
                                  expected_version=0)
    with server.http("admin") as http:
        r = http.post("/v1/proposals", json={"agent": "upsell", "customer": "c-big",
                                             "channel": "email", "intent": "upsell"})
    assert r.status_code == 200
    assert r.json()["outcome"] == "stop"
    assert "blocked-ids" in {x["rule"] for x in r.json()["reasons"]}


def test_an_alias_bomb_is_refused_over_http_with_the_line(server: Server) -> None:
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "version: 1\nchannels: [email]\nbomb:\n" + "".join(f"  {r}\n" for r in rows)
    with server.http("admin") as http:
        r = http.post("/v1/policy", json={"text": bomb})
    assert r.status_code == 422
    assert "POST /v1/policy:4: the file expands to more than" in r.text
