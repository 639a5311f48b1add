"""The API fuzzed from its own /openapi.json: never a 5xx, and every answer fits the schema.

Every operation, with valid (positive) and invalid (negative) inputs, as an agent and as an
admin, on both stores. ``ACCORD_FUZZ_EXAMPLES`` raises the examples per operation and mode
for a longer run by hand (CI keeps the default, well under a minute per store and role); the
run collects every failing case and reports how many were tried.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .live_server import Server

CHECKS: list[Any] = [not_a_server_error, status_code_conformance, content_type_conformance,
                     response_schema_conformance]
SKIP = {"/v1/stream"}  # endless by design; covered by test_live_updates
EXAMPLES = int(os.environ.get("ACCORD_FUZZ_EXAMPLES", "6"))


@pytest.mark.parametrize("role", ["agent_a", "admin"])
def test_fuzzing_every_operation_finds_no_server_error_and_no_schema_drift(
        server: Server, role: str) -> None:
    s = server
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_url(f"{s.url}/openapi.json")
    auth = {"Authorization": f"Bearer {s.tokens[role]}"}
    ran = 0
    tried: list[str] = []
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in SKIP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz = _fuzzer(op, mode, s.url, auth, tried, failures)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    fuzz()
                except Unsatisfiable:
                    # nothing to negate (an operation without parameters or body)
                    assert mode is GenerationMode.NEGATIVE, op.label
                    continue
            ran += 1
    print(f"\nfuzz {role}: {ran} operation-modes, {len(tried)} cases tried, "
          f"{len(failures)} distinct failures")
    assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    assert ran >= 30


def _fuzzer(op: Any, mode: GenerationMode, url: str, auth: dict[str, str], tried: list[str],
            failures: dict[str, str]) -> Any:
    """A Hypothesis test over ``op`` that records each case and every distinct failure."""
    where = f"{op.label} [{mode.value}]"

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=op.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        tried.append(where)
        try:
            case.call_and_validate(base_url=url, headers=auth, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # collect all: one run names them
            for e in getattr(exc, "exceptions", None) or [exc]:
                text = str(e).strip()
                failures.setdefault(f"{where} {type(e).__name__}",
                                    text.splitlines()[0][:300] if text else "")

    return fuzz
