"""The lean path for ``POST /v1/proposals`` (``accord.http._lean``) answers exactly as the
route does: two live servers, one with the lean path and one without, each over its own store
on the same clock and policy, get the same requests in the same order (proposals, bad bodies,
bad tokens, odd headers, reused idempotency keys) and must give the same status, body and the
headers that matter. Ids are random on each side, so they are compared by shape."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord import Accord
from accord.http import create_app, create_token
from accord.policy import Policy
from tests.conftest import Clock

from .conftest import BACKENDS, store_for
from .live_server import ROLES, Running

HEADERS = ("content-type", "www-authenticate", "retry-after", "allow", "idempotent-replayed")
"""The answer's headers that must agree (date, server and length aside)."""
_ID = re.compile(r"\b(d|t|s|c|e|h|cl)_[0-9a-f]{20}\b")


@dataclass
class Side:
    url: str
    service: Accord
    app: Any
    tokens: dict[str, str]
    threads: list[str]
    """The thread each decision ran on."""


def _side(url: str, policy: Policy, *, lean: bool) -> Iterator[Side]:
    service = Accord.open(url, policy=policy, clock=Clock())
    threads: list[str] = []
    submit = service.submit

    def observed(p: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread().name)
        return submit(p, **kw)

    service.submit = observed  # type: ignore[method-assign]
    tokens = {name: create_token(service.store, role, subject)  # type: ignore[arg-type]
              for name, (role, subject) in ROLES.items()}
    app = create_app(service, lean=lean, background=False)
    try:
        with Running(app) as base:
            yield Side(base, service, app, tokens, threads)
    finally:
        service.close()


@pytest.fixture(params=BACKENDS)
def sides(request: pytest.FixtureRequest, tmp_path: Path,
          policy: Policy) -> Iterator[tuple[Side, Side]]:
    (tmp_path / "lean").mkdir()
    (tmp_path / "route").mkdir()
    for lean in _side(store_for(request.param, tmp_path / "lean"), policy, lean=True):
        for route in _side(store_for(request.param, tmp_path / "route"), policy, lean=False):
            yield lean, route


AGENTS = ["upsell", "churn-guard", "email-cadence", "nobody"]
TOKENS = ["admin", "agent_a", "agent_b", "reviewer", "unknown", "missing", "basic", "empty"]

proposals = st.fixed_dictionaries(
    {"agent": st.sampled_from(AGENTS),
     "customer": st.sampled_from(["c1", "c2", "c3", "", "c\u00e9", "x" * 300]),
     "channel": st.sampled_from(["email", "sms", "voice", "in_app", "fax"]),
     "intent": st.sampled_from(["upsell", "retain", "nurture", "winback", "shout"])},
    optional={"idempotency_key": st.sampled_from(["k1", "k2", "k3"]),
              "at": st.sampled_from(["2026-11-24T10:00:00Z", 1e300, "soon", True, 1795000000]),
              "cost": st.sampled_from([{"usd": 0.5}, {"usd": -1}, {"tokens": 10}, "cheap"]),
              "value": st.sampled_from([1.0, "high", None]),
              "surprise": st.just(1),
              "on_defer": st.sampled_from(["drop", "reschedule", "later"])})
bodies = st.one_of(
    proposals.map(lambda p: json.dumps(p).encode()),
    st.sampled_from([b"", b"{", b"[]", b"null", b'"x"', b"{}", b'{"agent": 1}',
                     b'{"agent": "upsell", "customer": "c1", "channel": "email", '
                     b'"intent": "upsell", "agent": "churn-guard"}']))
requests = st.fixed_dictionaries({
    "token": st.sampled_from(TOKENS),
    "content_type": st.sampled_from(["application/json", "application/json; charset=utf-8",
                                     "text/plain", None, "application/merge-patch+json"]),
    "key": st.sampled_from([None, "k1", "k2", "k4", "", "k 1", "y" * 201]),
    "body": bodies})


def _ask(side: Side, req: dict[str, Any]) -> httpx.Response:
    headers: dict[str, str] = {}
    token = req["token"]
    if token in side.tokens:
        side.app.state.tokens.resolve(side.tokens[token])  # warm: the lean path needs a hit
        headers["Authorization"] = f"Bearer {side.tokens[token]}"
    elif token == "unknown":
        headers["Authorization"] = "Bearer acc_not-a-token"
    elif token == "basic":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    elif token == "empty":
        headers["Authorization"] = "Bearer"
    if req["content_type"] is not None:
        headers["Content-Type"] = req["content_type"]
    if req["key"] is not None:
        headers["Idempotency-Key"] = req["key"]
    return httpx.post(f"{side.url}/v1/proposals", content=req["body"], headers=headers,
                      timeout=30)


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], str]:
    headers = {k: answer.headers[k] for k in HEADERS if k in answer.headers}
    return answer.status_code, headers, _ID.sub(r"\1_*", answer.text)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(requests, min_size=1, max_size=4))
def test_the_lean_path_answers_every_request_as_the_route_does(
        sides: tuple[Side, Side], batch: list[dict[str, Any]]) -> None:
    lean, route = sides
    for req in batch:
        assert _shape(_ask(lean, req)) == _shape(_ask(route, req)), req


def test_proposals_the_route_would_decide_are_decided_on_the_lane(
        sides: tuple[Side, Side]) -> None:
    lean, route = sides
    body = {"agent": "upsell", "customer": "lane", "channel": "email", "intent": "upsell"}
    for side in (lean, route):
        for i in range(3):
            answer = _ask(side, {"token": "admin", "content_type": "application/json",
                                 "key": f"lane-{i}", "body": json.dumps(body).encode()})
            assert answer.status_code == 200, answer.text
    assert lean.threads and all(t.startswith("accord-decide") for t in lean.threads)
    assert route.threads and not any(t.startswith("accord-decide") for t in route.threads)
    # a token the cache does not know yet goes to the route, which resolves and caches it
    fresh = create_token(lean.service.store, "admin", "fresh")
    lean.threads.clear()
    for _ in range(2):
        answer = httpx.post(f"{lean.url}/v1/proposals", json=body, timeout=30,
                            headers={"Authorization": f"Bearer {fresh}"})
        assert answer.status_code == 200
    assert not lean.threads[0].startswith("accord-decide")
    assert lean.threads[1].startswith("accord-decide")
