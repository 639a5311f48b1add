"""Handoffs: structured messages between seats (or to a person), built from named artifacts.

An artifact reference carries the SHA-256 of the content it names, so a receiver can check it
acts on the original and not on someone's lossy summary of it (``verify_artifact``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.model import Timestamp

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
PERSON_PREFIX = "person:"
"""A handoff to or from a human names them ``person:<name>``; anything else must be a seat."""

DEFAULT_SLA = 24 * 3600.0


class Artifact(BaseModel):
    """What a handoff was built from: an id or a URI, and the SHA-256 of its content."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | None = Field(default=None, max_length=500)
    uri: str | None = Field(default=None, max_length=2000)
    sha256: str = Field(description="64 lowercase hex digits of the content's SHA-256")
    media_type: str | None = None

    @model_validator(mode="after")
    def _named_and_hashed(self) -> Artifact:
        if not self.id and not self.uri:
            raise ValueError("an artifact needs an id or a uri")
        if not _HEX64.match(self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        return self


class Handoff(BaseModel):
    """One message from ``sender`` to ``receiver``'s inbox, of a declared ``kind``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    sender: str
    receiver: str
    kind: str
    customer: str | None = None
    trace_id: str | None = None
    parent_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)
    created_at: Timestamp
    due_at: Timestamp | None = None
    read_at: Timestamp | None = None
    acked_at: Timestamp | None = None
    via: str | None = Field(default=None, description="http, mcp, a2a or in-process")

    @property
    def status(self) -> str:
        return "acked" if self.acked_at else "read" if self.read_at else "unread"

    def stuck(self, now: float) -> bool:
        """Past its SLA and not acknowledged."""
        return self.acked_at is None and self.due_at is not None and self.due_at.timestamp() < now


def verify_artifact(artifact: Artifact | dict[str, Any], content: bytes) -> bool:
    """True when ``content`` is exactly what the artifact reference was built from."""
    ref = artifact if isinstance(artifact, Artifact) else Artifact.model_validate(artifact)
    return hashlib.sha256(content).hexdigest() == ref.sha256


def is_person(name: str) -> bool:
    return name.startswith(PERSON_PREFIX) and len(name) > len(PERSON_PREFIX)


def schema_problems(value: Any, schema: dict[str, Any], path: str = "payload") -> list[str]:
    """Check ``value`` against a handoff kind's JSON Schema (draft 2020-12). Returns one
    sentence per problem, each naming its path."""
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                               for p in err.absolute_path)
        problems.append(f"{where}: {err.message}")
    return problems


