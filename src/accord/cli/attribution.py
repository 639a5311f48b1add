"""``accord attribution``: who earned the conversions, what the gate prevented, where the
budget should go — read from the store in one streaming pass."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import click

from accord.attribution import MODELS, build_report, render_html, render_table
from accord.cli._common import friendly, open_accord, store_options

if TYPE_CHECKING:
    from accord.attribution import StoreReport


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from accord._time import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter(f"must be longer than zero, not {value!r}")
    return seconds


@click.command()
@store_options
@click.option("--model", "models", multiple=True, type=click.Choice(list(MODELS)),
              help="Attribution model; repeat for several. Default: all seven.")
@click.option("--by", type=click.Choice(["agent", "channel", "agent_set"]), default="agent",
              show_default=True, help="Credit agents, channels or agent combinations.")
@click.option("--lookback", default="30d", show_default=True, callback=_duration,
              help="How far before a conversion a touch still counts (30d, 72h, 2w).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True,
              help="table: terminal; json: the HTTP body; csv: credit per model and key; "
              "html: a self-contained page with charts.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True),
              help="A per-period budget to reallocate by fitted marginal returns.")
@click.option("--period", default="7d", show_default=True, callback=_duration,
              help="The budget period: spend and revenue are compared period by period.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar on standard error. Default: when it is a terminal.")
@friendly
def attribution(db: str, policy: str, models: tuple[str, ...], by: str, lookback: float,
                fmt: str, out: str | None, budget: float | None, period: float,
                progress: bool | None) -> None:
    """Credit conversions to agents, channels and combinations.

    Reads every journey in --db (executed touches, the proposals the gate stopped, deferred
    or holds for approval, and purchase/conversion events with data.value) in one streaming
    pass; memory stays bounded by a page of customers. Stopped and deferred proposals earn no
    credit; they are counted as not delivered.
    """
    from rich.console import Console

    if not db.startswith(("postgresql://", "postgres://")) and not os.path.exists(db):
        raise click.ClickException(f"no store at {db!r}; pass --db PATH or set $ACCORD_DB")
    err = Console(stderr=True)
    show = err.is_terminal if progress is None else progress
    service = open_accord(db, policy)
    try:
        with _Bar(err) if show else nullcontext() as bar:
            report = build_report(service, models=list(models) or None, by=by,
                                  lookback_s=lookback, budget=budget, period_s=period,
                                  progress=bar)
    finally:
        service.close()
    text = _render(report, fmt)
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"wrote {out}", err=True)


class _Bar:
    """A rich progress display counting journeys (the total is unknown until the end)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(SpinnerColumn(), TextColumn("reading journeys"),
                                  TextColumn("{task.completed:,.0f}"), TimeElapsedColumn(),
                                  console=console, transient=True)
        self._task = self._progress.add_task("journeys", total=None)

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, journeys: int) -> None:
        self._progress.update(self._task, completed=journeys)


def _render(report: StoreReport, fmt: str) -> str:
    from rich.console import Console

    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["model", report.by, "credit", "share"])
        for result in report.results:
            share = result.share()
            for key, credit in result.credit.items():
                writer.writerow([result.model, key, f"{credit:.4f}", f"{share[key]:.6f}"])
        return buf.getvalue()
    if fmt == "html":
        head, rows = _not_delivered_rows(report)
        page: str = render_html(report.sections(), title="Accord attribution report", extra=[
            ("Not delivered (no credit: the gate or the agent kept these from the customer)",
             head, rows)])
        return page
    # Wide enough for the quality table; a terminal narrower than that squeezes columns.
    width = shutil.get_terminal_size((200, 24)).columns if sys.stdout.isatty() else 200
    console = Console(record=True, file=io.StringIO(), width=width)
    for section in report.sections():
        console.print(render_table(section))
    console.print(_not_delivered_table(report))
    notes = [*report.warnings, *(w for s in report.sections() for w in getattr(s, "warnings", ()))]
    for note in notes:
        console.print(f"warning: {note}")
    return console.export_text()


def _not_delivered_rows(report: StoreReport) -> tuple[list[str], list[list[str]]]:
    kinds = sorted({k for v in report.not_delivered.values() for k in v})
    rows = [[key, *(str(counts.get(k, 0)) for k in kinds)]
            for key, counts in report.not_delivered.items()]
    return [report.by if report.by != "agent_set" else "agent", *kinds], rows


def _not_delivered_table(report: StoreReport) -> Any:
    from rich.table import Table

    head, rows = _not_delivered_rows(report)
    table = Table(title="Not delivered: stopped, deferred, awaiting approval, failed, revoked")
    for i, h in enumerate(head):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table
