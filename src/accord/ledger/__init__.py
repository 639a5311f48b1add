"""The ledger, in one place: its hash chain, appending an entry, reading (pages, the feed, a
trace) and verifying every chain. One chain per customer (plus one for the fleet), so appending
never contends across customers and every chain lives in its customer's partition. The rows
themselves are read and written by ``accord.store._ledger``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from accord._errors import InvalidInput, LedgerMismatch
from accord._json import canonical, dumps
from accord.ledger import _personal as personal
from accord.model import Decision, LedgerEntry
from accord.store import _ledger as rows
from accord.store._base import CustomerRow, Tx

GENESIS = "0" * 64
FLEET = "_fleet"
"""The chain for entries about no single customer: seats, policy, tokens."""


def entry_hash(prev_hash: str, chain: str, chain_seq: int, kind: str, at: float,
               agent: str | None, trace_id: str | None, parent_id: str | None, ref: str | None,
               body: str) -> str:
    """SHA-256 over the entry's header (canonical JSON) and its body exactly as stored, so
    verifying never depends on serializing the body the same way twice."""
    header = canonical([prev_hash, chain, chain_seq, kind, round(at, 6), agent, trace_id,
                        parent_id, ref])
    return hashlib.sha256(header + b"\n" + body.encode()).hexdigest()


# -- writing -----------------------------------------------------------------------------------

def append(tx: Tx, row: CustomerRow, kind: str, at: float, *, agent: str | None = None,
           trace_id: str | None = None, parent_id: str | None = None,
           ref: str | None = None, body: dict[str, Any] | str) -> str:
    """Extend ``row``'s chain by one entry; the caller saves ``row`` before commit. ``body``
    may come already serialized (JSON text), as a decision's does."""
    seq = row.chain_seq + 1
    text = body if isinstance(body, str) else dumps(body)
    digest = entry_hash(row.chain_head, row.id, seq, kind, round(at, 6), agent, trace_id,
                        parent_id, ref, text)
    rows.insert(tx, row.id, seq, kind, round(at, 6), agent, trace_id, parent_id, ref, text,
                row.chain_head, digest)
    row.chain_seq, row.chain_head = seq, digest
    return digest


# -- reading -----------------------------------------------------------------------------------

def entry(r: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(seq=r["seq"], chain=r["chain"], chain_seq=r["chain_seq"], kind=r["kind"],
                       at=r["at"], customer=r["customer"], agent=r["agent"],
                       trace_id=r["trace_id"], parent_id=r["parent_id"], ref=r["ref"],
                       body=r["body_value"] if "body_value" in r else json.loads(r["body"]),
                       prev_hash=r["prev_hash"], hash=r["hash"])


def page(tx: Tx, after: int, limit: int) -> list[LedgerEntry]:
    return [entry(r) for r in personal.unseal(tx, rows.after(tx, after, limit))]


def iter_pages(page: Callable[[int, int], list[LedgerEntry]], batch: int
               ) -> Iterator[LedgerEntry]:
    """Every entry in ``seq`` order, ``batch`` at a time from ``page(after, limit)`` (a store
    read in the service, a ``GET /v1/ledger`` in the client)."""
    after = 0
    while True:
        entries = page(after, batch)
        if not entries:
            return
        yield from entries
        after = entries[-1].seq


def trace(tx: Tx, trace_id: str) -> list[LedgerEntry]:
    """Every entry of ``trace_id`` (already resolved from a decision id), in order, with what
    its decisions caused outside it (revocations of other agents' touches)."""
    found = rows.of_trace(tx, trace_id)
    found += rows.caused_by(tx, [r["ref"] for r in found if r["kind"] == "decision"], trace_id)
    personal.unseal(tx, found)
    found.sort(key=lambda r: r["seq"])
    return [entry(r) for r in found]


def cursor(after: str | None) -> tuple[int, int]:
    """A feed cursor ``<writer tx>.<seq>`` as numbers (none: the start)."""
    if after is None or after == "":
        return 0, 0
    parts = after.split(".") if isinstance(after, str) else []
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        raise InvalidInput(f"{str(after)[:40]!r} is not a ledger feed cursor", where="after",
                           hint="pass the `cursor` of the page you last read, or nothing to "
                                "start at the beginning")
    return int(parts[0]), int(parts[1])


def feed(tx: Tx, postgres: bool, after: str | None, limit: int
         ) -> tuple[list[LedgerEntry], str]:
    """One page of the feed after the cursor ``after`` and the cursor to resume from."""
    tx_pos, seq_pos = cursor(after)
    found = personal.unseal(tx, rows.feed(tx, postgres, tx_pos, seq_pos, limit))
    nxt = f"{found[-1]['feed_tx']}.{found[-1]['seq']}" if found else f"{tx_pos}.{seq_pos}"
    return [entry(r) for r in found], nxt


def digest(e: dict[str, Any]) -> str:
    """The hash a stored entry should have."""
    return entry_hash(e["prev_hash"], e["chain"], e["chain_seq"], e["kind"], e["at"], e["agent"],
                      e["trace_id"], e["parent_id"], e["ref"], e["body"])


def checked_decision(tx: Tx, decision_id: str, stored: str) -> Decision:
    """The decision as its row says, only if the ledger agrees: the row must equal the
    ledger's decision entry (whose hash must hold), with the approval the ledger's own
    approval entry records. A forged row is refused, never served as truth."""
    try:
        served: Decision | None = Decision.model_validate_json(stored)
    except ValidationError:
        served = None
    entries = rows.of_decision(tx, decision_id)
    recorded = next((e for e in entries if e["kind"] == "decision"), None)
    why = None
    if served is None:
        why = "its stored row is not a valid decision"
    elif recorded is None:
        why = "it has no ledger entry"
    elif digest(recorded) != recorded["hash"]:
        why = f"its ledger entry {recorded['seq']} does not match its hash"
    else:
        truth = Decision.model_validate_json(recorded["body"])
        review = [e for e in entries if e["kind"] == "approval"]
        if review:
            truth = truth.model_copy(update={"approval": json.loads(review[-1]["body"])
                                             .get("verdict")})
        if truth != served:
            why = f"its stored row differs from ledger entry {recorded['seq']}"
    if why is not None:
        raise LedgerMismatch(f"decision {decision_id} cannot be trusted: {why}",
                             where="decision_id",
                             hint="the decisions table was altered outside Accord; run "
                                  "`accord ledger verify --checkpoint` and investigate")
    assert served is not None
    return served


# -- verifying ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Walk:
    """What recomputing every chain found: problems, each chain's head, the hashes at the
    positions asked for (a checkpoint's), and how many entries there were."""

    problems: list[str] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)
    entries: int = 0


def walk(tx: Tx, wanted: dict[str, tuple[int, str]],
         heads: list[dict[str, Any]]) -> Walk:
    """Recompute every chain inside ``tx``; note the hash at each ``wanted`` position.
    ``heads`` are the customer rows' saved chain heads (``id, chain_seq, chain_head``)."""
    w = Walk()
    sealed: list[tuple[str, str, str, str, int]] = []
    erased: dict[str, int] = {}
    for e in rows.every(tx):
        w.entries += 1
        chain = e["chain"]
        seq, head = w.heads.get(chain, (0, GENESIS))
        where = f"chain {chain}: entry {e['seq']} ({e['kind']} {e['ref'] or ''})"
        sealed += [(chain, ref, want, where, e["chain_seq"])
                   for ref, want in personal.sealed_in(e["body"])]
        if e["kind"] == "erasure":
            erased[chain] = e["chain_seq"]
        if e["chain_seq"] != seq + 1:
            w.problems.append(f"{where} has position {e['chain_seq']}, expected {seq + 1} "
                              "(an entry was removed or inserted)")
        if e["prev_hash"] != head:
            w.problems.append(f"{where} does not link to the entry before it")
        if digest(e) != e["hash"]:
            w.problems.append(f"{where} was altered: its content does not match its hash")
        w.heads[chain] = (e["chain_seq"], e["hash"])
        mark = wanted.get(chain)
        if mark is not None and mark[0] == e["chain_seq"]:
            w.marks[chain] = e["hash"]
    for r in heads:
        seen = w.heads.get(r["id"])
        if seen is None or seen != (r["chain_seq"], r["chain_head"]):
            w.problems.append(f"chain {r['id']}: its head says entry {r['chain_seq']} but the "
                              f"ledger ends at {seen[0] if seen else 0} (entries were removed "
                              "from the end)")
    w.problems += personal.check(tx, sealed, erased)
    return w


__all__ = [
    "FLEET",
    "GENESIS",
    "Walk",
    "append",
    "canonical",
    "checked_decision",
    "cursor",
    "digest",
    "entry",
    "entry_hash",
    "feed",
    "iter_pages",
    "page",
    "trace",
    "walk",
]
