"""Fleet governance: seats, handoffs, traces an auditor accepts, and the fleet audit.

The service methods live on ``Accord`` (``accord.service._fleet``); this package holds the
pure parts they and the CLI share.
"""

from accord.fleet._audit import SECTIONS, classify, compute_audit, human_bridges
from accord.fleet._collusion import co_movement
from accord.fleet._handoff import Artifact, Handoff, is_person, schema_problems, verify_artifact
from accord.fleet._render import render_audit_html, render_audit_text
from accord.fleet._seats import (
    Orphans,
    Overlap,
    Seat,
    SeatChange,
    orphans,
    overlaps,
    reconcile,
    unconsumed_outputs,
)
from accord.fleet._trace import links, otlp_trace_id, render_trace_tree, to_otlp, trace_json

__all__ = [
    "SECTIONS",
    "Artifact",
    "Handoff",
    "Orphans",
    "Overlap",
    "Seat",
    "SeatChange",
    "classify",
    "co_movement",
    "compute_audit",
    "human_bridges",
    "is_person",
    "links",
    "orphans",
    "otlp_trace_id",
    "overlaps",
    "reconcile",
    "render_audit_html",
    "render_audit_text",
    "render_trace_tree",
    "schema_problems",
    "to_otlp",
    "trace_json",
    "unconsumed_outputs",
    "verify_artifact",
]
