"""Operators' view of a live server: /metrics for Prometheus, spans that continue the caller's
trace, and spans exported over OTLP by `accord serve --otlp-endpoint`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from accord import Accord
from accord.http import create_app, create_token
from accord.policy import Policy
from accord.store import open_store
from accord.telemetry import Telemetry
from tests.conftest import EXAMPLE_POLICY, wait_until

from .conftest import BACKENDS, store_for
from .live_server import Running, Server, accord_serve, start

METRICS_TOKEN = "scrape-me-3f9a"


@pytest.fixture(params=BACKENDS)
def metered(request: pytest.FixtureRequest, tmp_path: Path, policy: Policy) -> Iterator[Server]:
    """A live server on each backend with a metrics token for the scraper."""
    yield from start(store_for(request.param, tmp_path), policy, metrics_token=METRICS_TOKEN)


def scrape(server: Server, token: str = METRICS_TOKEN) -> dict[tuple[str, frozenset[
        tuple[str, str]]], float]:
    r = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_decisions_by_agent_outcome_rule_and_channel(metered: Server) -> None:
    before = scrape(metered)
    with metered.http("agent_a") as http:
        for _ in range(2):
            r = http.post("/v1/proposals", json={"agent": "upsell", "customer": "ann@example.com",
                                                 "channel": "email", "intent": "upsell"})
            assert r.status_code == 200, r.text
    after = scrape(metered)
    go = {"agent": "upsell", "outcome": "go", "channel": "email"}
    defer = {**go, "outcome": "defer"}
    assert value(after, "accord_decisions_total", **go) == value(
        before, "accord_decisions_total", **go) + 1
    assert value(after, "accord_decisions_total", **defer) == value(
        before, "accord_decisions_total", **defer) + 1
    assert value(after, "accord_decision_rules_total", agent="upsell", rule="daily-cap",
                 outcome="defer") >= 1
    assert value(after, "accord_decision_seconds_count", outcome="go") >= 1
    assert value(after, "accord_http_request_seconds_count", outcome="2xx") >= 2
    labels = {k for (_, ls) in after for k, _ in ls}
    assert labels <= {"agent", "outcome", "rule", "channel", "le"}
    assert not any("ann@example.com" in v for (_, ls) in after for _, v in ls)


def test_metrics_report_queues_streams_and_the_store(metered: Server) -> None:
    samples = scrape(metered)
    for name in ("accord_http_in_flight", "accord_http_in_flight_limit",
                 "accord_http_overloaded_total", "accord_streams_open",
                 "accord_webhook_deliveries_pending", "accord_store_up"):
        assert (name, frozenset()) in samples, name
    assert value(samples, "accord_store_up") == 1
    if "postgres" in metered.service.store.__class__.__name__.lower():
        assert value(samples, "accord_store_pool_max") >= 1
        assert (("accord_store_pool_wait_seconds_total", frozenset())) in samples


def test_metrics_count_429s(tmp_path: Path, policy: Policy) -> None:
    for s in start(str(tmp_path / "tight.db"), policy, max_in_flight=1,
                   metrics_token=METRICS_TOKEN):
        s.app.state.in_flight.current = 1  # one request already in flight
        with s.http("agent_a") as http:
            refused = http.post("/v1/proposals", json={
                "agent": "upsell", "customer": "c1", "channel": "email", "intent": "upsell"})
        assert refused.status_code == 429
        assert value(scrape(s), "accord_http_overloaded_total") == 1  # /metrics is not bounded
        s.app.state.in_flight.current = 0


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("agent_a", 403), ("reviewer", 403),
                                             ("admin", 200)])
def test_metrics_need_the_metrics_token_or_an_admin_token(
        metered: Server, who: str | None, status: int) -> None:
    with metered.http(who) as http:
        r = http.get("/metrics")
    assert r.status_code == status, r.text
    if status != 200:
        problem = r.json()
        assert problem["where"] == "Authorization" and "--metrics-token" in problem["hint"]


def test_a_wrong_metrics_token_is_refused_with_a_problem(metered: Server) -> None:
    r = httpx.get(f"{metered.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def traced_server(tmp_path: Path, policy: Policy) -> Iterator[tuple[Server,
                                                                 InMemorySpanExporter]]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    service = Accord.open(tmp_path / "accord.db", policy=policy,
                          telemetry=Telemetry(tracer=provider.get_tracer("test")))
    token = create_token(service.store, "agent", "upsell")
    try:
        with Running(create_app(service, webhook_backoff=0.05)) as url:
            yield Server(url, service, None, {"agent_a": token}), spans
    finally:
        service.close()


def test_a_proposal_continues_the_agents_w3c_trace(
        traced_server: tuple[Server, InMemorySpanExporter]) -> None:
    server, spans = traced_server
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    with server.http("agent_a", traceparent=f"00-{trace_id}-{parent}-01") as http:
        r = http.post("/v1/proposals", json={"agent": "upsell", "customer": "c-42",
                                             "channel": "email", "intent": "upsell",
                                             "trace_id": "wf-9"})
    assert r.status_code == 200
    request = wait_until(lambda: [s for s in spans.get_finished_spans()
                                  if s.name == "POST /v1/proposals"], what="the request span")[0]
    assert f"{request.context.trace_id:032x}" == trace_id
    assert request.parent is not None and f"{request.parent.span_id:016x}" == parent
    attrs = dict(request.attributes or {})
    assert attrs["http.route"] == "/v1/proposals"
    assert attrs["http.response.status_code"] == 200
    [decide] = [s for s in spans.get_finished_spans() if s.name == "accord.decide"]
    assert decide.parent is not None and decide.parent.span_id == request.context.span_id
    assert decide.attributes["accord.trace_id"] == "wf-9"  # type: ignore[index]
    assert decide.attributes["accord.decision_id"] == r.json()["id"]  # type: ignore[index]


def test_a_request_span_is_named_by_route_not_by_a_path_holding_a_customer(
        traced_server: tuple[Server, InMemorySpanExporter]) -> None:
    server, spans = traced_server
    with server.http("agent_a") as http:
        http.get("/v1/customers/jane.doe@example.com/context")
    span = wait_until(lambda: [s for s in spans.get_finished_spans()
                               if s.kind.name == "SERVER"], what="the request span")[0]
    assert "jane" not in span.name and "jane" not in repr(dict(span.attributes or {}))


class _Collector(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: counts protobuf posts to /v1/traces."""

    posts: ClassVar[list[tuple[str, str, int]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, self.headers["Content-Type"], len(body)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, int]]]]:
    _Collector.posts = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Collector.posts
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_serve_with_an_otlp_endpoint_posts_protobuf_spans_to_the_collector(
        tmp_path: Path, collector: tuple[str, list[tuple[str, str, int]]]) -> None:
    endpoint, posts = collector
    db = str(tmp_path / "accord.db")
    store = open_store(db)
    try:
        token = create_token(store, "agent", "upsell")
    finally:
        store.close()
    with accord_serve("--db", db, "--policy", str(EXAMPLE_POLICY), "--otlp-endpoint", endpoint,
                      log_dir=tmp_path) as served:
        r = httpx.post(f"{served.url}/v1/proposals", headers={
            "Authorization": f"Bearer {token}"}, json={
            "agent": "upsell", "customer": "c1", "channel": "email", "intent": "upsell"})
        assert r.status_code == 200, r.text
        # the batch processor posts within its schedule delay (5 s by default)
        wait_until(lambda: posts, timeout=30, what="a span batch at the collector")
    path, content_type, size = posts[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf" and size > 0


def test_each_worker_built_from_the_environment_gets_tracing_and_the_metrics_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        collector: tuple[str, list[tuple[str, str, int]]]) -> None:
    from accord.http import _serving

    endpoint, _ = collector
    env = _serving.settings_env(str(tmp_path / "accord.db"), str(EXAMPLE_POLICY),
                                max_in_flight=8, base_url="http://127.0.0.1",
                                otlp_endpoint=endpoint, metrics_token=METRICS_TOKEN)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    app = _serving.app_from_env()
    assert app.state.service.telemetry.tracer is not None
    with Running(app) as url:
        r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200 and "accord_decisions_total" in r.text


def test_a_metrics_token_with_metrics_off_is_refused_at_start(tmp_path: Path,
                                                              policy: Policy) -> None:
    from accord import AccordError

    with Accord.open(tmp_path / "accord.db", policy=policy) as service, \
            pytest.raises(AccordError) as refused:
        create_app(service, metrics=False, metrics_token=METRICS_TOKEN)
    assert refused.value.where == "--metrics-token"
