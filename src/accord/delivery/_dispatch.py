"""The dispatcher: sends what the outbox holds, on any replica, each delivery once.

One pass (:meth:`Dispatcher.run_once`): read due rows; for each, in its customer's lock,
re-check and lease it (``sending``, ``due_at`` = lease end); send outside any transaction;
then, in the customer's lock again, record the result and the touch's outcome together.

Two replicas that read the same due row serialize on the customer's lock; the second sees the
lease and skips it. A replica that dies after leasing leaves a row that becomes due again when
the lease ends, and the next dispatcher sends it. Only a death in the instant between the
provider's acceptance and the commit of ``sent`` can send twice; that re-send carries the same
Message-ID / Idempotency-Key (the touch id), which is how providers drop duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from accord import gate
from accord._ids import new_id
from accord.delivery._links import UnsubscribeLinks
from accord.delivery._message import DeliveryFailed, Outbound, Sender
from accord.model import Outcome, Proposal
from accord.service import _holdout
from accord.service._passes import Passes
from accord.store import _outbox as outbox
from accord.store.bus import Message

if TYPE_CHECKING:
    from accord.service import Accord

SECRET_KEY = "unsubscribe_secret"


@dataclass
class DispatchReport:
    """What one pass did, by result."""

    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    throttled: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.sent) + len(self.retried) + len(self.dead) + len(self.cancelled)


class Dispatcher:
    """Sends due outbox rows through ``senders`` (by channel).

    ``lease`` is how long a send may take before another replica may retry it;
    ``attempts`` how many transient failures a row survives before it is dead;
    ``backoff`` the first retry's delay in seconds (doubled each time);
    ``base_url`` is where ``accord serve`` answers, for one-click unsubscribe links;
    ``rates`` caps sends per second by sender name (``{"twilio": 10}``), across every replica
    sharing the store: a delivery over the rate waits, queued, until a send is free."""

    def __init__(self, service: Accord, senders: Mapping[str, Sender], *,
                 base_url: str | None = None, lease: float = 60.0, attempts: int = 5,
                 backoff: float = 30.0, batch: int = 100, interval: float = 0.5,
                 rates: Mapping[str, float] | None = None) -> None:
        self.service, self.senders = service, dict(senders)
        self.rates = dict(rates or {})
        self.lease, self.attempts, self.backoff = lease, attempts, backoff
        self.batch, self.interval = batch, interval
        self.owner = new_id("dsp")
        self.links = (UnsubscribeLinks(unsubscribe_secret(service), base_url)
                      if base_url else None)
        self._passes = Passes(lambda: self.run_once().total, name="accord-dispatcher",
                              interval=self.interval)

    # -- one pass ---------------------------------------------------------------------------

    def run_once(self) -> DispatchReport:
        report = DispatchReport()
        clock = self.service.clock
        with self.service.store.read() as tx:
            due = outbox.due(tx, clock(), self.batch)
        for item in due:
            self._one(item["customer"], item["id"], report)
        return report

    def _one(self, customer: str, touch_id: str, report: DispatchReport) -> None:
        svc = self.service
        published: list[Message] = []
        with svc.store.lock(customer) as tx:
            row = tx.customer()
            item = outbox.get(tx, customer, touch_id)
            now = svc.clock()
            if item is None or item["status"] not in outbox.LIVE or item["due_at"] > now:
                return  # another replica has it, or it is settled
            t = outbox.touch(tx, customer, touch_id)
            blocked = self._blocked(t, row.fields, row.version, now)
            if blocked is not None:
                outbox.settle(tx, customer, touch_id, "cancelled", error=blocked)
                if t is not None and t["status"] == "pending":
                    svc._settle_touch(tx, row, t, "cancelled", blocked, published)
                    tx.save_customer(row)
                report.cancelled.append(touch_id)
                blocked_done = True
            else:
                wait = self._throttle(tx, item["channel"], now)
                if wait > 0:
                    outbox.settle(tx, customer, touch_id, "queued", due_at=now + wait)
                    report.throttled.append(touch_id)
                    return
                outbox.lease(tx, customer, touch_id, self.owner, now + self.lease)
                blocked_done = False
        if blocked_done:
            svc.bus.publish(published)
            return
        sender = self.senders.get(item["channel"])
        payload = orjson.loads(item["payload"])
        message = Outbound(
            touch_id=touch_id, customer=customer, agent=item["agent"], channel=item["channel"],
            to=item["address"], subject=payload.get("subject"), text=payload.get("text"),
            html=payload.get("html"), data=payload.get("data") or {},
            unsubscribe_url=(self.links.url(customer, item["channel"], touch_id)
                             if self.links else None))
        try:
            if sender is None:
                raise DeliveryFailed(f"no sender is configured for channel {item['channel']!r}",
                                     permanent=True)
            ref: str | None = sender.send(message)
            error: DeliveryFailed | None = None
        except DeliveryFailed as exc:
            ref, error = None, exc
        except Exception as exc:  # a sender's bug is a transient failure, never a lost row
            ref, error = None, DeliveryFailed(f"{type(exc).__name__}: {exc}")
        self._record(customer, touch_id, item["attempts"] + 1, sender, ref, error, report)

    def _throttle(self, tx: Any, channel: str, now: float) -> float:
        """Seconds to wait before this channel's sender may send again (0: go now)."""
        sender = self.senders.get(channel)
        if sender is None or not self.rates.get(sender.name):
            return 0.0
        rate = self.rates[sender.name]
        return outbox.take_send_token(tx, sender.name, rate, max(rate, 1.0), now)

    def _blocked(self, t: dict[str, Any] | None, fields: dict[str, Any], version: int,
                 now: float) -> str | None:
        """Why this delivery must not be sent now, or None: the pre-send re-check."""
        if t is None:
            return "its touch no longer exists"
        if t["status"] != "pending":
            return f"its touch is {t['status']}" + (
                f": {t['status_reason']}" if t.get("status_reason") else "")
        pol = self.service.policy
        if now > t["at"] + pol.spec.settings.touch_lease:
            return "its touch's lease ended before it could be sent"
        p = Proposal.model_validate_json(t["proposal"])
        snap = gate.Snapshot(p.customer, gate.cel_fields(fields), version)
        v = _holdout.decide(p.customer, gate.evaluate(p, t["at"], snap, pol,
                                                      context_only=True), pol)
        if v.outcome is not Outcome.GO:
            rules = ", ".join(r.rule for r in v.reasons)
            return f"the customer's context now makes it {v.outcome.value} ({rules})"
        return None

    def _record(self, customer: str, touch_id: str, attempt: int, sender: Sender | None,
                ref: str | None, error: DeliveryFailed | None, report: DispatchReport) -> None:
        svc = self.service
        published: list[Message] = []
        with svc.store.lock(customer) as tx:
            row = tx.customer()
            item = outbox.get(tx, customer, touch_id)
            if item is None or item["lease_owner"] != self.owner:
                return  # our lease ended and another dispatcher took it over
            now = svc.clock()
            t = outbox.touch(tx, customer, touch_id)
            name = sender.name if sender else None
            if error is None:
                outbox.settle(tx, customer, touch_id, "sent", sender=name, ref=ref, at=now)
                if t is not None and t["status"] == "pending":
                    svc._settle_touch(tx, row, t, "executed", f"delivered by {name} ({ref})",
                                      published)
                report.sent.append(touch_id)
            elif error.permanent or attempt >= self.attempts:
                outbox.settle(tx, customer, touch_id, "dead", error=str(error), sender=name)
                if t is not None and t["status"] == "pending":
                    svc._settle_touch(tx, row, t, "failed", str(error), published)
                report.dead.append(touch_id)
            else:
                outbox.settle(tx, customer, touch_id, "queued", error=str(error), sender=name,
                              due_at=now + self.backoff * 2 ** (attempt - 1))
                report.retried.append(touch_id)
            tx.save_customer(row)
        svc.bus.publish(published)

    # -- in the background ------------------------------------------------------------------

    def start(self) -> None:
        self._passes.start()

    def stop(self) -> None:
        self._passes.stop()
        self.close()

    def close(self) -> None:
        """Release the senders' connections (each sender that has a ``close``)."""
        for sender in {id(s): s for s in self.senders.values()}.values():
            close = getattr(sender, "close", None)
            if close is not None:
                close()



def unsubscribe_secret(service: Accord) -> str:
    """The store's link-signing secret, made once and shared by every replica."""
    with service.store.read() as tx:
        found = outbox.meta(tx, SECRET_KEY)
    if found is not None:
        return found
    with service.store.write() as tx:  # insert-if-absent: no customer's lock needed
        made = outbox.meta(tx, SECRET_KEY, default=UnsubscribeLinks.new_secret())
    assert made is not None
    return made
