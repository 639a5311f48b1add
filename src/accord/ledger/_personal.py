"""Personal data beside the ledger, so erasure never breaks the chain.

Values that may identify a person (an event's ``data``, a context write's ``changes``) are not
hashed into the chain. The ledger body holds ``{"$personal": ref, "digest": …}`` — a SHA-256
over a random salt and the value — and the value itself lives in the ``personal`` table next
to its salt. Reading the ledger puts the values back; erasing a customer deletes its rows, and
the chain still verifies because it only ever covered the salted digests. The salt makes the
digest useless for guessing the value once the row is gone.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from accord._errors import problem_details
from accord._json import canonical, dumps
from accord.store import Tx
from accord.store import _personal as kept

SEALED = "$personal"
SEALED_FIELDS = ("data", "changes")
"""The body keys whose values are personal, in ``event`` and ``context`` entries."""


def digest(salt: str, value: Any) -> str:
    return hashlib.sha256(salt.encode() + b"\n" + canonical(value)).hexdigest()


def seal(tx: Tx, customer: str, ref: str, value: dict[str, Any]) -> dict[str, Any]:
    """Store ``value`` beside the chain and return what the ledger body holds instead. An
    empty value has nothing personal in it and is kept as is."""
    if not value:
        return value
    salt = secrets.token_hex(16)
    text = dumps(value)
    kept.insert(tx, customer, ref, salt, text)
    return {SEALED: ref, "digest": digest(salt, value)}


def unseal(tx: Tx, rows: list[dict[str, Any]], customer: str | None = None
           ) -> list[dict[str, Any]]:
    """Ledger rows with each body parsed (``body_value``) and sealed values put back; an
    erased one reads ``{"$personal": ref, "erased": true}``. Rows name their customer by
    ``chain`` or ``customer``, or all belong to ``customer``."""
    wanted: set[tuple[str, str]] = set()
    for r in rows:
        r["body_value"] = body = json.loads(r["body"])
        for key in SEALED_FIELDS:
            v = body.get(key) if isinstance(body, dict) else None
            if isinstance(v, dict) and SEALED in v:
                wanted.add((customer or _owner(r), v[SEALED]))
    if not wanted:
        return rows
    found = {(p["customer"], p["ref"]): json.loads(p["value"])
             for p in kept.by_refs(tx, sorted({ref for _, ref in wanted}))}
    for r in rows:
        body = r["body_value"]
        for key in SEALED_FIELDS:
            v = body.get(key) if isinstance(body, dict) else None
            if isinstance(v, dict) and SEALED in v:
                got = found.get((customer or _owner(r), v[SEALED]))
                body[key] = got if got is not None else {SEALED: v[SEALED], "erased": True}
    return rows


def reveal(tx: Tx, rows: list[dict[str, Any]], customer: str | None = None
           ) -> list[dict[str, Any]]:
    """Like ``unseal``, for readers that parse ``body`` themselves: each row's ``body`` text
    is replaced by the body with its values put back (never hash what it returns)."""
    for r in unseal(tx, rows, customer):
        r["body"] = dumps(r.pop("body_value"))
    return rows


def _owner(r: dict[str, Any]) -> str:
    return str(r.get("chain") or r.get("customer") or "")


def erase(tx: Tx, customer: str) -> dict[str, int]:
    """Delete ``customer``'s personal values everywhere they are kept; counts by place. The
    caller clears the context on the customer row and records the erasure in the chain."""
    counts = kept.erase(tx, customer)
    counts["requests"] = _erase_replays(tx, customer)
    return counts


def _erase_replays(tx: Tx, customer: str) -> int:
    """Stored idempotent answers about ``customer`` (an event echoes its data) become a 410
    problem: a retry learns its answer was erased rather than seeing the values again."""
    quoted = json.dumps(customer).replace("!", "!!").replace("%", "!%").replace("_", "!_")
    gone = json.dumps(problem_details(410, "Erased", "the answer to this request was erased "
                                      "with the customer's personal data", where="customer"))
    return sum(kept.replace_answers(tx, pattern, 410, gone)
               for pattern in (f'%"customer": {quoted}%', f'%"customer":{quoted}%'))


def sealed_in(body: str) -> list[tuple[str, str]]:
    """The (ref, digest) pairs a stored ledger body seals; cheap when it seals none."""
    if SEALED not in body:
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return []
    out = []
    for key in SEALED_FIELDS:
        v = value.get(key) if isinstance(value, dict) else None
        if isinstance(v, dict) and isinstance(v.get(SEALED), str):
            out.append((v[SEALED], str(v.get("digest"))))
    return out


def check(tx: Tx, sealed: list[tuple[str, str, str, str, int]],
          erased: dict[str, int]) -> list[str]:
    """Problems with the values beside the chain: each sealed (customer, ref, digest, where,
    position) must find its value with that digest, or its chain must record an erasure after
    it (``erased``: each chain's last erasure position)."""
    problems: list[str] = []
    for i in range(0, len(sealed), 500):  # a page of sealed values at a time
        part = sealed[i:i + 500]
        values = {(p["customer"], p["ref"]): p
                  for p in kept.by_refs(tx, [ref for _, ref, _, _, _ in part])}
        for customer, ref, want, where, position in part:
            p = values.get((customer, ref))
            if p is None:
                if erased.get(customer, 0) < position:
                    problems.append(f"{where}: its personal values were removed without a "
                                    "recorded erasure")
            elif digest(p["salt"], json.loads(p["value"])) != want:
                problems.append(f"{where}: its personal values were altered beside the chain "
                                "(they do not match the digest the chain holds)")
    return problems
