"""What customers send back, as events on the service: unsubscribe clicks, replies, receipts,
bounces and complaints. The HTTP routes and the CLI are thin over these functions."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Literal

from accord._errors import NotFound
from accord.delivery.feedback import parse_report, sms_keyword
from accord.store import _outbox as outbox

if TYPE_CHECKING:
    from accord.service import Accord

Recorded = dict[str, Any]


def unsubscribe(svc: Accord, customer: str, channel: str, touch: str) -> bool:
    """Record the ``opt_out`` a one-click link asks for; once per link however often it is
    clicked (the event id comes from the link). True if it was recorded now."""
    eid = "e_unsub_" + hashlib.sha256(f"{customer}\0{channel}\0{touch}".encode()).hexdigest()[:20]
    with svc.store.read() as tx:
        if outbox.event_exists(tx, customer, eid):
            return False
    svc.record_event(customer, "opt_out", data={"channel": channel, "via": "list-unsubscribe",
                                                "touch_id": touch},
                     source="list-unsubscribe", event_id=eid)
    return True


def customers(svc: Accord, channel: str, address: str | None, touch: str | None) -> list[str]:
    """Who a report is about: the touch's customer, else everyone Accord sent to ``address``."""
    with svc.store.read() as tx:
        if touch is not None:
            found = outbox.customer_of(tx, touch)
            if found is not None:
                return [found]
        return outbox.customers_at(tx, channel, address) if address else []


def _record(svc: Accord, who: list[str], kind: str, data: dict[str, Any],
            source: str) -> list[Recorded]:
    out = []
    for customer in who:
        e = svc.record_event(customer, kind, data=data, source=source)
        out.append({"customer": customer, "type": kind, "event_id": e.id, "revoked": e.revoked})
    return out


def report(svc: Accord, *, type: Literal["reply", "receipt", "complaint"], channel: str,
           address: str | None = None, touch_id: str | None = None, text: str | None = None,
           status: str | None = None, permanent: bool = True) -> list[Recorded]:
    """A gateway's report as events. A reply that is a carrier keyword (STOP, START …) is an
    ``opt_out`` / ``opt_in`` of that channel; other replies are ``reply``; a failed receipt is a
    ``bounce`` (``hard`` when permanent); a delivered one ``delivered``."""
    who = customers(svc, channel, address, touch_id)
    if not who:
        raise NotFound(f"no customer was sent anything at {address!r} on {channel}",
                       where="address", hint="name the touch_id Accord sent, or an address "
                       "the outbox delivered to")
    data: dict[str, Any] = {"channel": channel}
    if touch_id:
        data["touch_id"] = touch_id
    source = f"inbound:{channel}"
    if type == "reply":
        word = sms_keyword(text or "")
        kind: str = word if word in ("opt_out", "opt_in") else "reply"
    elif type == "complaint":
        kind = "complaint"
    elif status == "delivered":
        kind = "delivered"
    else:
        kind, data = "bounce", {**data, "hard": permanent}
    return _record(svc, who, kind, data, source)


def email_report(svc: Accord, raw: bytes) -> list[Recorded]:
    """A DSN bounce or ARF complaint (the whole e-mail) as events on the customers the
    original message went to. Delays are not events."""
    out: list[Recorded] = []
    for fb in parse_report(raw):
        if fb.kind == "delayed":
            continue
        kind, data = fb.event()
        out += _record(svc, customers(svc, "email", fb.recipient, fb.touch_id), kind, data,
                       "inbound:email")
    return out


def twilio(svc: Accord, params: dict[str, str]) -> list[Recorded]:
    """A Twilio webhook (already verified) as events on the customers at its address."""
    from accord.delivery._twilio import inbound_events

    found = inbound_events(params)
    if found is None:
        return []
    channel, address, kind, data = found
    return _record(svc, customers(svc, channel, address, None), kind,
                   {k: v for k, v in data.items() if v is not None}, f"inbound:twilio:{channel}")
