"""Errors are part of the interface: each says what was wrong, where, and how to fix it."""

from __future__ import annotations

from typing import Any


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
        body: dict[str, Any] = {
            "type": f"https://accord.dev/problems/{type(self).__name__}",
            "title": self.title,
            "status": self.status,
            "detail": self.message,
        }
        if self.where:
            body["where"] = self.where
        if self.hint:
            body["hint"] = self.hint
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
