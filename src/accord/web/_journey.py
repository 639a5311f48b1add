"""The customer journey page: the shared context with who set each field, then the customer's
chain of the ledger in order, one line per entry, each saying what happened in words.

An agent's view is cut to what its grant allows: the fields it may read (``service.context``
does that) and the entries it made or that concern its own touches; events show their type only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from accord.web._html import Html, badge, esc, join, table, tag, when
from accord.web._read import Entry, timeline, touch_states

if TYPE_CHECKING:
    from accord.service import Accord
    from accord.web._auth import Viewer


def _json(value: Any) -> Html:
    return tag("code", json.dumps(value, sort_keys=True, default=str))


def _reasons(reasons: list[dict[str, Any]]) -> Html:
    if not reasons:
        return Html("")
    return tag("ul", join(tag("li", Html(f"{tag('code', r.get('rule'))} {esc(r.get('message'))}"))
                          for r in reasons), class_="reasons")


def decision_detail(b: dict[str, Any], touches: dict[str, str], *,
                    proposal: bool = True) -> Html:
    """A decision's proposal in words, its touch and where that touch stands, and its reasons."""
    p = b.get("proposal", {})
    parts: list[Any] = []
    if proposal:
        line = f"{p.get('agent')} proposed {p.get('intent')} by {p.get('channel')}"
        if p.get("action") not in (None, "message"):
            line += f" ({p.get('action')})"
        if p.get("offer"):
            offer = {k: v for k, v in p["offer"].items() if v is not None}
            line += f", offer {json.dumps(offer, sort_keys=True)}"
        parts.append(tag("div", line))
    if b.get("parent_decision"):
        parts.append(tag("div", f"re-decided after review of {b['parent_decision']}"))
    tid = b.get("touch_id")
    if tid:
        parts.append(tag("div", join(["touch ", tag("code", tid), " ",
                                      badge(touches.get(tid, "pending"))])))
    parts.append(_reasons(b.get("reasons", [])))
    return join(parts)


def describe(e: Entry, root: str, touches: dict[str, str]) -> tuple[Html, Html]:
    """(what, detail) for one ledger entry."""
    b = e.body
    if e.kind == "decision":
        what = join([badge(b.get("outcome", "?")), " ", tag("code", e.ref)])
        return what, decision_detail(b, touches)
    if e.kind == "event":
        what = join([badge("event"), " ", tag("code", b.get("type"))])
        bits: list[Any] = []
        if "data" in b:
            bits.append(join(["data ", _json(b["data"])]))
        if b.get("changed"):
            bits.append(f" · changed {', '.join(b['changed'])} (v{b.get('version')})")
        return what, join(bits)
    if e.kind == "revocation":
        what = join([badge("revocation"), " ", tag("code", b.get("touch_id"))])
        return what, join([tag("div", f"{b.get('agent')}'s touch revoked: {b.get('why')}"),
                           _reasons(b.get("reasons", []))])
    if e.kind == "approval":
        what = join([badge(b.get("verdict", "?")), " ", tag("code", e.ref)])
        note = f": {b['note']}" if b.get("note") else ""
        return what, tag("div", f"{b.get('verdict')} by {b.get('reviewer')}{note}; follow-up "
                                f"decision {b.get('decision_id')}")
    if e.kind == "outcome":
        return (join([badge(b.get("status", "?")), " ", tag("code", b.get("touch_id"))]),
                tag("div", f"reported {b.get('status')}"
                           + (f": {b['detail']}" if b.get("detail") else "")))
    if e.kind == "handoff":
        return (join([badge("handoff"), " ", tag("code", e.ref)]),
                tag("div", f"{b.get('sender')} → {b.get('receiver')}: {b.get('kind')}"))
    if e.kind == "handoff_ack":
        return badge("handoff_ack"), tag("div", f"{e.agent} acknowledged {e.parent_id}")
    if e.kind == "claim":
        return (badge("claim"), join([f"{e.agent} claims the customer: {b.get('purpose')} "
                                      "until ", when(b.get("until"))]))
    if e.kind == "context":
        return badge("context"), join([f"set by {b.get('by')} (v{b.get('version')}) ",
                                       _json(b.get("changes", {}))])
    return badge(e.kind), _json(b)


def _visible(e: Entry, viewer: Viewer) -> Entry | None:
    me = viewer.agent
    if me is None:
        return e
    if e.agent == me:
        return e
    if e.kind == "event":
        return Entry(e.seq, e.kind, e.at, e.customer, None, e.ref, e.parent_id,
                     {"type": e.body.get("type")})
    return None


def journey_body(service: Accord, customer: str, viewer: Viewer, root: str) -> Html:
    ctx = service.context(customer, agent=viewer.agent)
    fields = []
    for name in sorted(ctx.fields):
        prov = ctx.provenance.get(name)
        fields.append([tag("code", name), _json(ctx.fields[name]),
                       prov.by if prov else "—",
                       when(prov.at.timestamp()) if prov else "—",
                       f"v{prov.version}" if prov else "—"])
    touches = touch_states(service, customer)
    rows = []
    for e in timeline(service, customer):
        seen = _visible(e, viewer)
        if seen is None:
            continue
        what, detail = describe(seen, root, touches)
        rows.append([when(seen.at), tag("span", seen.kind, class_="mono"), seen.agent or "—",
                     what, detail])
    intro = tag("p", f"Context version {ctx.version}. "
                     + ("Fields your grant lets you read; entries you made."
                        if viewer.agent else "Every field and every ledger entry, in order."),
                class_="lead")
    return join([intro, tag("h2", "Context"),
                 table(["field", "value", "set by", "at", "version"], fields, id="context",
                       empty="no context recorded for this customer"),
                 tag("h2", "Timeline"),
                 table(["when", "kind", "agent", "what", "detail"], rows, id="timeline",
                       empty="nothing recorded for this customer yet")])
