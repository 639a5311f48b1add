"""What a sender is handed, and the one seam every channel adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message to one customer, as the outbox keeps it.

    ``touch_id`` is the message's identity everywhere: the e-mail Message-ID, the HTTP
    adapter's Idempotency-Key and every provider reference derive from it, so a receiver can
    drop the one re-send a crash between hand-off and record could cause."""

    touch_id: str
    customer: str
    agent: str
    channel: str
    to: str
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    unsubscribe_url: str | None = None


class DeliveryFailed(Exception):
    """A send did not happen. ``permanent`` failures (an address that cannot exist, a refused
    recipient) are not retried; the others are, with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender(Protocol):
    """A channel adapter. Implementers guarantee: ``send`` returns only after the provider
    accepted the message (returning its reference, or the message id), raises
    :class:`DeliveryFailed` otherwise, and never retries on its own (the dispatcher does)."""

    name: str

    def send(self, message: Outbound) -> str: ...
