"""A decision chain across agents, rendered three ways: a tree a person reads, JSON a program
reads back, and OpenTelemetry spans (OTLP JSON) that open in Jaeger or Tempo.

Links: an entry's parent is the entry whose ``ref`` its ``parent_id`` names (a decision, a
handoff, an event); a decision re-made after an approval hangs under the flagged decision.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from accord.model import LedgerEntry

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_PRIMARY = ("decision", "handoff", "event", "claim", "context", "seat")


def _parent_key(e: LedgerEntry) -> str | None:
    if e.kind == "decision" and e.body.get("parent_decision"):
        return str(e.body["parent_decision"])
    return e.parent_id


def links(entries: list[LedgerEntry]) -> tuple[dict[int, int | None], list[str]]:
    """Each entry's parent (by ledger seq), and the parent ids that resolve to no entry."""
    index: dict[str, int] = {}
    for e in sorted(entries, key=lambda e: (e.kind not in _PRIMARY, e.seq)):
        if e.ref:
            index.setdefault(e.ref, e.seq)
    parents: dict[int, int | None] = {}
    dangling = []
    for e in entries:
        key = _parent_key(e)
        target = index.get(key) if key else None
        if target == e.seq:
            target = None
        if key and target is None:
            dangling.append(key)
        parents[e.seq] = target
    return parents, sorted(set(dangling))


def _line(e: LedgerEntry) -> str:
    b = e.body
    who = e.agent or "-"
    if e.kind == "decision":
        p = b.get("proposal", {})
        rules = ", ".join(r["rule"] for r in b.get("reasons", [])) or "no rule matched"
        return (f"decision {e.ref} {who} {p.get('intent')}/{p.get('channel')} → "
                f"{str(b.get('outcome', '')).upper()} [{rules}] context v{b.get('context_version')}"
                f" policy {b.get('policy_version')}")
    if e.kind == "approval":
        return f"approval of {e.ref}: {b.get('verdict')} by {b.get('reviewer')}"
    if e.kind == "handoff":
        return (f"handoff {e.ref} {b.get('sender')} → {b.get('receiver')} [{b.get('kind')}] "
                f"{len(b.get('artifacts', []))} artifact(s)")
    if e.kind == "handoff_ack":
        return f"ack of {e.ref} by {who}"
    if e.kind == "event":
        return f"event {b.get('type')} {e.ref} (context v{b.get('version')})"
    if e.kind == "outcome":
        return f"outcome {e.ref}: {b.get('status')} ({who})"
    if e.kind == "revocation":
        return f"revocation {e.ref} of {who}: {b.get('why')}"
    return f"{e.kind} {e.ref or ''} {who}".rstrip()


def render_trace_tree(entries: list[LedgerEntry]) -> str:
    """The chain as an indented tree, in ledger order; each line names seq, time and who."""
    if not entries:
        return "(no entries)"
    parents, dangling = links(entries)
    children: dict[int | None, list[LedgerEntry]] = {}
    for e in sorted(entries, key=lambda e: e.seq):
        children.setdefault(parents[e.seq], []).append(e)
    agents = sorted({e.agent for e in entries if e.agent})
    traces = sorted({e.trace_id for e in entries if e.trace_id})
    out = [f"trace {', '.join(traces) or '(none)'} — {len(entries)} entries, "
           f"{len(agents)} agents: {', '.join(agents)}"]

    def walk(seq: int | None, prefix: str) -> None:
        kids = children.get(seq, [])
        for i, e in enumerate(kids):
            last = i == len(kids) - 1
            at = e.at.isoformat().replace("+00:00", "Z")
            out.append(f"{prefix}{'└─ ' if last else '├─ '}#{e.seq} {at} {_line(e)}")
            walk(e.seq, prefix + ("   " if last else "│  "))

    walk(None, "")
    if dangling:
        out.append(f"unresolved parents: {', '.join(dangling)}")
    return "\n".join(out)


def trace_json(entries: list[LedgerEntry]) -> dict[str, Any]:
    """Every entry (as the ledger holds it) plus the links, so the chain can be rebuilt."""
    parents, dangling = links(entries)
    return {"trace_ids": sorted({e.trace_id for e in entries if e.trace_id}),
            "agents": sorted({e.agent for e in entries if e.agent}),
            "complete": not dangling, "unresolved_parents": dangling,
            "entries": [{**e.model_dump(mode="json"), "parent_seq": parents[e.seq]}
                        for e in sorted(entries, key=lambda e: e.seq)]}


def otlp_trace_id(trace_id: str) -> str:
    """A W3C trace id (32 hex): the trace id itself when it already is one, else a digest."""
    t = trace_id.lower().replace("-", "")
    return t if _HEX32.match(t) else hashlib.sha256(trace_id.encode()).hexdigest()[:32]


def _span_id(e: LedgerEntry) -> str:
    return e.hash[:16]


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _attributes(e: LedgerEntry) -> list[dict[str, Any]]:
    b = e.body
    pairs: dict[str, Any] = {"accord.kind": e.kind, "accord.seq": e.seq, "accord.chain": e.chain,
                             "accord.hash": e.hash}
    for key, value in (("accord.agent", e.agent), ("accord.customer", e.customer),
                       ("accord.ref", e.ref), ("accord.trace_id", e.trace_id),
                       ("accord.parent_id", e.parent_id)):
        if value is not None:
            pairs[key] = value
    if e.kind == "decision":
        p = b.get("proposal", {})
        pairs.update({"accord.outcome": b.get("outcome"), "accord.intent": p.get("intent"),
                      "accord.channel": p.get("channel"),
                      "accord.context_version": int(b.get("context_version") or 0),
                      "accord.policy_version": b.get("policy_version"),
                      "accord.rules": ",".join(r["rule"] for r in b.get("reasons", []))})
    elif e.kind == "approval":
        pairs.update({"accord.reviewer": b.get("reviewer"), "accord.verdict": b.get("verdict")})
    elif e.kind == "handoff":
        pairs.update({"accord.receiver": b.get("receiver"), "accord.handoff_kind": b.get("kind"),
                      "accord.artifacts": ",".join(a.get("sha256", "")
                                                   for a in b.get("artifacts", []))})
    return [_attr(k, v) for k, v in pairs.items() if v is not None]


def to_otlp(entries: list[LedgerEntry], *, trace_id: str | None = None) -> dict[str, Any]:
    """OTLP/JSON (``ExportTraceServiceRequest``): one resource per agent (service.name), one
    span per ledger entry, parent spans following the chain's links."""
    if trace_id is None:
        counts = Counter(e.trace_id for e in entries if e.trace_id)
        trace_id = counts.most_common(1)[0][0] if counts else "accord"
    tid = otlp_trace_id(trace_id)
    parents, _ = links(entries)
    by_seq = {e.seq: e for e in entries}
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for e in sorted(entries, key=lambda e: e.seq):
        start = round(e.at.timestamp() * 1e6) * 1000
        span: dict[str, Any] = {
            "traceId": tid, "spanId": _span_id(e), "name": f"{e.kind} {e.agent or ''}".strip(),
            "kind": 1, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 1000),
            "attributes": _attributes(e)}
        parent = parents[e.seq]
        if parent is not None:
            span["parentSpanId"] = _span_id(by_seq[parent])
        by_agent.setdefault(e.agent or "accord", []).append(span)
    return {"resourceSpans": [
        {"resource": {"attributes": [_attr("service.name", agent),
                                     _attr("service.namespace", "accord")]},
         "scopeSpans": [{"scope": {"name": "accord.ledger"}, "spans": spans}]}
        for agent, spans in sorted(by_agent.items())]}
