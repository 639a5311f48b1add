"""Accord over HTTP: ``create_app(service)`` builds the FastAPI app that ``accord serve`` runs.

See docs/api.md for every endpoint, the roles, idempotency, errors, SSE and webhooks.
"""

from accord._signing import verify_signature
from accord.auth import Principal, Tokens, create_token, hash_token, revoke_token
from accord.http._app import create_app

__all__ = ["Principal", "Tokens", "create_app", "create_token", "hash_token", "revoke_token",
           "verify_signature"]
