"""A decision's span and metrics, on both stores, through the embedded API."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from accord import Accord
from accord.policy import Policy
from accord.telemetry import OFF, PHASES, Telemetry
from accord.telemetry._metrics import MAX_VALUES, Metrics
from tests.conftest import Clock


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


@pytest.fixture
def traced(store_url: str, clock: Clock, policy: Policy, spans: InMemorySpanExporter,
           metrics: Metrics) -> Iterator[Accord]:
    """An Accord on each backend whose spans land in ``spans`` and metrics in ``metrics``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tel = Telemetry(tracer=provider.get_tracer("test"), metrics=metrics)
    a = Accord.open(store_url, policy=policy, clock=clock, telemetry=tel)
    yield a
    a.close()


def decide_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == "accord.decide"]


def children(spans: InMemorySpanExporter, parent: ReadableSpan) -> list[ReadableSpan]:
    return sorted((s for s in spans.get_finished_spans()
                   if s.parent is not None and s.parent.span_id == parent.context.span_id),
                  key=lambda s: s.start_time or 0)


def count(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_each_decision_is_one_span_with_its_phases_in_order(
        traced: Accord, spans: InMemorySpanExporter) -> None:
    d = traced.propose("upsell", "cust-7", channel="email", intent="upsell",
                       trace_id="tr-1", parent_id="step-0")
    [span] = decide_spans(spans)
    phases = children(spans, span)
    assert [s.name for s in phases] == [f"accord.{p}" for p in PHASES]
    assert all(a.end_time == b.start_time for a, b in pairwise(phases))
    assert phases[0].start_time == span.start_time and phases[-1].end_time == span.end_time
    attrs = dict(span.attributes or {})
    assert attrs["accord.agent"] == "upsell" and attrs["accord.outcome"] == "go"
    assert attrs["accord.decision_id"] == d.id
    assert (attrs["accord.trace_id"], attrs["accord.parent_id"]) == ("tr-1", "step-0")
    assert attrs["accord.channel"] == "email" and attrs["accord.rules"] == ()


def test_a_deferred_decision_names_its_rules_in_span_and_counters(
        traced: Accord, spans: InMemorySpanExporter, metrics: Metrics) -> None:
    traced.propose("upsell", "c1", channel="email", intent="upsell")
    d = traced.propose("upsell", "c1", channel="email", intent="upsell")
    assert d.outcome.value == "defer"
    rules = sorted({r.rule for r in d.reasons})
    assert tuple(rules) == decide_spans(spans)[-1].attributes["accord.rules"]  # type: ignore[index]
    assert count(metrics, "accord_decisions_total", agent="upsell", outcome="go",
                 channel="email") == 1
    assert count(metrics, "accord_decisions_total", agent="upsell", outcome="defer",
                 channel="email") == 1
    for r in d.reasons:
        assert count(metrics, "accord_decision_rules_total", agent="upsell", rule=r.rule,
                     outcome=r.effect.value) >= 1
    assert count(metrics, "accord_decision_seconds_count", outcome="defer") == 1


def test_no_span_attribute_or_metric_names_the_customer(
        traced: Accord, spans: InMemorySpanExporter, metrics: Metrics) -> None:
    customer = "jane.doe@example.com"
    traced.propose("upsell", customer, channel="email", intent="upsell")
    traced.propose("upsell", customer, channel="email", intent="upsell")
    for s in spans.get_finished_spans():
        assert customer not in repr(dict(s.attributes or {})) and customer not in s.name
    from prometheus_client import generate_latest

    assert customer.encode() not in generate_latest(metrics.registry)


def test_a_customer_key_exports_a_keyed_hash_instead_of_the_id(
        store_url: str, clock: Clock, policy: Policy, spans: InMemorySpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tel = Telemetry(tracer=provider.get_tracer("test"), customer_key=b"k1")
    with Accord.open(store_url, policy=policy, clock=clock, telemetry=tel) as a:
        a.propose("upsell", "cust-7", channel="email", intent="upsell")
        a.propose("churn-guard", "cust-7", channel="email", intent="retain")
    hashes = {s.attributes["accord.customer.hmac"]  # type: ignore[index]
              for s in decide_spans(spans)}
    assert len(hashes) == 1 and "cust-7" not in hashes.pop()
    assert tel.customer_hash("cust-7") != Telemetry(customer_key=b"k2").customer_hash("cust-7")


def test_an_idempotent_retry_is_a_replayed_span_and_is_not_counted_again(
        traced: Accord, spans: InMemorySpanExporter, metrics: Metrics) -> None:
    first = traced.propose("upsell", "c1", channel="email", intent="upsell",
                           idempotency_key="k-1")
    again = traced.propose("upsell", "c1", channel="email", intent="upsell",
                           idempotency_key="k-1")
    assert again.id == first.id
    replay = decide_spans(spans)[-1]
    assert replay.attributes["accord.replayed"] is True  # type: ignore[index]
    assert count(metrics, "accord_decisions_total", agent="upsell", outcome="go",
                 channel="email") == 1


def test_a_refused_proposal_ends_its_span_as_an_error_without_the_message(
        traced: Accord, spans: InMemorySpanExporter, metrics: Metrics) -> None:
    from accord import AccordError

    traced.propose("upsell", "c1", channel="email", intent="upsell", idempotency_key="k-1")
    with pytest.raises(AccordError):
        traced.propose("upsell", "c1", channel="sms", intent="upsell", idempotency_key="k-1")
    failed = decide_spans(spans)[-1]
    assert not failed.status.is_ok
    assert failed.attributes["accord.error"] == "IdempotencyConflict"  # type: ignore[index]
    assert "k-1" not in (failed.status.description or "")
    assert not failed.events  # no exception event: its text may carry personal data


def test_an_approval_is_a_decision_span_and_counted_with_its_parent(
        traced: Accord, spans: InMemorySpanExporter, metrics: Metrics) -> None:
    traced.record_event("c1", "stage_changed", data={"stage": "renewal"})
    flagged = traced.propose("upsell", "c1", channel="email", intent="upsell")
    assert flagged.outcome.value == "flag"
    approved = traced.approve(flagged.id, reviewer="rita")
    last = decide_spans(spans)[-1]
    attrs = dict(last.attributes or {})
    assert attrs["accord.decision_id"] == approved.id
    assert attrs["accord.parent_decision"] == flagged.id
    assert count(metrics, "accord_decisions_total", agent="upsell", outcome="flag",
                 channel="email") == 1
    assert count(metrics, "accord_decisions_total", agent="upsell",
                 outcome=approved.outcome.value, channel="email") == 1


def test_without_telemetry_a_decision_reports_nothing(acc: Accord) -> None:
    assert acc.telemetry is OFF
    assert acc.propose("upsell", "c1", channel="email", intent="upsell").outcome.value == "go"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3 * MAX_VALUES))
def test_label_values_stay_bounded_whatever_agents_propose(names: list[str]) -> None:
    from accord.telemetry._metrics import _Bounded

    bound = _Bounded(limit=MAX_VALUES)
    seen = {bound(n) for n in names}
    assert len(seen) <= MAX_VALUES + 1
    assert all(bound(n) == n for n in list(dict.fromkeys(names))[:MAX_VALUES])


def test_a_sampled_out_decision_builds_no_phase_spans(
        tmp_path: Path, clock: Clock, policy: Policy, spans: InMemorySpanExporter) -> None:
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class Never(Sampler):
        asked = 0

        def should_sample(self, *args: object, **kwargs: object) -> SamplingResult:
            Never.asked += 1
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return "never"

    provider = TracerProvider(sampler=Never())
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tel = Telemetry(tracer=provider.get_tracer("test"))
    with Accord.open(f"{tmp_path}/a.db", policy=policy, clock=clock, telemetry=tel) as a:
        assert a.propose("upsell", "c1", channel="email", intent="upsell").outcome.value == "go"
    assert spans.get_finished_spans() == ()
    assert Never.asked == 1  # the decision's span only: its phases are never started


def test_deciding_without_telemetry_imports_neither_opentelemetry_nor_prometheus(
        tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import EXAMPLE_POLICY

    code = (f"import sys\nfrom accord import Accord\n"
            f"with Accord.open({str(tmp_path) + '/a.db'!r}, policy={str(EXAMPLE_POLICY)!r}) as a:\n"
            "    a.propose('upsell', 'c1', channel='email', intent='upsell')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'opentelemetry', 'prometheus_client'}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_asking_for_tracing_without_the_extra_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from accord import AccordError
    from accord.telemetry import from_environment

    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(AccordError) as refused:
        from_environment("http://127.0.0.1:4318")
    assert "accord[otel]" in str(refused.value) and refused.value.where == "--otlp-endpoint"
    quiet = from_environment(None, environ={})
    assert quiet.tracer is None and not quiet.on


def test_the_standard_otel_variables_turn_tracing_on_and_off() -> None:
    from accord.telemetry import from_environment

    on = from_environment(None, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert on.tracer is not None
    off = from_environment(None, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
                                          "OTEL_SDK_DISABLED": "true"})
    assert off.tracer is None
