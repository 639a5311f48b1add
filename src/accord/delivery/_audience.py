"""Suppression audiences for paid media: who must not be targeted on an ad channel.

Ad platforms take customer lists as SHA-256 hex digests of normalized identifiers (e-mail:
trimmed, lower-cased; phone: E.164 digits with the leading ``+``), one per row. Accord
exports, per ad channel, every customer the policy's suppression selects, and the difference
from the previous export, so only the change is uploaded. Deterministic: the same store and
policy give byte-identical files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Selector = Callable[[Mapping[str, Any]], str | None]
"""Given a customer's context, the reason it is suppressed (a short tag), or None."""


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"+{digits}" if digits else ""


def hashed(kind: str, value: str) -> str | None:
    norm = normalize_email(value) if kind == "email" else normalize_phone(value)
    return hashlib.sha256(norm.encode()).hexdigest() if norm else None


def default_selectors(channel: str) -> dict[str, Selector]:
    """Opted out (of this channel, of ads, or of everything), in renewal, recent buyers."""
    def opted_out(ctx: Mapping[str, Any]) -> str | None:
        outs = ctx.get("opt_outs") or []
        return "opted_out" if {"all", "ads", channel} & set(outs) else None

    def renewal(ctx: Mapping[str, Any]) -> str | None:
        return "renewal" if ctx.get("stage") == "renewal" else None

    def bought(ctx: Mapping[str, Any]) -> str | None:
        return "purchased" if ctx.get("last_purchase_at") else None

    return {"opted_out": opted_out, "renewal": renewal, "purchased": bought}


@dataclass(frozen=True)
class AudienceExport:
    """One channel's suppression list: rows ``(sha256, kind)`` sorted, plus the change."""

    channel: str
    rows: list[tuple[str, str]]
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def csv(self) -> str:
        return "hash,kind\n" + "".join(f"{h},{k}\n" for h, k in self.rows)


def suppression_audience(channel: str, contexts: Iterable[tuple[str, Mapping[str, Any]]], *,
                         previous: Iterable[tuple[str, str]] = (),
                         selectors: Mapping[str, Selector] | None = None) -> AudienceExport:
    """The audience for ``channel`` from ``(customer, context)`` pairs; the identifiers are the
    context's ``email`` and ``phone`` fields (a customer with neither cannot be matched and is
    left out)."""
    pick = selectors if selectors is not None else default_selectors(channel)
    rows: set[tuple[str, str]] = set()
    reasons: dict[str, int] = {}
    for _customer, ctx in contexts:
        why = next((w for w in (sel(ctx) for sel in pick.values()) if w), None)
        if why is None:
            continue
        matched = False
        for kind in ("email", "phone"):
            value = ctx.get(kind)
            digest = hashed(kind, value) if isinstance(value, str) else None
            if digest:
                rows.add((digest, kind))
                matched = True
        if matched:
            reasons[why] = reasons.get(why, 0) + 1
    before = set(previous)
    return AudienceExport(channel, sorted(rows), sorted(rows - before), sorted(before - rows),
                          dict(sorted(reasons.items())))
