"""``accord bench``."""

from __future__ import annotations

import json
import os

import click


@click.command()
@click.option("--quick", is_flag=True, help="Smaller sizes (about 20 s): for a smoke run.")
@click.option("--large", type=int, default=1_000_000, show_default=True,
              help="Customers in the large store of the scale comparison.")
@click.option("--touches-per-customer", type=int, default=3, show_default=True,
              help="Recorded touches per customer in the scale stores (10 × 1M = 10M).")
@click.option("--http", "with_http", is_flag=True, help="Also drive the HTTP path (slower).")
@click.option("--pg", default=None, envvar="ACCORD_BENCH_PG",
              help="PostgreSQL URL for the HTTP benchmark on PostgreSQL.")
@click.option("--attribution", "with_attribution", is_flag=True,
              help="Also measure attribution journeys per second.")
@click.option("--delivery", "with_delivery", is_flag=True,
              help="Also measure the dispatcher against an SMTP server on loopback.")
@click.option("--telemetry", "with_telemetry", is_flag=True,
              help="Also measure decisions with telemetry off against on, interleaved "
                   "(needs accord[otel]).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(quick: bool, large: int, touches_per_customer: int, with_http: bool, pg: str | None,
          with_attribution: bool, with_delivery: bool, with_telemetry: bool,
          as_json: bool) -> None:
    """Measure the gate, the embedded store and scale (and, on request, HTTP and attribution).

    Reports µs per pure evaluation; full decisions per second against a bare SQLite
    transaction doing the same reads and writes (their ratio) and the bytes each writes; and
    decision cost in a large store over a small one (scale_ratio).
    """
    from accord import bench as b

    def say(msg: str) -> None:
        if not as_json:
            click.echo(f"  … {msg}", err=True)

    result: dict[str, object] = {"cores": os.cpu_count()}
    say("pure evaluation")
    result.update(b.bench_eval(5_000 if quick else 20_000))
    say("busy customers (1,000 and 10,000 touches in the window) vs a quiet one")
    result.update(b.bench_busy(rounds=3 if quick else 5))
    say("embedded decisions vs bare SQLite transactions")
    result.update(b.bench_store(500 if quick else 2000))
    say("scale")
    result.update(b.bench_scale(large=100_000 if quick else large, n=500 if quick else 2000,
                                touches_per=touches_per_customer, progress=say))
    if with_attribution:
        from accord.attribution import bench_attribution

        say("attribution")
        result["attribution"] = bench_attribution(200_000 if quick else 1_000_000)
    if with_delivery:
        from accord.delivery._bench import bench_delivery

        say("delivery to a loopback SMTP server")
        result["delivery"] = bench_delivery(200 if quick else 1000)
    if with_telemetry:
        from accord.telemetry._bench import bench_telemetry

        say("telemetry off vs on")
        result["telemetry"] = bench_telemetry(5_000 if quick else 20_000,
                                              500 if quick else 2000)
    if with_http:
        import tempfile

        from accord.http.bench import bench_http

        say("HTTP on SQLite")
        with tempfile.TemporaryDirectory() as tmp:
            result["http_sqlite"] = bench_http(f"{tmp}/bench.db", seconds=5 if quick else 10)
        if pg:
            say("HTTP on PostgreSQL")
            result["http_postgres"] = bench_http(pg, seconds=5 if quick else 10)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"pure evaluation     {result['eval_us']} µs per decision "
               f"({result['eval_rules']} rules; target < 50); {result['eval_us_busy']} µs "
               "for a customer with six recent touches (caps, spacing, conflicts, retry)")
    click.echo(f"busy customer       {result['busy_1000_us']} µs with 1,000 touches in the "
               f"window ({result['busy_1000_ratio']}× quiet), {result['busy_10000_us']} µs with "
               f"10,000 ({result['busy_10000_ratio']}×); targets ≤ 1,000 and ≤ 10,000 µs")
    click.echo(f"embedded decisions  {result['decisions_per_s']}/s vs bare transaction "
               f"{result['bare_tx_per_s']}/s → ratio {result['ratio']} (target ≥ 0.5)")
    if "bytes_per_decision" in result:
        click.echo(f"bytes written       {result['bytes_per_decision']:,} per decision "
                   f"(synchronous=FULL; the bare transaction {result['bare_bytes_per_tx']:,})")
    click.echo(f"scale               {result['small_us_per_decision']} µs at "
               f"{result['small_customers']:,} customers, {result['large_us_per_decision']} µs "
               f"at {result['large_customers']:,} ({result['large_touches']:,} touches) → "
               f"ratio {result['scale_ratio']} (rounds {result['scale_ratio_min']}–"
               f"{result['scale_ratio_max']}; target ≤ 1.5)")
    for key in ("attribution", "delivery", "telemetry", "http_sqlite", "http_postgres"):
        if key in result:
            click.echo(f"{key:<19} {json.dumps(result[key])}")
