"""``accord serve`` never prints or logs a database password, wherever the URL carries it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.http.bench import free_port
from accord.store import redacted
from tests.conftest import EXAMPLE_POLICY, fresh_pg_schema, wait_until

SECRET = "s3cret-Pa55word"


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def with_password(url: str, where: str) -> str:
    if where == "userinfo":
        return url.replace("postgres@", f"postgres:{SECRET}@", 1)
    return f"{url}&password={SECRET}"


def serve(db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from accord.cli import main; main()", "serve", "--db", db,
             "--policy", str(EXAMPLE_POLICY), "--port", str(port), "--log-level", "debug"],
            stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.postgres
@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_serve_shows_the_database_url_with_its_password_masked(where: str,
                                                               tmp_path: Path) -> None:
    db = with_password(fresh_pg_schema(), where)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = serve(db, port, log)
    try:
        wait_until(lambda: proc.poll() is not None or _healthy(url), timeout=60,
                   what="accord serve to answer")
        assert proc.poll() is None, log.read_text()
        with httpx.Client(base_url=url, timeout=30) as http:  # errors are logged too
            http.post("/v1/proposals", json={}, headers={"Authorization": "Bearer nope"})
            http.get("/v1/customers/c1/context")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert SECRET not in text
    assert redacted(db) in text  # the operator still sees which database is served


@pytest.mark.postgres
def test_serve_on_an_unreachable_database_does_not_print_its_password(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        closed = s.getsockname()[1]
    db = with_password(fresh_pg_schema(), "userinfo").replace(":5432/", f":{closed}/")
    log = tmp_path / "serve.log"
    proc = serve(db, free_port(), log)
    assert proc.wait(timeout=60) != 0
    text = log.read_text()
    assert SECRET not in text
    assert f"127.0.0.1:{closed}" in text  # the error still says where


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ops:pw@db:5432/accord", "postgresql://ops:***@db:5432/accord"),
    ("postgres://ops:p%40ss@db/accord?sslmode=require",
     "postgres://ops:***@db/accord?sslmode=require"),
    ("postgresql://db/accord?user=ops&password=pw&sslmode=require",
     "postgresql://db/accord?user=ops&password=***&sslmode=require"),
    ("postgresql://ops@db/accord?sslpassword=pw", "postgresql://ops@db/accord?sslpassword=***"),
    ("postgresql://ops@db/accord", "postgresql://ops@db/accord"),
    ("/var/lib/accord/accord.db", "/var/lib/accord/accord.db"),
])
def test_a_store_url_is_shown_with_every_password_masked(url: str, shown: str) -> None:
    assert redacted(url) == shown


@given(password=st.text(st.characters(codec="ascii", exclude_characters="@/?#&%"),
                        min_size=8, max_size=40).filter(lambda p: p.strip() == p))
def test_no_password_survives_redaction(password: str) -> None:
    from urllib.parse import quote

    secret = quote(password, safe="")
    for url in (f"postgresql://ops:{secret}@db:5432/accord?sslmode=require",
                f"postgresql://ops@db/accord?password={secret}&application_name=x"):
        assert secret not in redacted(url)
