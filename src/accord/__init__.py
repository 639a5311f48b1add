"""Accord — the coordination layer for fleets of AI agents.

``Accord.open("accord.db", policy="accord.yaml")`` embeds it; every interface (HTTP, MCP, A2A,
CLI, web) is a shell over the same service.
"""

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
from accord.model import (
    Claim,
    Context,
    Decision,
    Event,
    LedgerEntry,
    LedgerReport,
    Outcome,
    Proposal,
    Reason,
    Touch,
    TouchStatus,
)
from accord.policy import Policy
from accord.service import Accord

__all__ = [
    "Accord",
    "AccordError",
    "Claim",
    "Conflict",
    "Context",
    "Decision",
    "Event",
    "Forbidden",
    "IdempotencyConflict",
    "InvalidInput",
    "LedgerEntry",
    "LedgerReport",
    "NotFound",
    "Outcome",
    "Policy",
    "PolicyError",
    "Proposal",
    "Reason",
    "StaleVersion",
    "StoreUnavailable",
    "Touch",
    "TouchStatus",
]
