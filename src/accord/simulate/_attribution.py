"""Attribution by agent for each arm, through ``accord.attribution`` when it is installed.

The simulation keeps the touches and events of the first ``attribution_sample`` customers (by
id) and hands them to the attribution package; if that package cannot be imported, the report
says so and carries on without it.
"""

from __future__ import annotations

from typing import Any

from accord.simulate._metrics import ArmMetrics
from accord.simulate._params import SimConfig

MODEL = "linear"


def attribution_report(metrics: dict[str, ArmMetrics], cfg: SimConfig) -> dict[str, Any]:
    sample = min(cfg.attribution_sample, cfg.customers)
    if sample <= 0:
        return {"available": False, "note": "attribution sample is 0"}
    try:
        from accord.attribution import (
            Conversion,
            CustomerEvent,
            TouchRecord,
            attribute,
            build_journeys,
            coordination_quality,
        )
    except Exception as exc:  # the package is optional for the simulation
        return {"available": False, "note": f"accord.attribution is not available ({exc})"}
    out: dict[str, Any] = {
        "available": True,
        "model": MODEL,
        "by": "agent",
        "customers": sample,
        "arms": {},
    }
    for name, m in metrics.items():
        touches = sorted(
            (
                TouchRecord(c, a, ch, at, outcome=o, status=s, intent=i, cost=cost)
                for c, a, ch, at, o, s, i, cost in m.attr_touches
            ),
            key=lambda t: (t.customer, t.at),
        )
        events: list[Any] = []
        for c, at, type_, value in m.attr_events:
            if type_ in ("purchase", "conversion"):
                events.append(Conversion(c, at, value, type_))
            else:
                events.append(CustomerEvent(c, at, type_, value))
        events.sort(key=lambda e: (e.customer, e.at))
        try:
            result = attribute(build_journeys(touches, events), model=MODEL, by="agent")
            quality = coordination_quality(build_journeys(touches, events))
        except Exception as exc:
            out["arms"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        q = quality.to_dict() if hasattr(quality, "to_dict") else {}
        out["arms"][name] = {
            "credit": {
                k: round(v, 2) for k, v in sorted(result.credit.items(), key=lambda kv: -kv[1])
            },
            "total_value": round(result.total_value, 2),
            "unattributed": round(result.unattributed, 2),
            "conversions": result.conversions,
            "journeys": result.journeys,
            "quality": q,
        }
    return out
