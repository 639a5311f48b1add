"""``accord simulate``: the same company with and without Accord, and what the gate prevents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from accord._errors import AccordError


@click.command("simulate")
@click.option(
    "--customers",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Customers in the synthetic company.",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=366),
    default=14,
    show_default=True,
    help="Simulated days.",
)
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="First random seed; the same seeds give the same results.json.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1, max=100),
    default=5,
    show_default=True,
    help="Companies to simulate (consecutive seeds from --seed); headline figures are means "
    "with a 95% Student-t interval over them.",
)
@click.option(
    "--unsubscribe-value",
    type=click.FloatRange(min=0),
    default=40.0,
    show_default=True,
    help="USD of future value lost per unsubscribe or opt-out (an assumption; prices net value).",
)
@click.option(
    "--complaint-value",
    type=click.FloatRange(min=0),
    default=100.0,
    show_default=True,
    help="USD lost per complaint beyond its opt-out (an assumption; prices net value).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/simulation"),
    show_default=True,
    help="Directory for report.html and results.json.",
)
@click.option(
    "--policy",
    "policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Also run a third arm under this policy file.",
)
@click.option(
    "--sensitivity-customers",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Company size of each sensitivity run, first seed only (0 skips them).",
)
@click.option(
    "--holdout",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.0,
    show_default=True,
    help="Hold this share of customers out in the coordinated arms (settings.holdout, "
    "docs/lift.md) and add the lift report, treated against holdout; 0 for none.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0, max=64),
    default=0,
    show_default=True,
    help="Worker processes for the arms, seeds and sensitivity rows (0: one per CPU, at "
    "most 4). The numbers are the same for any value.",
)
def simulate(
    customers: int,
    days: int,
    seed: int,
    seeds: int,
    unsubscribe_value: float,
    complaint_value: float,
    out: Path,
    policy: Path | None,
    sensitivity_customers: int,
    holdout: float,
    jobs: int,
) -> None:
    """Simulate a fleet of ten agents on one company, with and without Accord.

    Writes OUT/report.html (self-contained, opens offline) and OUT/results.json (every number
    in the report). The customer-response effects are model assumptions: see docs/simulate.md.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from accord.simulate import SimConfig, print_summary, render_html
    from accord.simulate import simulate as run
    from accord.simulate._run import default_jobs

    cfg = SimConfig(
        customers=customers,
        days=days,
        seed=seed,
        seeds=seeds,
        unsubscribe_value=unsubscribe_value,
        complaint_value=complaint_value,
        sensitivity_customers=sensitivity_customers,
        holdout=holdout,
    )
    console = Console(stderr=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot create {out}: {exc.strerror}", param_hint="--out"
        ) from None
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(_describe(task), total=total)
            bar.update(tasks[task], completed=done)

        try:
            results = run(cfg, policy_file=policy, progress=progress,
                          jobs=jobs or default_jobs())
        except AccordError as exc:
            raise click.ClickException(f"the policy was refused: {exc}") from None
    (out / "results.json").write_text(json.dumps(results, indent=1))
    report = out / "report.html"
    report.write_text(render_html(results))
    print_summary(results, Console())
    click.echo(f"report written to {report.resolve()}")
    click.echo(f"numbers written to {(out / 'results.json').resolve()}")


def _describe(task: str) -> str:
    name, _, seed = task.partition(" ")
    if seed:
        return f"{_describe(name).removesuffix(' (days)')} {seed[1:-1]} (days)"
    return {
        "untouched": "untouched baseline (days)",
        "uncoordinated": "without Accord (days)",
        "accord": "with Accord (days)",
        "policy": "with your policy (days)",
        "sensitivity": "sensitivity runs",
        "runs": "arms × seeds (runs)",
    }.get(task, task)
