"""Reading and verifying the ledger on the service. Mixed into ``Accord``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from accord._errors import InvalidInput
from accord._time import Clock
from accord.ledger import FLEET, GENESIS, entry_hash
from accord.model import LedgerEntry, LedgerPage, LedgerReport
from accord.store import Store, Tx
from accord.store import _rows as sql


class LedgerMixin:
    store: Store
    clock: Clock

    # -- ledger ------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        """Every ledger entry of a trace, in order: proposals and decisions, the events and
        revocations they caused, approvals and outcomes."""
        with self.store.read() as tx:
            rows = tx.rows("SELECT * FROM ledger WHERE trace_id = ? ORDER BY seq", (trace_id,))
            refs = [r["ref"] for r in rows if r["kind"] == "decision"]
            if refs:
                marks = ",".join("?" * len(refs))
                rows += tx.rows(f"SELECT * FROM ledger WHERE parent_id IN ({marks}) AND "
                                "(trace_id IS NULL OR trace_id <> ?) ORDER BY seq",
                                (*refs, trace_id))
        rows.sort(key=lambda r: r["seq"])
        return [_entry(r) for r in rows]

    def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        with self.store.read() as tx:
            rows = tx.rows("SELECT * FROM ledger WHERE seq > ? ORDER BY seq LIMIT ?",
                           (after, limit))
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

    def verify_ledger(self) -> LedgerReport:
        """Recompute every chain; name each entry whose hash or link does not hold.

        Pages and chain heads are read in one snapshot (one read transaction: REPEATABLE READ
        on PostgreSQL), so entries committed while verifying are either wholly seen with
        their head or not at all — a live writer never looks like tampering."""
        problems: list[str] = []
        heads: dict[str, tuple[int, str]] = {}
        entries = 0
        with self.store.read() as tx:
            for e in _ledger_rows(tx):
                entries += 1
                seq, head = heads.get(e["chain"], (0, GENESIS))
                where = f"chain {e['chain']}: entry {e['seq']} ({e['kind']} {e['ref'] or ''})"
                if e["chain_seq"] != seq + 1:
                    problems.append(f"{where} has position {e['chain_seq']}, expected {seq + 1} "
                                    "(an entry was removed or inserted)")
                if e["prev_hash"] != head:
                    problems.append(f"{where} does not link to the entry before it")
                digest = entry_hash(e["prev_hash"], e["chain"], e["chain_seq"], e["kind"],
                                    e["at"], e["agent"], e["trace_id"], e["parent_id"], e["ref"],
                                    e["body"])
                if digest != e["hash"]:
                    problems.append(f"{where} was altered: its content does not match its hash")
                heads[e["chain"]] = (e["chain_seq"], e["hash"])
            stored = tx.rows("SELECT id, chain_seq, chain_head FROM customers "
                             "WHERE chain_seq > 0")
        for r in stored:
            seen = heads.get(r["id"])
            if seen is None or seen != (r["chain_seq"], r["chain_head"]):
                problems.append(f"chain {r['id']}: its head says entry {r['chain_seq']} but "
                                f"the ledger ends at {seen[0] if seen else 0} (entries were "
                                "removed from the end)")
        return LedgerReport(ok=not problems, entries=entries, chains=len(heads),
                            problems=problems)

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


def _ledger_rows(tx: Tx, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every ledger row in ``seq`` order, a page at a time, inside the caller's transaction."""
    after = 0
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
                       body=json.loads(r["body"]), prev_hash=r["prev_hash"], hash=r["hash"])

