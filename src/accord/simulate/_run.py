"""Run the arms, the sensitivity table and attribution; return every number as one dict.

``results.json`` is this dict; the HTML and terminal reports only format it.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from accord.policy import Policy
from accord.simulate._agents import fleet
from accord.simulate._arms import (
    Coordinated,
    Uncoordinated,
    Verdict,
    example_policy_text,
    with_fleet_seats,
    with_holdout,
)
from accord.simulate._company import DAY, START, customer_id
from accord.simulate._engine import Arm, Engine
from accord.simulate._metrics import ArmMetrics
from accord.simulate._params import (
    SENSITIVITY_KEYS,
    SENSITIVITY_SWITCHES,
    SimConfig,
    scaled_config,
    sensitivity_value,
)

ASSUMPTIONS = (
    "Customer reactions come from a response model whose effects (contact fatigue, "
    "mixed signals, contact after a purchase or an opt-out) are model assumptions, "
    "not measurements; see config.response and sensitivity. Headline figures are means over "
    "several seeds with a 95 % Student-t interval (summary); arms holds the first seed in detail."
)
INTERVAL = "95 % Student-t interval of the mean over seeds (low = high = mean with one seed)"
SUMMARY = {
    "sends_after_opt_out": "sends_after_opt_out",
    "reengage_after_purchase": "sends_after_purchase",
    "contradictions": "contradictory",
    "collision_touches": "collision_touches",
    "complaints": "complaints",
    "unsubscribes": "unsubscribes",
    "conversions": "conversions",
    "revenue": "revenue",
    "incremental_revenue": "incremental_revenue",
    "channel_spend": "spend",
    "net_value": "net_value",
    "touches_per_customer_week": "touches_per_customer_week_mean",
}
"""``results.json`` ``summary[arm][metric]``: the stable names tools read, and where each comes
from in a seed's arm."""
SUMMARY_ARMS = {"uncoordinated": "without", "accord": "with", "policy": "policy"}
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
"""Two-sided 95 % Student-t quantiles for 1..30 degrees of freedom."""
STORE_BYTES_PER_CUSTOMER_DAY = 1500
"""About what the with-Accord arm's store holds per customer-day (decisions, touches, events,
ledger; measured: 242 MB after 2.3 days of 100,000 customers, history included)."""
RAM_SHARE = 0.25
"""A run's store goes to a RAM-backed filesystem when its estimated size is at most this share
of the memory available and of that filesystem's free space."""


def store_in_ram(customer_days: int, shm: str = "/dev/shm", *, stores: int = 1) -> bool:
    """Whether an arm's throwaway store should live in RAM (a tmpfs such as /dev/shm): then
    the run writes nothing to disk. On disk, even with ``durability="off"``, every commit's
    log pages and every checkpoint reach the disk (1.6 GB in the first 2.3 simulated days of a
    100,000-customer run). Only when the estimated store is a small share of free memory."""
    if not os.path.isdir(shm):
        return False
    need = customer_days * STORE_BYTES_PER_CUSTOMER_DAY * max(1, stores)  # at the same time
    try:
        st = os.statvfs(shm)
        free = st.f_bavail * st.f_frsize
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        available = int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return customer_days <= 200_000
    return need <= RAM_SHARE * min(free, available)

Progress = Callable[[str, int, int], None]
"""Called with (task, done, total) as a run advances."""

HEADLINE = (
    "touches_per_customer_week_mean",
    "touches_per_customer_week_p95",
    "touches_per_customer_week_max",
    "customers_hit_by_2_agents_72h",
    "collision_touches",
    "contradictory",
    "sends_after_purchase",
    "sends_after_opt_out",
    "approvals_requested",
    "unsubscribes",
    "complaints",
    "conversions",
    "revenue",
    "incremental_revenue",
    "spend",
    "net_value",
)


PolicyArm = tuple[str, str, Policy | None]
"""(name, label, policy) per arm; ``None`` is the uncoordinated arm."""


def load_policies(policy_file: str | Path | None, holdout: float = 0.0) -> list[PolicyArm]:
    """Load every arm's policy once, before anything runs: a refused file fails fast, and the
    sensitivity runs use exactly the policies of the main run. A user policy gets the same
    missing seats added; with ``holdout`` every coordinated arm holds that share out."""
    ids = [a.id for a in fleet()]
    text, _ = with_fleet_seats(example_policy_text(), ids)
    text = with_holdout(text, holdout)
    example = Policy.from_text(text, source="accord.yaml (example + ad seats)")
    arms: list[PolicyArm] = [
        ("uncoordinated", "Without Accord", None),
        ("accord", "With Accord", example),
    ]
    if policy_file is not None:
        path = Path(policy_file)
        user_text, _ = with_fleet_seats(path.read_text(), ids)
        user_text = with_holdout(user_text, holdout)
        arms.append(
            ("policy", f"With Accord ({path.name})", Policy.from_text(user_text, source=str(path)))
        )
    return arms


class Untouched(Uncoordinated):
    """The same customers with no agent touching them: the baseline incremental revenue is
    measured against."""

    name = "untouched"
    label = "Untouched"

    def decide(
        self, agent: Any, pick: Any, at: float, now: float, value: float | None = None
    ) -> Verdict:
        return Verdict("stop")


def interval(xs: list[float]) -> dict[str, float]:
    """Mean and 95 % Student-t interval of the mean."""
    a = np.asarray(xs, dtype=np.float64)
    mean = float(a.mean())
    if len(a) < 2:
        return {"mean": round(mean, 2), "low": round(mean, 2), "high": round(mean, 2)}
    t = _T95[min(len(a) - 1, len(_T95)) - 1] if len(a) <= 31 else 1.96
    half = t * float(a.std(ddof=1)) / float(np.sqrt(len(a)))
    return {"mean": round(mean, 2), "low": round(mean - half, 2), "high": round(mean + half, 2)}


def factory(
    name: str, label: str, policy: Policy | None, *, small: bool, keep_days: float = 3.0
) -> Callable[[], Arm]:
    if name == "untouched":
        return Untouched
    if policy is None:
        return Uncoordinated
    return lambda: Coordinated(
        policy, name=name, label=label, in_memory_fs=small, keep_days=keep_days
    )


def run_arm(
    cfg: SimConfig, factory: Callable[[], Arm], on_day: Callable[[int], None] | None = None
) -> ArmMetrics:
    arm = factory()
    try:
        return Engine(cfg, arm).run(on_day)
    finally:
        arm.close()


def summarize(m: ArmMetrics, cfg: SimConfig) -> dict[str, Any]:
    c = m.c
    per_week = m.touches.astype(np.float64) * 7.0 / cfg.days
    n = cfg.customers
    heavy = per_week >= 4
    out: dict[str, Any] = {
        "touches_per_customer_week_mean": round(float(per_week.mean()), 3),
        "touches_per_customer_week_p95": round(float(np.percentile(per_week, 95)), 3),
        "touches_per_customer_week_max": round(float(per_week.max()), 3),
        "customers_hit_by_2_agents_72h": int(m.collided.sum()),
        "collision_touches": int(c["collision_touches"]),
        "contradictory": int(c["contradictory"]),
        "sends_after_purchase": int(c["after_purchase"]),
        "sends_after_opt_out": int(c["after_opt_out"]),
        "approvals_requested": int(c["approvals_requested"]),
        "approved": int(c["approved"]),
        "rejected": int(c["rejected"]),
        "approved_sent": int(c["approved_sent"]),
        "unsubscribes": int(c["unsubscribes"]),
        "complaints": int(c["complaints"]),
        "conversions": int(c["conversions"]),
        "touch_conversions": int(c["touch_conversions"]),
        "revenue": round(float(c["revenue"]), 2),
        "touch_revenue": round(float(c["touch_revenue"]), 2),
        "touch_incremental_revenue": round(float(c["touch_incremental_revenue"]), 2),
        "organic_revenue": round(float(c["organic_revenue"]), 2),
        "spend": round(float(c["spend"]), 2),
        "proposals": int(c["proposals"]),
        "delivered": int(c["delivered"]),
        "go": int(c["go"]),
        "stop": int(c["stop"]),
        "defer": int(c["defer"]),
        "flag": int(c["flag"]),
        "revoked_before_send": int(c["revoked_before_send"]),
        "self_suppressed": int(c["self_suppressed"]),
        "kept": int(c["kept"]),
        "redecided": {
            k: int(c[f"redecided_{k}"]) for k in ("go", "flag", "stop", "defer", "lapsed")
        },
        "deferred_dropped": int(c["deferred_dropped"]),
        "approved_deferred": int(c["approved_deferred"]),
        "amends_applied": int(c["amends_applied"]),
        "context_writes": int(c["context_writes"]),
        "churned_at_end": int(c["churned_at_end"]),
        "events": {k[6:]: int(v) for k, v in sorted(c.items()) if k.startswith("event:")},
        "rules": dict(m.rules.most_common()),
        "journeys": {
            "customers": n,
            "share_unsubscribed": round(float(m.unsubscribed.mean()), 4),
            "share_complained": round(float(m.complained.mean()), 4),
            "share_converted": round(float(m.converted.mean()), 4),
            "share_collided": round(float(m.collided.mean()), 4),
            "heavy_customers": int(heavy.sum()),
            "unsub_rate_heavy": _rate(m.unsubscribed, heavy),
            "unsub_rate_light": _rate(m.unsubscribed, ~heavy),
        },
        "daily": {k: [round(x, 2) for x in v] for k, v in sorted(m.daily.items())},
    }
    agents = []
    for a in m.agents:
        pa = m.per_agent[a.id]
        sent = pa["delivered"]
        agents.append(
            {
                "agent": a.id,
                "cadence": a.cadence,
                "proposals": int(pa["proposals"]),
                "sent": int(sent),
                "stopped": int(pa["stop"]),
                "deferred": int(pa["defer"]),
                "flagged": int(pa["flag"]),
                "revoked": int(pa["revoked"]),
                "conversions": int(pa["conversions"]),
                "revenue": round(float(pa["revenue"]), 2),
                "conversion_rate": round(pa["conversions"] / sent, 4) if sent else 0.0,
                "unsubscribes": int(pa["unsubscribes"]),
                "complaints": int(pa["complaints"]),
                "unsub_per_1000": round(1000 * pa["unsubscribes"] / sent, 2) if sent else 0.0,
                "claimed_conversions": int(pa["claimed_conversions"]),
                "claimed_revenue": round(float(pa["claimed_revenue"]), 2),
                "spend": round(float(pa["spend"]), 2),
            }
        )
    out["per_agent"] = agents
    out["claimed_conversions_total"] = sum(a["claimed_conversions"] for a in agents)
    return out


def _rate(flag: np.ndarray, mask: np.ndarray) -> float:
    return round(float(flag[mask].mean()), 4) if mask.any() else 0.0


def pick_timeline(metrics: dict[str, ArmMetrics], cfg: SimConfig) -> dict[str, Any]:
    """The sampled customer whose week without Accord was the most crowded — most touches,
    most agents, mixed signals weigh most — and that same week in every arm."""
    base = metrics["uncoordinated"].timeline
    best: tuple[int, int, float] = (-1, 0, START)
    by_customer: dict[int, list[tuple[float, str, str]]] = {}
    for r in base:
        if r["kind"] == "touch":
            by_customer.setdefault(r["customer"], []).append((r["at"], r["agent"], r["intent"]))
    for i, touches in sorted(by_customer.items()):
        touches.sort()
        for k, (t, _, _) in enumerate(touches):
            week = [(a, intent) for u, a, intent in touches[k:] if u < t + 7 * DAY]
            agents = {a for a, _ in week}
            mixed = {intent for _, intent in week} & {"retain", "upsell", "reactivate"}
            score = 2 * len(week) + len(agents) + 2 * (len(mixed) > 1)
            if score > best[0] and len(agents) >= 2:
                best = (score, i, t - t % DAY)
    _, who, start = best
    window = (start, min(start + 7 * DAY, START + cfg.days * DAY))
    arms = {}
    for name, m in metrics.items():
        rows = [
            dict(r, at=round(r["at"], 1))
            for r in m.timeline
            if r["customer"] == who and window[0] <= r["at"] < window[1]
        ]
        arms[name] = sorted(rows, key=lambda r: r["at"])
    return {"customer": customer_id(who), "start": window[0], "end": window[1], "arms": arms}


def priced(arms: dict[str, dict[str, Any]], baseline: dict[str, Any], cfg: SimConfig) -> None:
    """Add incremental revenue (against the untouched baseline of the same customers and seed)
    and net value (incremental revenue − channel spend − priced unsubscribes and complaints)."""
    for a in arms.values():
        a["incremental_revenue"] = round(
            a["touch_incremental_revenue"] + a["organic_revenue"] - baseline["organic_revenue"], 2
        )
        a["net_value"] = round(
            a["incremental_revenue"]
            - a["spend"]
            - cfg.unsubscribe_value * a["unsubscribes"]
            - cfg.complaint_value * a["complaints"],
            2,
        )


def _small(cfg: SimConfig) -> SimConfig:
    return replace(
        cfg,
        customers=min(cfg.sensitivity_customers, cfg.customers),
        attribution_sample=0,
        timeline_sample=0,
    )


def sensitivity_cases(cfg: SimConfig) -> list[tuple[str, float]]:
    """The sensitivity table's rows: the baseline, each key halved and doubled, each switch."""
    if cfg.sensitivity_customers <= 0:
        return []
    cases: list[tuple[str, float]] = [("baseline", 1.0)]
    cases += [(k, f) for k in SENSITIVITY_KEYS for f in (0.5, 2.0)]
    cases += [(k, 1.0) for k in SENSITIVITY_SWITCHES]
    return cases


def sensitivity_row(cfg: SimConfig, arms: list[PolicyArm], key: str, factor: float
                    ) -> dict[str, Any]:
    """One row: the untouched baseline and the first two arms on the smaller company, with one
    assumption changed."""
    small = _small(cfg)
    run = small if key == "baseline" else scaled_config(small, key, factor)
    pairs = [("untouched", "Untouched", None), *arms[:2]]
    res = {
        name: summarize(
            run_arm(run, factory(name, label, pol, small=True, keep_days=run.keep_days)), run
        )
        for name, label, pol in pairs
    }
    base = res.pop("untouched")
    priced(res, base, run)
    u, a = res["uncoordinated"], res["accord"]
    return {
        "parameter": key,
        "factor": factor,
        "value": None if key == "baseline" else sensitivity_value(run, key),
        "revenue_without": u["revenue"],
        "revenue_with": a["revenue"],
        "revenue_delta": round(a["revenue"] - u["revenue"], 2),
        "incremental_without": u["incremental_revenue"],
        "incremental_with": a["incremental_revenue"],
        "incremental_delta": round(a["incremental_revenue"] - u["incremental_revenue"], 2),
        "net_value_delta": round(a["net_value"] - u["net_value"], 2),
        "unsubscribes_without": u["unsubscribes"],
        "unsubscribes_with": a["unsubscribes"],
        "unsubscribe_delta": a["unsubscribes"] - u["unsubscribes"],
        "complaint_delta": a["complaints"] - u["complaints"],
        "conversion_delta": a["conversions"] - u["conversions"],
    }


def sensitivity(cfg: SimConfig, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One at a time: halve and double each key assumption (and switch each choice); the
    accord-minus-uncoordinated deltas of bookings, incremental revenue, net value and
    unsubscribes, on a smaller company (one seed: the table shows direction and size, the
    headline shows the spread)."""
    if not rows:
        return {"rows": [], "customers": 0}
    small = _small(cfg)
    return {"customers": small.customers, "days": small.days, "seed": small.seed, "rows": rows}


def _day_progress(progress: Progress | None, name: str, days: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    report = progress
    return lambda day: report(name, day + 1, days)


def summary(per_seed: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """``summary[arm][metric]`` and ``difference[arm][metric]`` (arm minus the uncoordinated
    arm, paired by seed), each ``{"mean", "low", "high"}``."""
    out: dict[str, Any] = {}
    diff: dict[str, Any] = {}
    for name, key in SUMMARY_ARMS.items():
        if name not in per_seed[0]:
            continue
        out[key] = {m: interval([s[name][src] for s in per_seed]) for m, src in SUMMARY.items()}
        if name != "uncoordinated":
            diff[key] = {
                m: interval([s[name][src] - s["uncoordinated"][src] for s in per_seed])
                for m, src in SUMMARY.items()
            }
    return {"summary": out, "difference": diff}


Task = tuple[str, int, str, float]
"""One unit of work: ("arm", seed index, arm name, 0) or ("sensitivity", row, key, factor)."""
_JOB: dict[str, Any] = {}
"""What every task reads (config, policies): set before the worker processes fork."""


def _arm_config(cfg: SimConfig, k: int) -> SimConfig:
    seed = cfg.seed + k
    if k == 0:
        return replace(cfg, seed=seed)
    return replace(cfg, seed=seed, attribution_sample=0, timeline_sample=0)


def _run_task(task: Task, progress: Progress | None = None) -> tuple[Task, Any, float]:
    """Run one task; returns it, its result and the seconds it took. An arm's result is its
    summary, plus its metrics for the first seed (timeline, attribution, lift)."""
    cfg: SimConfig = _JOB["cfg"]
    arms: list[PolicyArm] = _JOB["arms"]
    t = time.perf_counter()
    kind, k, name, factor = task
    if kind == "sensitivity":
        return task, sensitivity_row(cfg, arms, name, factor), time.perf_counter() - t
    run = _arm_config(cfg, k)
    label, policy = next((lab, pol) for n, lab, pol in [("untouched", "Untouched", None), *arms]
                         if n == name)
    make = factory(name, label, policy, small=_JOB["small"], keep_days=cfg.keep_days)
    what = name if cfg.seeds == 1 else f"{name} (seed {run.seed})"
    m = run_arm(run, make, _day_progress(progress, what, cfg.days))
    out = {"label": label, **summarize(m, run)}
    m.daily = dict(m.daily)  # a plain dict crosses to the parent process
    return task, (out, m if k == 0 else None), time.perf_counter() - t


def _tasks(cfg: SimConfig, arms: list[PolicyArm]) -> list[Task]:
    """Longest first, so two workers finish together: the coordinated arms of every seed, then
    the cheap arms, then the sensitivity rows."""
    coordinated = [n for n, _, pol in arms if pol is not None]
    cheap = ["untouched", *(n for n, _, pol in arms if pol is None)]
    out: list[Task] = [("arm", k, n, 0.0) for k in range(cfg.seeds) for n in coordinated]
    out += [("arm", k, n, 0.0) for k in range(cfg.seeds) for n in cheap]
    out += [("sensitivity", r, key, f) for r, (key, f) in enumerate(sensitivity_cases(cfg))]
    return out


def default_jobs() -> int:
    """Worker processes by default: one per CPU the process may use, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


def simulate(
    cfg: SimConfig,
    *,
    policy_file: str | Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """The whole job: every arm on the same companies (one per seed), the untouched baseline
    of each, then the extras (timeline and attribution on the first seed, sensitivity).

    With ``jobs`` > 1 the arms, seeds and sensitivity rows run in that many forked worker
    processes; every task is deterministic, so the numbers are the same either way."""
    from accord.simulate._attribution import attribution_report

    started = time.perf_counter()
    arms = load_policies(policy_file, cfg.holdout)
    tasks = _tasks(cfg, arms)
    stores = cfg.seeds * sum(1 for _, _, pol in arms if pol is not None)  # full-size stores
    _JOB.update(cfg=cfg, arms=arms, small=store_in_ram(cfg.customers * cfg.days,
                                                       stores=min(max(1, jobs), stores)))
    done: dict[Task, Any] = {}
    timings: dict[str, float] = {}

    def record(task: Task, result: Any, seconds: float) -> None:
        done[task] = result
        key = task[2] if task[0] == "arm" else "sensitivity"
        timings[key] = round(timings.get(key, 0.0) + seconds, 2)
        if progress is not None and (jobs > 1 or task[0] == "sensitivity"):
            n = sum(1 for t in done if t[0] == task[0])
            total = sum(1 for t in tasks if t[0] == task[0])
            progress("runs" if task[0] == "arm" else "sensitivity", n, total)

    try:
        if jobs > 1 and len(tasks) > 1:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx) as pool:
                for fut in as_completed([pool.submit(_run_task, t) for t in tasks]):
                    record(*fut.result())
        else:
            for t in tasks:
                record(*_run_task(t, progress))
    finally:
        _JOB.clear()
    per_seed: list[dict[str, dict[str, Any]]] = []
    first: dict[str, ArmMetrics] = {}
    for k in range(cfg.seeds):
        row: dict[str, dict[str, Any]] = {}
        for name, _, _ in [("untouched", "Untouched", None), *arms]:
            summary_, metrics = done[("arm", k, name, 0.0)]
            row[name] = summary_
            if k == 0:
                first[name] = metrics
        base = row.pop("untouched")
        priced(row, base, _arm_config(cfg, k))
        row["untouched"] = base
        per_seed.append(row)
    first.pop("untouched")
    results: dict[str, Any] = {
        "note": ASSUMPTIONS,
        "config": cfg.summary(),
        "seeds": [cfg.seed + k for k in range(cfg.seeds)],
        "interval": INTERVAL,
        **summary(per_seed),
        "arms": {name: per_seed[0][name] for name, _, _ in arms},
        "baseline": per_seed[0]["untouched"],
        "headline": list(HEADLINE),
        "timeline": pick_timeline(first, cfg),
        "attribution": attribution_report(first, cfg),
    }
    lift = {name: m.lift for name, m in first.items() if m.lift is not None}
    if lift:
        results["lift"] = lift
    rows = [done[t] for t in tasks if t[0] == "sensitivity"]
    results["sensitivity"] = sensitivity(cfg, rows)
    timings["total"] = round(time.perf_counter() - started, 2)
    results["timings_s"] = timings
    return results
