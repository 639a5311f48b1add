"""Accord — the coordination layer for fleets of AI agents.

``Accord.open("accord.db", policy="accord.yaml")`` embeds it; every interface (HTTP, MCP, A2A,
CLI, web) is a shell over the same service.
"""

from accord._api import AccordAPI, AsyncAccordAPI
from accord._errors import (
    AccordError,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PolicyError,
    StaleVersion,
    StoreUnavailable,
)
from accord.guard import Blocked, BlockedResult, guard
from accord.model import (
    Claim,
    Context,
    Decision,
    Event,
    LedgerEntry,
    LedgerPage,
    LedgerReport,
    Outcome,
    Proposal,
    Reason,
    Scheduled,
    ScheduledStatus,
    Touch,
    TouchStatus,
)
from accord.policy import Policy
from accord.service import Accord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from accord.client import AsyncClient, Client


def __getattr__(name: str) -> object:
    # The remote clients need httpx (the `server` extra); import them only when asked for.
    if name in ("Client", "AsyncClient"):
        from accord import client

        return getattr(client, name)
    raise AttributeError(f"module 'accord' has no attribute {name!r}")


__all__ = [
    "Accord",
    "AccordAPI",
    "AccordError",
    "AsyncAccordAPI",
    "AsyncClient",
    "Blocked",
    "BlockedResult",
    "Claim",
    "Client",
    "Conflict",
    "Context",
    "Decision",
    "Event",
    "Forbidden",
    "IdempotencyConflict",
    "InvalidInput",
    "LedgerEntry",
    "LedgerPage",
    "LedgerReport",
    "NotFound",
    "Outcome",
    "Policy",
    "PolicyError",
    "Proposal",
    "Reason",
    "Scheduled",
    "ScheduledStatus",
    "StaleVersion",
    "StoreUnavailable",
    "Touch",
    "TouchStatus",
    "guard",
]
