"""Errors are part of the interface: each says what was wrong, where, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

TYPE_BASE = "https://accord.dev/problems/"
"""Where every problem ``type`` URI starts (RFC 9457)."""


def problem_details(status: int, title: str, detail: str, *, kind: str | None = None,
                    where: str | None = None, hint: str | None = None,
                    **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem body: ``type`` (``kind``, else the title without spaces),
    ``title``, ``status``, ``detail``, then ``where`` and ``hint`` when given, then ``extra``.
    Every interface builds its problems here (HTTP, MCP, A2A, ``AccordError.to_problem``)."""
    body: dict[str, Any] = {"type": TYPE_BASE + (kind or title.replace(" ", "")),
                            "title": title, "status": status, "detail": detail}
    if where:
        body["where"] = where
    if hint:
        body["hint"] = hint
    body.update(extra)
    return body


def field_errors(errors: Iterable[Mapping[str, Any]], *, prefix: tuple[Any, ...] = ()
                 ) -> list[dict[str, str]]:
    """pydantic's errors as ``{field, message, type}``, ``field`` the dotted path (after
    ``prefix``, e.g. ``("body",)``): the one way every interface names a bad field."""
    return [{"field": ".".join(str(x) for x in (*prefix, *e.get("loc", ()))),
             "message": str(e.get("msg", "invalid")), "type": str(e.get("type", "invalid"))}
            for e in errors]


def invalid_input(exc: ValidationError, *, hint: str = "see the field list in docs/api.md"
                  ) -> InvalidInput:
    """A pydantic ``ValidationError`` as ``InvalidInput``: ``where`` the first bad field, the
    message its error (or every ``field: message`` when several), all of them in
    ``problems``."""
    found = field_errors(exc.errors())
    problems = [f"{e['field']}: {e['message']}" for e in found]
    return InvalidInput(found[0]["message"] if len(problems) == 1 else "; ".join(problems),
                        where=found[0]["field"] or None, hint=hint,
                        extra={"problems": problems})


class AccordError(Exception):
    """Base of every error Accord raises on purpose.

    ``status`` is the HTTP status the service shells map it to; ``where`` names the
    place (a field path, ``file:line``, a rule id) and ``hint`` says how to fix it.
    """

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.extra = extra or {}

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.hint:
            parts.append(f"(hint: {self.hint})")
        return " ".join(parts)

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details."""
        body = problem_details(self.status, self.title, self.message,
                               kind=type(self).__name__, where=self.where, hint=self.hint)
        body.update(self.extra)
        return body


class InvalidInput(AccordError):
    title = "Invalid input"
    status = 422


class PolicyError(AccordError):
    """A policy file that does not load; ``problems`` lists every error, not just the first."""

    title = "Invalid policy"
    status = 422

    def __init__(self, problems: list[str], *, source: str = "accord.yaml") -> None:
        self.problems = problems
        head = f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(head + "\n  " + "\n  ".join(problems), extra={"problems": problems})


class NotFound(AccordError):
    title = "Not found"
    status = 404


class Forbidden(AccordError):
    title = "Forbidden"
    status = 403


class Unauthorized(AccordError):
    title = "Unauthorized"
    status = 401


class StaleVersion(AccordError):
    """A context write named a version that is no longer current; nothing was merged."""

    title = "Stale version"
    status = 412

    def __init__(self, customer: str, expected: int, current: int) -> None:
        super().__init__(
            f"context of {customer!r} is at version {current}, the write expected {expected}",
            where="expected_version",
            hint="read the context again, re-apply your change, and write with the new version",
            extra={"current_version": current},
        )
        self.current_version = current


class IdempotencyConflict(AccordError):
    title = "Idempotency key reused"
    status = 409


class Conflict(AccordError):
    title = "Conflict"
    status = 409


class StoreUnavailable(AccordError):
    """The store could not commit: callers must fail closed (never treat this as go)."""

    title = "Store unavailable"
    status = 503


class LedgerMismatch(AccordError):
    """A stored record disagrees with the hash-chained ledger (or the ledger with a signed
    checkpoint): the database was altered outside Accord. Never served as truth."""

    title = "Record does not match the ledger"
    status = 500
