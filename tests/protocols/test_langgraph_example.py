"""examples/langgraph_fleet.py runs as documented: three agents, one email."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langgraph_fleet.py"


def test_the_langgraph_fleet_sends_one_email_and_blocks_the_other_two(
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("langgraph_fleet", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    result = module.main()
    assert [s["agent"] for s in result["sent"]] == ["churn-guard"]
    assert [o["agent"] for o in result["outbox"]] == ["churn-guard"]
    blocked = {b["agent"]: b for b in result["blocked"]}
    assert set(blocked) == {"upsell", "reengage"}
    assert all(b["outcome"] == "stop" and "mixed-signals" in b["rules"]
               for b in blocked.values())
    out = capsys.readouterr().out
    assert "1 email reached cust-42 instead of 3." in out
    assert "BLOCKED  upsell" in out
