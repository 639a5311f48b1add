"""Following the ledger over HTTP: the feed, page by page, resumed from its cursor."""

from __future__ import annotations

from fastapi import APIRouter, Query

from accord.http._common import COMMON, Caller, Service
from accord.model import LedgerPage

router = APIRouter(prefix="/v1", responses=COMMON, tags=["ledger"])


@router.get("/ledger/feed", response_model=LedgerPage)
def ledger_feed(caller: Caller, svc: Service,
                after: str | None = Query(None, max_length=60, description=(
                    "the `cursor` of the page you last read; omit to start at the beginning")),
                limit: int = Query(1000, ge=1, le=10_000)) -> LedgerPage:
    """Committed ledger entries after ``after``, oldest first. Resuming from each page's
    ``cursor`` serves every committed entry exactly once, however replicas' commits
    interleave (see docs/storage.md)."""
    caller.require("reviewer", "admin", doing="read the ledger")
    return svc.ledger_feed(after, limit=limit)
