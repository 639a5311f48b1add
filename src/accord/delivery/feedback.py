"""What comes back from a channel, as events: bounces (DSN, RFC 3464), complaints (ARF, RFC
5965), delivery receipts, and the SMS keywords carriers require (STOP, START, HELP).

Pure parsing, no I/O: the HTTP routes and the CLI feed raw reports in and record the events
:meth:`Feedback.event` names."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import HeaderParser
from typing import Any, Literal

from accord._errors import InvalidInput
from accord.delivery._email import touch_of

Kind = Literal["bounce", "complaint", "delivered", "delayed"]

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                           "OPTOUT", "OPT-OUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN", "OPT-IN"})


def sms_keyword(text: str) -> Literal["opt_out", "opt_in", "help"] | None:
    """The carrier keyword a reply is, if the whole reply is one (case and spaces ignored)."""
    word = " ".join(text.split()).upper().rstrip(".!")
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    if word in ("HELP", "INFO"):
        return "help"
    return None


@dataclass(frozen=True, slots=True)
class Feedback:
    """One recipient's fate in a report. ``hard`` is a permanent failure (status 5.x.x)."""

    kind: Kind
    recipient: str | None
    touch_id: str | None
    channel: str = "email"
    hard: bool = False
    status: str | None = None
    detail: str | None = None

    def event(self) -> tuple[str, dict[str, Any]]:
        """The event to record: (type, data). A hard bounce and a complaint suppress the
        channel through the policy's reducers for ``bounce`` / ``complaint``."""
        data: dict[str, Any] = {"channel": self.channel}
        if self.kind == "bounce":
            data["hard"] = self.hard
        for key in ("status", "detail", "touch_id"):
            value = getattr(self, key)
            if value:
                data[key] = value
        return ("delivery_delayed" if self.kind == "delayed" else self.kind), data


def _blocks(part: Message) -> list[Message]:
    """The header blocks (or the one inner message) a message/* part holds."""
    payload = part.get_payload()
    return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []


def _original_touch(report: Message) -> str | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            for inner in _blocks(part)[:1]:
                found = touch_of(inner.get("Message-ID"))
                if found:
                    return found
        elif ctype == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            found = touch_of(HeaderParser().parsestr(text).get("Message-ID"))
            if found:
                return found
    return None


def _address(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(";", 1)[-1].strip().strip("<>") or None


def parse_report(raw: bytes) -> list[Feedback]:
    """Every recipient's feedback in a DSN or ARF report (a whole e-mail, as bytes).

    Raises ``InvalidInput`` for a message that is neither: what it was and what was expected."""
    report = message_from_bytes(raw, policy=policy.compat32)
    if report.get_content_type() != "multipart/report":
        raise InvalidInput(f"not a report: the message is {report.get_content_type()}",
                           where="body", hint="send a DSN (RFC 3464) or ARF (RFC 5965) "
                           "message, content type multipart/report")
    kind = (report.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    touch = _original_touch(report)
    out: list[Feedback] = []
    for part in report.walk():
        ctype = part.get_content_type()
        if kind == "delivery-status" and ctype == "message/delivery-status":
            for block in _blocks(part)[1:]:
                action = (block.get("Action") or "").strip().lower()
                status = (block.get("Status") or "").strip() or None
                recipient = _address(block.get("Final-Recipient")
                                     or block.get("Original-Recipient"))
                detail = (block.get("Diagnostic-Code") or "").split(";", 1)[-1].strip() or None
                if action == "failed":
                    out.append(Feedback("bounce", recipient, touch, hard=bool(
                        status and status.startswith("5")), status=status, detail=detail))
                elif action == "delayed":
                    out.append(Feedback("delayed", recipient, touch, status=status,
                                        detail=detail))
                elif action in ("delivered", "relayed", "expanded"):
                    out.append(Feedback("delivered", recipient, touch, status=status))
        elif kind == "feedback-report" and ctype == "message/feedback-report":
            block = next(iter(_blocks(part)), part)
            recipient = _address(block.get("Original-Rcpt-To") or block.get("Removal-Recipient"))
            ftype = (block.get("Feedback-Type") or "abuse").strip().lower()
            out.append(Feedback("complaint", recipient, touch, detail=ftype))
    if not out:
        raise InvalidInput(f"the {kind or 'untyped'} report names no recipient's fate",
                           where="body", hint="a DSN needs a message/delivery-status part with "
                           "per-recipient Action fields; an ARF a message/feedback-report part")
    return out
