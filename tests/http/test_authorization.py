"""Every role against every endpoint: allowed with a success status, or refused with 401/403."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from accord.ledger._checkpoint import new_key, private_key

from .live_server import Server

ROLES = ("none", "bad", "agent_a", "agent_b", "reviewer", "admin")
A, B, REV, ADM = "agent_a", "agent_b", "reviewer", "admin"
EVERYONE = {A, B, REV, ADM}


def matrix(ids: dict[str, str], policy_text: str) -> list[tuple[str, str, dict[str, Any],
                                                                  set[str]]]:
    """(method, path, request options, roles allowed). agent_a is upsell, agent_b churn-guard."""
    touch, flagged, decision = ids["touch"], ids["flagged"], ids["decision"]
    until = ids["until"]
    return [
        ("POST", "/v1/proposals", {"json": {"agent": "upsell", "customer": "m1",
                                            "channel": "email", "intent": "upsell"}}, {A, ADM}),
        ("GET", f"/v1/touches/{touch}", {}, {A, REV, ADM}),
        ("POST", f"/v1/touches/{touch}/outcome", {"json": {"status": "executed"}}, {A, ADM}),
        ("POST", "/v1/events", {"json": {"customer": "m2", "type": "reply"}}, {A, B, ADM}),
        ("POST", "/v1/events:batch", {"json": {"events": [{"customer": "m2", "type": "login"}]}},
         {A, B, ADM}),
        ("GET", "/v1/customers/m1/context", {}, EVERYONE),
        ("PATCH", "/v1/customers/m3-{role}/context", {"json": {"upsell_score": 1},
                                                      "headers": {"If-Match": '"0"'}}, {A, ADM}),
        ("PUT", "/v1/customers/m3-{role}/context", {"json": {"upsell_score": 2},
                                                    "headers": {"If-Match": '"1"'}}, {A, ADM}),
        ("POST", "/v1/claims", {"json": {"agent": "upsell", "customer": "m4", "purpose": "x",
                                         "until": until}}, {A, ADM}),
        ("DELETE", "/v1/claims", {"params": {"customer": "m4", "agent": "upsell"}}, {A, ADM}),
        ("GET", "/v1/approvals", {}, {REV, ADM}),
        ("POST", f"/v1/approvals/{flagged}/approve", {"json": {"note": "ok"}}, {REV}),
        ("POST", f"/v1/approvals/{ids['flagged_too']}/reject", {}, {REV}),
        ("GET", f"/v1/decisions/{decision}", {}, {A, REV, ADM}),
        ("GET", "/v1/traces/tr-m", {}, {REV, ADM}),
        ("GET", "/v1/ledger/verify", {}, {REV, ADM}),
        ("GET", "/v1/ledger", {"params": {"limit": 10}}, {REV, ADM}),
        ("POST", "/v1/ledger/fleet", {"json": {"kind": "review", "body": {}}}, {ADM}),
        ("GET", "/v1/agents:removed-from-file", {}, EVERYONE),
        ("GET", "/v1/ledger/feed", {"params": {"limit": 5}}, {REV, ADM}),
        ("GET", "/v1/ledger/heads", {}, {REV, ADM}),
        ("POST", "/v1/ledger/verify", {"json": {"checkpoint": json.loads(ids["checkpoint"]),
                                                "key": ids["key"]}}, {REV, ADM}),
        ("GET", "/v1/customers/m5/export", {}, {ADM}),
        ("POST", "/v1/customers/m-gone/erase", {}, {ADM}),
        ("GET", "/v1/agents", {}, EVERYONE),
        ("GET", "/v1/agents/upsell", {}, EVERYONE),
        ("POST", "/v1/agents", {"json": {"id": "new-seat", "owner": "ops"}}, {ADM}),
        ("PATCH", "/v1/agents/support", {"json": {"owner": "help-desk"}}, {ADM}),
        ("POST", "/v1/agents/reengage/pause", {"json": {"reason": "audit"}}, {ADM}),
        ("POST", "/v1/agents/reengage/resume", {}, {ADM}),
        ("POST", "/v1/handoffs", {"json": {"sender": "upsell", "receiver": "scheduler",
                                           "kind": "meeting-request", "payload": {}}}, {A, ADM}),
        ("GET", "/v1/inbox", {"params": {"agent": "upsell"}}, {A, ADM}),
        ("POST", f"/v1/handoffs/{ids['handoff']}/ack", {"json": {"agent": "upsell"}},
         {A, ADM}),
        ("GET", "/v1/handoffs", {}, {REV, ADM}),
        ("GET", "/v1/policy", {}, {REV, ADM}),
        ("POST", "/v1/policy:refresh", {}, {ADM}),
        ("POST", "/v1/policy", {"json": {"text": policy_text}}, {ADM}),
        ("POST", "/v1/webhooks", {"json": {"url": "http://127.0.0.1:9/hook"}}, {ADM}),
        ("GET", "/v1/webhooks", {}, {ADM}),
        ("GET", "/v1/outbox", {}, EVERYONE),
        ("GET", "/v1/outbox/summary", {}, {REV, ADM}),
        ("GET", "/v1/webhooks/dead-letters", {}, {ADM}),
    ]


def request_as(s: Server, role: str, method: str, path: str, **options: Any) -> httpx.Response:
    headers = dict(options.pop("headers", {}))
    if role == "bad":
        headers["Authorization"] = "Bearer acc_not-a-real-token"
    elif role != "none":
        headers["Authorization"] = f"Bearer {s.tokens[role]}"
    with httpx.Client(base_url=s.url, timeout=30) as http:
        return http.request(method, path, headers=headers, **options)


def refusals(s: Server) -> int:
    return sum(1 for e in s.service.ledger(limit=100_000) if e.kind == "refusal")


def test_every_role_is_allowed_or_refused_as_the_matrix_says_and_refusals_are_ledgered(
        sqlite_server: Server) -> None:
    s = sqlite_server
    upsell = s.service.propose("upsell", "m0", channel="email", intent="upsell",
                               trace_id="tr-m")
    flagged, flagged_too = (s.service.propose("upsell", c, channel="email", intent="upsell",
                                              offer={"product": "pro", "discount_pct": 30})
                            for c in ("m5", "m6"))
    assert upsell.touch_id and flagged.outcome == flagged_too.outcome == "flag"
    s.service.update_context("m-gone", {"upsell_score": 1}, expected_version=0)
    handoff = s.service.handoff("lead-scoring", "upsell", "scored-lead", {"score": 5})
    signer, public = new_key()
    until = datetime.fromtimestamp(s.service.clock() + 30 * 86400, UTC).isoformat()
    ids = {"touch": upsell.touch_id, "flagged": flagged.id, "decision": upsell.id,
           "flagged_too": flagged_too.id, "handoff": handoff.id, "until": until,
           "checkpoint": s.service.checkpoint(private_key(signer)).to_json(),
           "key": public.decode()}
    wrong: list[str] = []
    refused = 0
    for method, path, options, allowed in matrix(ids, s.service.policy.text):
        for role in ROLES:  # '{role}' in a path gives each role its own customer
            r = request_as(s, role, method, path.replace("{role}", role), **options)
            expected = 401 if role in ("none", "bad") else None if role in allowed else 403
            if expected is None and not 200 <= r.status_code < 300:
                wrong.append(f"{role} {method} {path}: {r.status_code}, expected success"
                             f" {r.text}")
            elif expected is not None and r.status_code != expected:
                wrong.append(f"{role} {method} {path}: {r.status_code}, expected {expected}")
            elif expected is not None:
                refused += expected == 403  # 401s are tallied per source (test_refusals.py)
                problem = r.json()
                assert r.headers["content-type"] == "application/problem+json"
                assert (problem["detail"] and problem.get("hint")) or problem.get("where")
            if r.status_code >= 500:
                wrong.append(f"{role} {method} {path}: server error {r.status_code} {r.text}")
    assert not wrong, "\n".join(wrong)
    assert refusals(s) == refused


def test_the_stream_admits_an_agent_only_to_its_own_messages(sqlite_server: Server) -> None:
    for role, agent, expected in [("none", "upsell", 401), ("agent_b", "upsell", 403),
                                  ("agent_a", "upsell", 200), ("reviewer", None, 200),
                                  ("admin", "upsell", 200)]:
        token = sqlite_server.tokens.get(role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        params = {"agent": agent} if agent else {}
        with httpx.Client(base_url=sqlite_server.url, timeout=30) as http, \
                http.stream("GET", "/v1/stream", headers=headers, params=params) as r:
            assert r.status_code == expected, role


def test_an_agent_reads_only_the_context_fields_its_grant_allows(sqlite_server: Server) -> None:
    s = sqlite_server
    s.service.update_context("g1", {"upsell_score": 3, "secret_note": "x"}, expected_version=0)
    text = s.service.policy.text.replace(
        "    context: {read: [\"*\"], write: [upsell_score]}",
        "    context: {read: [upsell_score], write: [upsell_score]}")
    assert text != s.service.policy.text
    with s.http("admin") as admin, s.http("agent_a") as upsell:
        assert admin.post("/v1/policy", json={"text": text}).status_code == 200
        seen = upsell.get("/v1/customers/g1/context").json()["fields"]
        full = admin.get("/v1/customers/g1/context").json()["fields"]
    assert seen == {"upsell_score": 3}
    assert full == {"upsell_score": 3, "secret_note": "x"}


@pytest.mark.parametrize("role", ["agent_a", "admin"])
def test_only_a_reviewer_approves_and_the_refusal_says_why(sqlite_server: Server,
                                                           role: str) -> None:
    d = sqlite_server.service.propose("upsell", "g2", channel="email", intent="upsell",
                                      offer={"product": "pro", "discount_pct": 30})
    with sqlite_server.http(role) as http:
        r = http.post(f"/v1/approvals/{d.id}/approve")
    assert r.status_code == 403
    assert "may not approve" in r.json()["detail"]
    assert sqlite_server.service.decision(d.id).approval == "pending"


def test_agent_calls_are_counted_per_protocol(sqlite_server: Server) -> None:
    with sqlite_server.http("agent_a") as http:
        for _ in range(3):
            http.get("/v1/agents")
    sqlite_server.app.state.usage.flush()
    with sqlite_server.service.store.read() as tx:
        row = tx.one("SELECT count FROM interfaces WHERE agent = 'upsell' AND protocol = 'http'")
    assert row is not None and row["count"] >= 3


@pytest.mark.parametrize("role", ["agent_a", "admin", "reviewer"])
def test_the_api_and_the_dashboard_apply_one_rule_for_who_approves(server: Server,
                                                                   role: str) -> None:
    """A reviewer approves, on both interfaces; an admin or an agent is refused on both."""
    d_api, d_ui = (server.service.propose("upsell", c, channel="email", intent="upsell",
                                          offer={"product": "pro", "discount_pct": 30})
                   for c in ("g-api", "g-ui"))
    with server.http(role) as http:
        api = http.post(f"/v1/approvals/{d_api.id}/approve")
        http.headers["Origin"] = server.url
        page = http.get("/ui/fleet").text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert found, page
        ui = http.post(f"/ui/approvals/{d_ui.id}", follow_redirects=False,
                       data={"verdict": "approve", "csrf": found.group(1)})
    allowed = role == "reviewer"
    assert (api.status_code, ui.status_code) == ((200, 303) if allowed else (403, 403))
    if not allowed:
        assert "may not approve" in api.json()["detail"] and "may not approve" in ui.text
    verdict = "approved" if allowed else "pending"
    assert [server.service.decision(d.id).approval for d in (d_api, d_ui)] == [verdict] * 2
