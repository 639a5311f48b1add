"""A customer's data: export it (data-subject access) or erase it (right to erasure) without
breaking the ledger. Mixed into ``Accord``; the mechanism is in ``_personal``."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from accord import _personal as personal
from accord._errors import InvalidInput, NotFound
from accord._time import Clock, iso
from accord.bus import Bus
from accord.model import NAME
from accord.store import Store
from accord.store import _rows as sql

_TABLES = ("decisions", "touches", "events", "claims", "commitments", "handoffs")


def _customer_id(customer: Any) -> str:
    if not isinstance(customer, str) or not re.match(NAME, customer) or customer.startswith("_"):
        raise InvalidInput("customer must be a customer id (text, not starting with _)",
                           where="customer")
    return customer


class CustomerDataMixin:
    store: Store
    clock: Clock
    bus: Bus

    def export_customer(self, customer: str) -> dict[str, Any]:
        """Everything Accord keeps about ``customer``, as JSON-ready data: the context with
        its provenance, events, decisions, touches, claims, commitments, handoffs and the
        customer's ledger chain (personal values put back unless erased)."""
        customer = _customer_id(customer)
        with self.store.read() as tx:
            row = tx.one("SELECT * FROM customers WHERE id = ?", (customer,))
            if row is None:
                raise NotFound(f"no customer {customer!r}", where="customer")
            out: dict[str, Any] = {
                "customer": customer, "exported_at": iso(self.clock()),
                "context": {"version": row["version"], "fields": json.loads(row["fields"]),
                            "provenance": json.loads(row["provenance"])}}
            for table in _TABLES:
                rows = tx.rows(f"SELECT * FROM {table} WHERE customer = ? ORDER BY id",
                               (customer,))
                out[table] = [_decoded(r) for r in rows]
            chain = personal.unseal(tx, tx.rows(
                "SELECT * FROM ledger WHERE chain = ? ORDER BY chain_seq", (customer,)))
        out["ledger"] = [{k: v for k, v in r.items() if k not in ("body", "body_value", "tx")}
                         | {"body": r["body_value"]} for r in chain]
        return out

    def erase_customer(self, customer: str, *, by: str) -> dict[str, Any]:
        """Erase ``customer``'s personal data: the context (fields and provenance), event
        data, handoff payloads and every personal value in ledger bodies. The chain still
        verifies (it holds only salted digests of those values) and records the erasure
        itself: who, when and how much. Decisions and touches keep their routing facts
        (agent, channel, intent, times), which are the record, not personal values."""
        customer = _customer_id(customer)
        if not isinstance(by, str) or not by.strip():
            raise InvalidInput("name who erases (a person or a ticket)", where="by")
        with self.store.read() as tx:
            if tx.one("SELECT id FROM customers WHERE id = ?", (customer,)) is None:
                raise NotFound(f"no customer {customer!r}", where="customer")
        with self.store.lock(customer) as tx:
            row = tx.customer()
            counts = personal.erase(tx, customer)
            counts["fields"] = len(row.fields)
            row.fields, row.provenance = {}, {}
            row.version += 1
            now = self.clock()
            sql.append_ledger(tx, row, "erasure", now, agent=None, ref=customer,
                              body={"by": by, "at": now, "erased": counts,
                                    "version": row.version})
            tx.save_customer(row)
        self.bus.publish([{"kind": "context", "customer": customer, "agents": [],
                           "version": row.version, "changed": [], "by": f"erasure:{by}"}])
        return {"customer": customer, "erased": counts, "by": by, "at": iso(now),
                "context_version": row.version}


def _decoded(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    for k in ("data", "body", "payload", "artifacts", "offer", "proposal"):
        if isinstance(out.get(k), str):
            with contextlib.suppress(ValueError):
                out[k] = json.loads(out[k])
    return out
