"""``accord serve`` (the HTTP API, with MCP and A2A when installed) and ``accord token``."""

from __future__ import annotations

import json
import os
import sys

import click

from accord.cli._common import db_option, friendly, require_seat, store_options


@click.command()
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--max-in-flight", default=64, show_default=True, type=int,
              help="Concurrent requests before answering 429 with Retry-After (per worker).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes, each with its own store connections. PostgreSQL gains "
                   "from 2 or more; SQLite writers queue on one file, so it gains little.")
@click.option("--base-url", default=None, help="Public URL (for the A2A agent card).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--timeout-keep-alive", default=75, show_default=True,
              type=click.IntRange(min=1),
              help="Seconds an idle connection stays open. Keep it above your clients' and load "
                   "balancer's idle timeouts (httpx: 5 s, many balancers: 60 s): a server that "
                   "closes first races their next request, which fails with a reset.")
@click.option("--checkpoint-key", type=click.Path(dir_okay=False), default=None,
              help="Ed25519 private key (PEM): write signed ledger checkpoints on a schedule.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), default=None,
              help="Where scheduled checkpoints go; pick a place the database's writers "
                   "cannot alter.")
@click.option("--checkpoint-every", type=click.FloatRange(min=1), default=3600.0,
              show_default=True, help="Seconds between scheduled checkpoints.")
@click.option("--otlp-endpoint", default=None, metavar="URL",
              help="Send a span per request and per decision to this OTLP/HTTP collector "
                   "(e.g. http://127.0.0.1:4318). The standard OTEL_EXPORTER_OTLP_ENDPOINT "
                   "does the same. Needs accord[otel]; see docs/observability.md.")
@click.option("--metrics-token", default=None, envvar="ACCORD_METRICS_TOKEN",
              help="A bearer token that may read /metrics (admin tokens always may). Prefer "
                   "the ACCORD_METRICS_TOKEN variable: a command line is visible to `ps`.")
@friendly
def serve(db: str, policy: str, host: str, port: int, max_in_flight: int, workers: int,
          base_url: str | None, log_level: str, timeout_keep_alive: int,
          checkpoint_key: str | None, checkpoint_dir: str | None, checkpoint_every: float,
          otlp_endpoint: str | None, metrics_token: str | None) -> None:
    """Run the HTTP API (/v1, /openapi.json), MCP at /mcp and the A2A agent card.

    Any number of replicas (and of --workers in each) may serve one database; they decide as
    one."""
    import uvicorn

    from accord.cli.core import scheduled_checkpoints
    from accord.http import _serving, create_app

    checkpoints = scheduled_checkpoints(db, policy, checkpoint_key, checkpoint_dir,
                                        checkpoint_every)
    if checkpoints is not None:
        import atexit

        atexit.register(checkpoints.stop)

    public = base_url or f"http://{host}:{port}"
    from accord.store import redacted

    announce = (f"accord serving {redacted(db)} on http://{host}:{port} with {workers} worker(s) "
                "(dashboard: /ui, API docs: /docs)")
    if workers > 1:  # each worker process builds its own app and store from the environment
        from accord.service import Accord

        Accord.open(db, policy=policy).close()  # a bad store or policy fails here, once
        click.echo(announce, err=True)
        os.environ.update(_serving.settings_env(db, policy, max_in_flight=max_in_flight,
                                                base_url=public, otlp_endpoint=otlp_endpoint,
                                                metrics_token=metrics_token))
        uvicorn.run(_serving.FACTORY, factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, access_log=False, timeout_keep_alive=timeout_keep_alive)
        return
    service = _serving.open_service(db, policy, otlp_endpoint=otlp_endpoint)
    app = create_app(service, max_in_flight=max_in_flight, base_url=public,
                     metrics_token=metrics_token)
    click.echo(announce, err=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    timeout_keep_alive=timeout_keep_alive)
    finally:
        service.close()


@click.group()
def token() -> None:
    """Create or revoke API tokens (stored hashed; shown once)."""


@token.command("create")
@store_options
@click.option("--agent", "agent", default=None, help="A token that acts as this agent only.")
@click.option("--reviewer", default=None, help="A token for this reviewer (approves, rejects).")
@click.option("--admin", "admin", is_flag=False, flag_value="admin", default=None,
              help="An admin token (seats, policy, webhooks); optionally name the admin.")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": ...}.')
@friendly
def create(db: str, policy: str, agent: str | None, reviewer: str | None, admin: str | None,
           as_json: bool) -> None:
    """Mint a token. The token is printed on the last line; only its hash is stored.

    An --agent token needs a seat that exists: declared in --policy or registered in --db."""
    from accord.auth import create_token
    from accord.store import open_store

    chosen = [(r, s) for r, s in (("agent", agent), ("reviewer", reviewer), ("admin", admin))
              if s]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --agent ID, --reviewer NAME or --admin")
    role, subject = chosen[0]
    if role == "agent":
        require_seat(subject, db, policy)
    store = open_store(db)
    try:
        secret = create_token(store, role, subject)  # type: ignore[arg-type]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"token": secret, "role": role, "subject": subject}))
    else:
        click.echo(f"{role} token for {subject} (shown once; store it as a secret):", err=True)
        click.echo(secret)


@token.command("revoke")
@db_option
@click.argument("secret")
@friendly
def revoke(db: str, secret: str) -> None:
    """Revoke a token (takes effect on every replica within a few seconds)."""
    from accord.auth import revoke_token
    from accord.store import open_store

    store = open_store(db)
    try:
        found = revoke_token(store, secret)
    finally:
        store.close()
    if not found:
        click.echo("error: no such active token", err=True)
        sys.exit(2)
    click.echo("revoked")
