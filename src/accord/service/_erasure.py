"""A customer's data: export it (data-subject access) or erase it (right to erasure) without
breaking the ledger: a component of ``Accord``; the mechanism is in ``_personal``."""

from __future__ import annotations

import contextlib
import json
import re
from typing import TYPE_CHECKING, Any

from accord._errors import InvalidInput, NotFound
from accord._time import iso
from accord.ledger import _personal as personal
from accord.model import NAME
from accord.store import _customers as customers
from accord.store import _ledger as ledger_rows

if TYPE_CHECKING:
    from accord.service._runtime import Runtime


def _customer_id(customer: Any) -> str:
    if not isinstance(customer, str) or not re.match(NAME, customer) or customer.startswith("_"):
        raise InvalidInput("customer must be a customer id (text, not starting with _)",
                           where="customer")
    return customer


class CustomerData:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def export_customer(self, customer: str) -> dict[str, Any]:
        customer = _customer_id(customer)
        with self.rt.store.read() as tx:
            row = customers.get(tx, customer)
            if row is None:
                raise NotFound(f"no customer {customer!r}", where="customer")
            out: dict[str, Any] = {
                "customer": customer, "exported_at": iso(self.rt.clock()),
                "context": {"version": row["version"], "fields": json.loads(row["fields"]),
                            "provenance": json.loads(row["provenance"])}}
            for table, rows in customers.kept_about(tx, customer).items():
                out[table] = [_decoded(r) for r in rows]
            chain = personal.unseal(tx, ledger_rows.chain(tx, customer))
        out["ledger"] = [{k: v for k, v in r.items() if k not in ("body", "body_value", "tx")}
                         | {"body": r["body_value"]} for r in chain]
        return out

    def erase_customer(self, customer: str, *, by: str) -> dict[str, Any]:
        customer = _customer_id(customer)
        if not isinstance(by, str) or not by.strip():
            raise InvalidInput("name who erases (a person or a ticket)", where="by")
        with self.rt.store.read() as tx:
            if customers.get(tx, customer) is None:
                raise NotFound(f"no customer {customer!r}", where="customer")
        with self.rt.write(customer) as w:
            row = w.row
            counts = personal.erase(w.tx, customer)
            counts["fields"] = len(row.fields)
            row.fields, row.provenance = {}, {}
            row.version += 1
            now = self.rt.clock()
            w.ledger("erasure", now, agent=None, ref=customer,
                     body={"by": by, "at": now, "erased": counts, "version": row.version})
            w.publish({"kind": "context", "customer": customer, "agents": [],
                       "version": row.version, "changed": [], "by": f"erasure:{by}"})
        return {"customer": customer, "erased": counts, "by": by, "at": iso(now),
                "context_version": row.version}


def _decoded(r: dict[str, Any]) -> dict[str, Any]:
    out = dict(r)
    for k in ("data", "body", "payload", "artifacts", "offer", "proposal"):
        if isinstance(out.get(k), str):
            with contextlib.suppress(ValueError):
                out[k] = json.loads(out[k])
    return out
