"""Ids for what Accord records: a kind prefix and 80 random bits (``d_…`` decision, ``t_…``
touch, ``e_…`` event, ``cl_…`` claim, ``h_…`` handoff)."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"
