"""Reading and verifying the ledger: a component of ``Accord``. The chain itself (hash, append,
verify, trace) is ``accord.ledger``; this adds checkpoints and the service's transactions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from accord import ledger
from accord._errors import InvalidInput, LedgerMismatch
from accord.ledger import Walk, _checkpoint
from accord.ledger._checkpoint import Checkpoint
from accord.model import LedgerEntry, LedgerPage, LedgerReport
from accord.store import _customers as customers
from accord.store import _decisions as decisions

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from accord.service._runtime import Runtime


class LedgerView:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def trace(self, trace_id: str) -> list[LedgerEntry]:
        with self.rt.store.read() as tx:
            return ledger.trace(tx, decisions.trace_of(tx, trace_id) or trace_id)

    def ledger(self, *, after: int = 0, limit: int = 1000) -> list[LedgerEntry]:
        with self.rt.store.read() as tx:
            return ledger.page(tx, after, limit)

    def ledger_feed(self, after: str | None = None, *, limit: int = 1000) -> LedgerPage:
        ledger.cursor(after)  # a bad cursor is refused before the limit is looked at
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInput("limit must be an integer from 1 to 10000", where="limit")
        postgres = self.rt.store.url.startswith(("postgresql://", "postgres://"))
        with self.rt.store.read() as tx:
            entries, cursor = ledger.feed(tx, postgres, after, limit)
        return LedgerPage(entries=entries, cursor=cursor)

    def iter_ledger(self, batch: int = 5000) -> Iterator[LedgerEntry]:
        return ledger.iter_pages(lambda after, limit: self.ledger(after=after, limit=limit),
                                 batch)

    def _walk(self, wanted: dict[str, tuple[int, str]]) -> Walk:
        """Every chain recomputed in one snapshot (one read transaction: REPEATABLE READ on
        PostgreSQL), so a live writer never looks like tampering."""
        with self.rt.store.read() as tx:
            return ledger.walk(tx, wanted, customers.chain_heads(tx))

    def verify_ledger(self, *, checkpoint: Checkpoint | None = None,
                      key: Ed25519PublicKey | None = None) -> LedgerReport:
        if checkpoint is not None:
            if key is None:
                raise InvalidInput("a checkpoint needs the public key it was signed with",
                                   where="key", hint="pass the .pub file of the signing key")
            problems = _checkpoint.signature_problems(checkpoint, key)
            if problems:
                return LedgerReport(ok=False, entries=0, chains=0, problems=problems)
        walk = self._walk(checkpoint.heads if checkpoint else {})
        problems = walk.problems
        if checkpoint is not None:
            ends = {c: s for c, (s, _) in walk.heads.items()}
            problems += _checkpoint.extension_problems(checkpoint, walk.marks, ends)
        return LedgerReport(ok=not problems, entries=walk.entries, chains=len(walk.heads),
                            problems=problems)

    def ledger_heads(self) -> dict[str, tuple[int, str]]:
        walk = self._walk({})
        if walk.problems:
            raise LedgerMismatch(
                f"the ledger does not verify ({len(walk.problems)} problem(s), first: "
                f"{walk.problems[0]}); refusing to sign it", where="ledger",
                hint="run `accord ledger verify` and investigate before checkpointing")
        return walk.heads

    def checkpoint(self, key: Ed25519PrivateKey) -> Checkpoint:
        return _checkpoint.sign(self.ledger_heads(), key)

    def fleet_entry(self, kind: str, body: dict[str, Any], *, agent: str | None = None) -> None:
        with self.rt.write(ledger.FLEET) as w:
            w.ledger(kind, self.rt.clock(), agent=agent, body=body)
