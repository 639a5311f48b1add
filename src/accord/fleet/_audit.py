"""The fleet audit, computed from the store's own rows and ledger: nothing an agent reports about
itself is taken on trust. Each section answers one question of a coordination-maturity review.

``compute_audit`` reads the whole ledger once; it is an offline report, not a hot path.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from accord._time import iso
from accord.fleet._collusion import co_movement
from accord.fleet._handoff import is_person
from accord.fleet._seats import overlaps, unconsumed_outputs
from accord.ledger import _personal as personal
from accord.store import _interfaces as interface_rows
from accord.store import _reports as reports
from accord.store import redacted

if TYPE_CHECKING:
    from accord.service import Accord

SECTIONS = ("agents", "state", "protocols", "chains", "approvals", "overlaps", "handoffs",
            "prevented", "cost", "collusion")
BRIDGE_MIN = 3
"""A person relaying one agent's output to another this many times is a human bridge."""
BRIDGE_WINDOW = 24 * 3600.0


def compute_audit(acc: Accord, *, now: float | None = None,
                  sections: tuple[str, ...] = SECTIONS,
                  since: float | None = None) -> dict[str, Any]:
    """Every section (or the named ones) as plain JSON-ready data; with ``since``, of the
    ledger entries and decisions from that instant on."""
    now = acc.clock() if now is None else now
    seats = acc.seats()
    start = float("-inf") if since is None else since
    with acc.store.read() as tx:
        ledger = reports.ledger_since(tx, start)
        personal.reveal(tx, ledger)
        decisions = reports.decisions_since(tx, start)
        interfaces = interface_rows.every(tx)
        spend = reports.spend_by_agent(tx)
        traces = reports.traces(tx)
        counts = reports.table_sizes(tx)
    for e in ledger:
        e["body"] = json.loads(e["body"])
    bodies = [json.loads(d["body"]) for d in decisions]
    handoffs = acc.handoffs()
    data = {"ledger": ledger, "decisions": decisions, "bodies": bodies,
            "interfaces": interfaces, "spend": spend, "traces": traces, "counts": counts,
            "handoffs": handoffs, "seats": seats, "now": now}
    out: dict[str, Any] = {"generated_at": iso(now), "policy_version": acc.policy.version,
                           "store": _redact(acc.store.url)}
    for name in sections:
        out[name] = globals()[f"_{name}"](acc, data)
    return out


def _redact(url: str) -> str:
    return redacted(url)  # also masks ?password= and ?sslpassword=


def _agents(acc: Accord, d: dict[str, Any]) -> list[dict[str, Any]]:
    last: dict[str, float] = {}
    acted: Counter[str] = Counter()
    for e in d["ledger"]:
        if e["agent"] and e["kind"] in ("decision", "handoff", "handoff_ack", "context"):
            last[e["agent"]] = max(last.get(e["agent"], 0.0), e["at"])
            acted[e["agent"]] += 1
    return [{"id": s.id, "owner": s.owner, "team": s.team, "status": s.status,
             "mandate": {"intents": s.intents, "channels": s.channels, "actions": s.actions},
             "produces": s.produces, "consumes": s.consumes, "origin": s.origin,
             "last_acted": iso(last.get(s.id)), "actions_recorded": acted[s.id]}
            for s in d["seats"]]


def _state(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    writers: dict[str, set[str]] = defaultdict(set)
    for e in d["ledger"]:
        if e["kind"] == "context":
            who = e["agent"] or str(e["body"].get("by", "admin"))
            for f in e["body"].get("changes", {}):
                writers[f].add(who)
        elif e["kind"] == "event":
            for f in e["body"].get("changed", []):
                writers[f].add(f"event:{e['body'].get('type')}"
                               + (f" from {e['agent']}" if e["agent"] else ""))
    granted: dict[str, list[str]] = defaultdict(list)
    for s in d["seats"]:
        if s.status != "retired":
            for f in s.writes:
                granted[f].append(s.id)
    fields = sorted(set(writers) | set(granted))
    backend = "postgresql" if acc.store.url.startswith("postgres") else "sqlite"
    return {
        "store": {"backend": backend, "url": _redact(acc.store.url), "rows": d["counts"]},
        "consistency": ("the Accord service owns it: every write locks its customer and commits "
                        "one transaction; context writes name the version they read "
                        "(optimistic, never merged); reducers are the only event writers"),
        "fields": [{"field": f, "writers": sorted(writers.get(f, set())),
                    "granted_to": sorted(granted.get(f, [])),
                    "several_writers": len(writers.get(f, set())) > 1
                    or len(granted.get(f, [])) > 1} for f in fields]}


def _protocols(acc: Accord, d: dict[str, Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in d["interfaces"]:
        seen[r["agent"]][r["protocol"]] = {"count": int(r["count"]), "last_at": iso(r["last_at"])}
    active = {dd["agent"] for dd in d["decisions"]} | {h.sender for h in d["handoffs"]}
    rows = []
    for s in d["seats"]:
        protos = dict(seen.get(s.id, {}))
        if not protos and s.id in active:
            protos["in-process"] = {"count": None, "last_at": None, "inferred": True}
        rows.append({"agent": s.id, "protocols": sorted(protos), "detail": protos})
    return rows


def _chains(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    """A decision is fully reconstructable when its ledger entry exists, its chain verifies,
    and every parent link up from it resolves to a ledger entry."""
    report = acc.verify_ledger()
    broken = {p.split(":", 1)[0].removeprefix("chain ") for p in report.problems}
    by_ref: dict[str, dict[str, Any]] = {}
    for e in d["ledger"]:
        if e["ref"]:
            by_ref.setdefault(e["ref"], e)
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    ok = 0
    for dd in d["decisions"]:
        entry = by_ref.get(dd["id"])
        why = None
        if entry is None or entry["kind"] != "decision":
            why = "no ledger entry"
        elif entry["chain"] in broken:
            why = "its chain does not verify"
        else:
            hops = 0
            cur: dict[str, Any] | None = entry
            while cur is not None and hops < 1000:
                key = _parent_key_row(cur)
                if not key:
                    break
                cur, hops = by_ref.get(key), hops + 1
                if cur is None:
                    why = f"parent {key} is not in the ledger"
        if why is None:
            ok += 1
        else:
            failures[why.split(" ")[0] if why.startswith("parent") else why] += 1
            examples.setdefault(dd["id"], why)
    total = len(d["decisions"])
    return {"decisions": total, "reconstructable": ok,
            "share": round(ok / total, 4) if total else 1.0, "ledger_ok": report.ok,
            "ledger_problems": report.problems[:20], "failures": dict(failures),
            "examples": dict(list(examples.items())[:10])}


def _parent_key_row(e: dict[str, Any]) -> str | None:
    if e["kind"] == "decision" and e["body"].get("parent_decision"):
        return str(e["body"]["parent_decision"])
    return e["parent_id"]  # type: ignore[no-any-return]


def _approvals(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    flagged = [(dd, b) for dd, b in zip(d["decisions"], d["bodies"], strict=True)
               if dd["outcome"] == "flag"]
    reviewed = {e["ref"]: e for e in d["ledger"] if e["kind"] == "approval"}
    by_rule: Counter[str] = Counter()
    where: Counter[str] = Counter()
    waits, pending_waits = [], []
    for dd, b in flagged:
        p = b["proposal"]
        where[f"{dd['agent']} · {p['intent']} · {p['channel']}"] += 1
        for r in b.get("reasons", []):
            if r["effect"] == "flag":
                by_rule[r["rule"]] += 1
        decided = b.get("decided_at")
        start = _epoch(decided) if decided else dd["at"]
        rev = reviewed.get(dd["id"])
        if rev is not None:
            waits.append(rev["at"] - start)
        elif dd["approval"] == "pending":
            pending_waits.append(d["now"] - start)
    unapproved = [{"decision": dd["id"], "agent": dd["agent"], "customer": dd["customer"],
                   "action": b["proposal"]["action"]}
                  for dd, b in zip(d["decisions"], d["bodies"], strict=True)
                  if dd["outcome"] == "go" and b["proposal"].get("reversible") is False
                  and not b.get("parent_decision")]
    return {"flagged": len(flagged), "reviewed": len(waits), "pending": len(pending_waits),
            "by_rule": dict(by_rule.most_common()), "where": dict(where.most_common()),
            "wait_seconds": _dist(waits), "pending_wait_seconds": _dist(pending_waits),
            "irreversible_without_approval": len(unapproved),
            "irreversible_examples": unapproved[:10]}


def _epoch(value: str) -> float:
    from accord._time import to_epoch

    return to_epoch(value)


def _dist(xs: list[float]) -> dict[str, float | None]:
    if not xs:
        return {"count": 0, "median": None, "p90": None, "max": None}
    s = sorted(xs)
    return {"count": len(s), "median": round(statistics.median(s), 3),
            "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 3), "max": round(s[-1], 3)}


def _overlaps(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    found = overlaps(acc.policy)
    return {"unsettled": [o.model_dump(mode="json") | {"sentence": o.sentence()}
                          for o in found if not o.settled_by_precedence],
            "settled": [o.model_dump(mode="json") for o in found if o.settled_by_precedence],
            "removed_from_file": acc.seats_removed_from_file()}


def _handoffs(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    hs = d["handoffs"]
    now = d["now"]
    stuck = [{"id": h.id, "sender": h.sender, "receiver": h.receiver, "kind": h.kind,
              "overdue_seconds": round(now - h.due_at.timestamp(), 3)}
             for h in hs if h.stuck(now)]
    unread = [{"id": h.id, "sender": h.sender, "receiver": h.receiver, "kind": h.kind}
              for h in hs if h.read_at is None]
    return {"sent": len(hs), "acked": sum(1 for h in hs if h.acked_at),
            "unread": unread, "stuck": stuck,
            "orphan_outputs": unconsumed_outputs(acc.policy),
            "human_bridges": human_bridges(hs)}


def human_bridges(hs: list[Any], *, minimum: int = BRIDGE_MIN,
                  window: float = BRIDGE_WINDOW) -> list[dict[str, Any]]:
    """A person who receives from agent A and, within ``window``, sends on to agent B (the same
    customer, the same artifacts, or a reply to it), at least ``minimum`` times."""
    received: dict[str, list[Any]] = defaultdict(list)
    for h in hs:
        if is_person(h.receiver) and not is_person(h.sender):
            received[h.receiver].append(h)
    relays: Counter[tuple[str, str, str]] = Counter()
    for h in hs:
        if not is_person(h.sender) or is_person(h.receiver):
            continue
        hashes = {a.sha256 for a in h.artifacts}
        for src in received.get(h.sender, []):
            dt = h.created_at.timestamp() - src.created_at.timestamp()
            if not 0 <= dt <= window:
                continue
            if (h.parent_id == src.id or hashes & {a.sha256 for a in src.artifacts}
                    or (h.customer is not None and h.customer == src.customer)):
                relays[(src.sender, h.sender, h.receiver)] += 1
                break
    return [{"from": a, "person": p, "to": b, "relays": n,
             "advice": f"design a {a} → {b} handoff instead of relaying through {p}"}
            for (a, p, b), n in relays.most_common() if n >= minimum]


def classify(rule: str, acc: Accord) -> str:
    """Which coordination failure a rule prevents."""
    pol = acc.policy
    if rule in {c.id for c in pol.caps} or rule in ("budget", "trace-ceiling"):
        return "cap"
    if (rule in {s.id for s in pol.spacing} or rule in {c.id for c in pol.conflicts}
            or rule in ("claim", "precedence")):
        return "collision"
    if rule == "commitment":
        return "contradictory offer"
    for r in pol.rules:
        if r.id == rule:
            fields = r.when.customer_fields or frozenset()
            if re.search(r"opt|suppress|unsub|consent", rule + " " + " ".join(fields)):
                return "suppression hit"
            return "context-blind send"
    return "authority"


STATE = "(customer state)"


def _pair(agent: str, other: str) -> str:
    """One name per pair of agents, whichever of them was held back: A ↔ B and B ↔ A are the
    same pair. A change of customer state stays on the right."""
    first, second = (agent, other) if other == STATE else sorted((agent, other))
    return f"{first} ↔ {second}"


def _prevented(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    by_kind: Counter[str] = Counter()
    by_pair: Counter[str] = Counter()
    for dd, b in zip(d["decisions"], d["bodies"], strict=True):
        if dd["outcome"] == "go" and not b.get("preempted"):
            continue
        seen: set[str] = set()
        pairs: set[str] = set()
        for r in b.get("reasons", []):
            if r["effect"] not in ("stop", "defer") and r["rule"] != "precedence":
                continue  # a flag hands the call to a person; it prevents nothing by itself
            kind = classify(r["rule"], acc)
            if kind == "authority" or kind in seen:
                continue
            seen.add(kind)
            by_kind[kind] += 1
            refs = r.get("refs", {})
            others = refs.get("agents") or ([refs["agent"]] if "agent" in refs else [])
            pairs |= {_pair(dd["agent"], o) for o in others or [STATE] if o != dd["agent"]}
        for pair in pairs:
            by_pair[pair] += 1
    for e in d["ledger"]:
        if e["kind"] == "revocation" and str(e["body"].get("why", "")).startswith(
                ("event", "context change")):
            kind = "suppression hit" if "opted-out" in str(e["body"]["why"]) \
                else "context-blind send"
            by_kind[kind] += 1
            by_pair[_pair(e["agent"], STATE)] += 1
    return {"by_kind": dict(by_kind.most_common()), "by_pair": dict(by_pair.most_common()),
            "total": sum(by_kind.values())}


def _cost(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    return {"per_agent": {r["agent"]: {"usd": round(float(r["usd"]), 4),
                                       "tokens": int(r["tokens"])} for r in d["spend"]},
            "per_trace": [{"trace_id": r["trace_id"], "usd": round(float(r["usd"]), 4),
                           "tokens": int(r["tokens"]), "proposals": int(r["count"])}
                          for r in d["traces"][:50]]}


def _collusion(acc: Accord, d: dict[str, Any]) -> dict[str, Any]:
    activity: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    offers: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for dd, b in zip(d["decisions"], d["bodies"], strict=True):
        if b.get("parent_decision"):
            continue
        activity[dd["agent"]][dd["customer"]] += 1
        pct = (b["proposal"].get("offer") or {}).get("discount_pct")
        if pct is not None:
            offers[dd["agent"]][dd["customer"]].append(float(pct))
    population = sorted({dd["customer"] for dd in d["decisions"]})
    means = {a: {c: sum(v) / len(v) for c, v in cs.items()} for a, cs in offers.items()}
    pairs = (co_movement(activity, what="activity", population=population)
             + co_movement(means, what="offer values"))
    return {"statistic": "one-sided permutation test of Pearson r (200 shuffles), "
                         "flag p < 0.01 with >= 5 shared customers; see docs/governance.md",
            "flagged": [p for p in pairs if p["flagged"]], "pairs": pairs[:30]}


__all__ = ["SECTIONS", "classify", "compute_audit", "human_bridges"]
