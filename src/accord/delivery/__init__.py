"""Delivery: the execution half of a go.

A proposal may carry ``deliver`` (who to send to, and what); on go the delivery is written to
the outbox in the decision's own transaction. A :class:`Dispatcher` (any replica, any number of
them) leases due rows, re-checks each just before sending (the touch must still be pending and
the channel not suppressed), hands it to the channel's :class:`Sender`, and reports the touch's
outcome itself. What comes back — a one-click unsubscribe, a STOP reply, a bounce, a spam
complaint — becomes an event through :mod:`accord.delivery.feedback`. See docs/delivery.md.
"""

from accord.delivery._audience import AudienceExport, suppression_audience
from accord.delivery._dispatch import Dispatcher, DispatchReport
from accord.delivery._email import SmtpSender, compose_email
from accord.delivery._http import HttpSender
from accord.delivery._links import UnsubscribeLinks
from accord.delivery._message import DeliveryFailed, Outbound, Sender
from accord.delivery.feedback import Feedback, parse_report, sms_keyword

__all__ = [
    "AudienceExport",
    "DeliveryFailed",
    "DispatchReport",
    "Dispatcher",
    "Feedback",
    "HttpSender",
    "Outbound",
    "Sender",
    "SmtpSender",
    "UnsubscribeLinks",
    "compose_email",
    "parse_report",
    "sms_keyword",
    "suppression_audience",
]
