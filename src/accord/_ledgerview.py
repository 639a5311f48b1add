"""Reading and verifying the ledger on the service. Mixed into ``Accord``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accord import _checkpoint
from accord import _personal as personal
from accord._checkpoint import Checkpoint
from accord._errors import InvalidInput, LedgerMismatch
from accord._time import Clock
from accord.ledger import FLEET, GENESIS, entry_hash
from accord.model import Decision, LedgerEntry, LedgerPage, LedgerReport
from accord.store import Store, Tx
from accord.store import _rows as sql

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


class LedgerMixin:
    store: Store
    clock: Clock

    # -- ledger ------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        """Every ledger entry of a trace, in order: proposals and decisions, the events and
        revocations they caused, approvals and outcomes. A decision id names its trace."""
        with self.store.read() as tx:
            d = tx.one("SELECT trace_id FROM decisions WHERE id = ?", (trace_id,))
            if d is not None and d["trace_id"]:
                trace_id = d["trace_id"]
            rows = tx.rows(sql.TRACE, (trace_id, trace_id))
            refs = [r["ref"] for r in rows if r["kind"] == "decision"]
            if refs:
                marks = ",".join("?" * len(refs))
                rows += tx.rows(f"SELECT * FROM ledger WHERE parent_id IN ({marks}) AND "
                                "(trace_id IS NULL OR trace_id <> ?) ORDER BY seq",
                                (*refs, trace_id))
            personal.unseal(tx, rows)
        rows.sort(key=lambda r: r["seq"])
        return [_entry(r) for r in rows]

    def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        with self.store.read() as tx:
            rows = personal.unseal(tx, tx.rows(
                "SELECT * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)))
        return [_entry(r) for r in rows]

    def ledger_feed(self, after: str | None = None, *, limit: int = 1000) -> LedgerPage:
        """The entries committed after ``after`` (a cursor from an earlier page; none for the
        start), oldest first. Unlike ``ledger(after=seq)``, resuming from ``cursor`` never
        misses an entry whose lower ``seq`` committed late (PostgreSQL allocates ``seq`` at
        insert, not at commit); an entry still being committed waits for the next page."""
        tx_pos, seq_pos = _cursor(after)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be an integer from 1 to 10000", where="limit")
        postgres = self.store.url.startswith(("postgresql://", "postgres://"))
        with self.store.read() as tx:
            if postgres:
                rows = tx.rows(sql.FEED["postgres"], (tx_pos, seq_pos, limit))
            else:
                rows = tx.rows(sql.FEED["sqlite"], (seq_pos, limit))
            personal.unseal(tx, rows)
        cursor = f"{rows[-1]['feed_tx']}.{rows[-1]['seq']}" if rows else f"{tx_pos}.{seq_pos}"
        return LedgerPage(entries=[_entry(r) for r in rows], cursor=cursor)

    def iter_ledger(self, batch: int = 5000) -> Iterator[LedgerEntry]:
        after = 0
        while True:
            page = self.ledger(after=after, limit=batch)
            if not page:
                return
            yield from page
            after = page[-1].seq

    def verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                      key: Ed25519PublicKey | None = None) -> LedgerReport:
        """Recompute every chain; name each entry whose hash or link does not hold.

        Pages and chain heads are read in one snapshot (one read transaction: REPEATABLE READ
        on PostgreSQL), so entries committed while verifying are either wholly seen with
        their head or not at all — a live writer never looks like tampering.

        With a ``checkpoint`` (and the public ``key`` it was signed with) it also proves the
        ledger is a consistent extension of it: no checkpointed entry removed, rewritten,
        reordered or replaced, even by someone who recomputed every hash and head."""
        if checkpoint is not None:
            if key is None:
                raise InvalidInput("a checkpoint needs the public key it was signed with",
                                   where="key", hint="pass the .pub file of the signing key")
            problems = _checkpoint.signature_problems(checkpoint, key)
            if problems:
                return LedgerReport(ok=False, entries=0, chains=0, problems=problems)
        with self.store.read() as tx:
            walk = _walk(tx, checkpoint.heads if checkpoint else {})
        problems = walk.problems
        if checkpoint is not None:
            ends = {c: s for c, (s, _) in walk.heads.items()}
            problems += _checkpoint.extension_problems(checkpoint, walk.marks, ends)
        return LedgerReport(ok=not problems, entries=walk.entries, chains=len(walk.heads),
                            problems=problems)

    def ledger_heads(self) -> dict[str, tuple[int, str]]:
        """What a checkpoint signs: each chain's last position and entry hash, read in one
        consistent snapshot. Refuses a ledger that does not verify: a checkpoint vouches for
        what it covers. A remote client signs these locally, so the key never travels."""
        with self.store.read() as tx:
            walk = _walk(tx, {})
        if walk.problems:
            raise LedgerMismatch(
                f"the ledger does not verify ({len(walk.problems)} problem(s), first: "
                f"{walk.problems[0]}); refusing to sign it", where="ledger",
                hint="run `accord ledger verify` and investigate before checkpointing")
        return walk.heads

    def checkpoint(self, key: Ed25519PrivateKey) -> Checkpoint:
        """Sign the chain heads of one consistent snapshot (``ledger_heads``)."""
        return _checkpoint.sign(self.ledger_heads(), key)

    def _checked_decision(self, tx: Tx, decision_id: str, stored: str) -> Decision:
        """The decision as its row says, only if the ledger agrees: the row must equal the
        ledger's decision entry (whose hash must hold), with the approval the ledger's own
        approval entry records. A forged row is refused, never served as truth."""
        try:
            served: Decision | None = Decision.model_validate_json(stored)
        except ValidationError:
            served = None
        entries = tx.rows("SELECT * FROM ledger WHERE ref = ? AND kind IN ('decision', "
                          "'approval') ORDER BY seq", (decision_id,))
        recorded = next((e for e in entries if e["kind"] == "decision"), None)
        why = None
        if served is None:
            why = "its stored row is not a valid decision"
        elif recorded is None:
            why = "it has no ledger entry"
        elif _digest(recorded) != recorded["hash"]:
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

    def fleet_entry(self, kind: str, body: dict[str, Any], *, agent: str | None = None) -> None:
        """Record a fleet-level fact (seat change, policy apply, refusal) in the fleet chain."""
        with self.store.lock(FLEET) as tx:
            row = tx.customer()
            sql.append_ledger(tx, row, kind, self.clock(), agent=agent, body=body)
            tx.save_customer(row)


def _cursor(after: str | None) -> tuple[int, int]:
    if after is None or after == "":
        return 0, 0
    parts = after.split(".") if isinstance(after, str) else []
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        raise InvalidInput(f"{str(after)[:40]!r} is not a ledger feed cursor", where="after",
                           hint="pass the `cursor` of the page you last read, or nothing to "
                                "start at the beginning")
    return int(parts[0]), int(parts[1])


@dataclass(slots=True)
class _Walk:
    problems: list[str] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)
    entries: int = 0


def _digest(e: dict[str, Any]) -> str:
    return entry_hash(e["prev_hash"], e["chain"], e["chain_seq"], e["kind"], e["at"], e["agent"],
                      e["trace_id"], e["parent_id"], e["ref"], e["body"])


def _walk(tx: Tx, wanted: dict[str, tuple[int, str]]) -> _Walk:
    """Recompute every chain inside ``tx``; note the hash at each ``wanted`` position."""
    w = _Walk()
    sealed: list[tuple[str, str, str, str, int]] = []
    erased: dict[str, int] = {}
    for e in _ledger_rows(tx):
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
        if _digest(e) != e["hash"]:
            w.problems.append(f"{where} was altered: its content does not match its hash")
        w.heads[chain] = (e["chain_seq"], e["hash"])
        mark = wanted.get(chain)
        if mark is not None and mark[0] == e["chain_seq"]:
            w.marks[chain] = e["hash"]
    for r in tx.rows("SELECT id, chain_seq, chain_head FROM customers WHERE chain_seq > 0"):
        seen = w.heads.get(r["id"])
        if seen is None or seen != (r["chain_seq"], r["chain_head"]):
            w.problems.append(f"chain {r['id']}: its head says entry {r['chain_seq']} but the "
                              f"ledger ends at {seen[0] if seen else 0} (entries were removed "
                              "from the end)")
    w.problems += personal.check(tx, sealed, erased)
    return w


def _ledger_rows(tx: Tx, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every ledger row in ``seq`` order, a page at a time, inside the caller's transaction."""
    after = -(2**63)  # every row: an entry hidden at seq <= 0 must not escape verify
    while True:
        page = tx.rows("SELECT * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch))
        if not page:
            return
        yield from page
        after = page[-1]["seq"]


def _entry(r: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(seq=r["seq"], chain=r["chain"], chain_seq=r["chain_seq"], kind=r["kind"],
                       at=r["at"], customer=r["customer"], agent=r["agent"],
                       trace_id=r["trace_id"], parent_id=r["parent_id"], ref=r["ref"],
                       body=r["body_value"] if "body_value" in r else json.loads(r["body"]),
                       prev_hash=r["prev_hash"], hash=r["hash"])

