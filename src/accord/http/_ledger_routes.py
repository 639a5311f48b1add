"""Following the ledger over HTTP: the feed, page by page, resumed from its cursor; the chain
heads a checkpoint signs; verifying against a signed checkpoint."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from accord._errors import InvalidInput
from accord.http._common import COMMON, Caller, Service
from accord.ledger import _checkpoint
from accord.ledger._checkpoint import Checkpoint
from accord.model import LedgerPage, LedgerReport

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


# each head as [position, hash]; list[int | str] because a tuple's schema trips OpenAPI tools
@router.get("/ledger/heads", response_model=dict[str, list[int | str]])
def ledger_heads(caller: Caller, svc: Service) -> dict[str, tuple[int, str]]:
    """What a checkpoint signs: each chain's last position and entry hash, from one
    consistent snapshot of a ledger that verifies (500 ``LedgerMismatch`` otherwise). The
    client signs them with its own key, which never reaches the server."""
    caller.require("reviewer", "admin", doing="read the ledger")
    return svc.ledger_heads()


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkpoint: dict[str, Any] = Field(
        description="a checkpoint as `accord ledger checkpoint` writes it")
    key: str | None = Field(None, max_length=2000,
                            description="the PEM public key the checkpoint was signed with")


@router.post("/ledger/verify", response_model=LedgerReport)
def verify_against(body: VerifyIn, caller: Caller, svc: Service) -> LedgerReport:
    """Recompute every chain and prove the ledger a consistent extension of a signed
    checkpoint: nothing it covers removed, rewritten or reordered. A bad signature is a
    report with ``ok: false``, not an error."""
    caller.require("reviewer", "admin", doing="verify the ledger")
    cp = Checkpoint.from_json(json.dumps(body.checkpoint), where="checkpoint")
    if body.key is not None and "PRIVATE KEY" in body.key:
        raise InvalidInput("this is a private key; a signing key must never leave its holder",
                           where="key", hint="send the public key (the .pub file of `accord "
                           "ledger keygen`), and replace the private key you sent")
    key = None if body.key is None else _checkpoint.public_key(body.key.encode(), where="key")
    return svc.verify_ledger(checkpoint=cp, key=key)
