"""What ``accord serve`` runs: one service per process, the app over it, built from settings.

With ``--workers N`` uvicorn starts N processes and each builds its own app from an import
string, so the settings travel in the environment (``ACCORD_*``, set by ``accord serve``) and
every worker opens its own store. The workers decide as one for the same reason replicas do:
each decision is one transaction serialized on its customer in the store (a row lock on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite's single file).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI

from accord.service import Accord

FACTORY = "accord.http._serving:app_from_env"
"""The import string uvicorn calls (``factory=True``) in every worker process."""


def open_service(db: str, policy: str, *, otlp_endpoint: str | None = None) -> Accord:
    """The service for a server: on a store with a cross-replica bus, live updates use it
    (so a change decided by one worker or replica reaches every other one's subscribers);
    spans go to ``otlp_endpoint`` or where the ``OTEL_*`` variables say, if anywhere."""
    from accord.telemetry import from_environment

    return Accord.open(db, policy=policy, telemetry=from_environment(otlp_endpoint))


def settings_env(db: str, policy: str, *, max_in_flight: int, base_url: str,
                 otlp_endpoint: str | None = None,
                 metrics_token: str | None = None) -> dict[str, str]:
    """The environment ``app_from_env`` reads."""
    env = {"ACCORD_DB": db, "ACCORD_POLICY": policy,
           "ACCORD_MAX_IN_FLIGHT": str(max_in_flight), "ACCORD_BASE_URL": base_url}
    if otlp_endpoint:
        env["ACCORD_OTLP_ENDPOINT"] = otlp_endpoint
    if metrics_token:
        env["ACCORD_METRICS_TOKEN"] = metrics_token
    return env


def app_from_env() -> FastAPI:
    """Build this process's app from ``ACCORD_*``; the app closes its service on shutdown."""
    from accord.http._app import create_app

    missing = [k for k in ("ACCORD_DB", "ACCORD_POLICY") if not os.environ.get(k)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not set: the worker does not know which "
                           "store or policy to serve; start it with `accord serve`")
    service = open_service(os.environ["ACCORD_DB"], os.environ["ACCORD_POLICY"],
                           otlp_endpoint=os.environ.get("ACCORD_OTLP_ENDPOINT") or None)
    options: dict[str, Any] = {"max_in_flight": int(os.environ.get("ACCORD_MAX_IN_FLIGHT", 64)),
                               "base_url": os.environ.get("ACCORD_BASE_URL") or None,
                               "metrics_token": os.environ.get("ACCORD_METRICS_TOKEN") or None}
    try:
        return create_app(service, close_service=True, **options)
    except BaseException:
        service.close()
        raise
