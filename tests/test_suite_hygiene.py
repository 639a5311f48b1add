"""The suite as a user runs it: it leaves PostgreSQL as it found it, pass or fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, ROOT, require_pg

INNER = '''
from pathlib import Path

from accord import Accord
from tests.conftest import EXAMPLE_POLICY, fresh_pg_schema


def test_that_fails_holding_a_store() -> None:
    url = fresh_pg_schema()
    with Path("schemas.txt").open("a") as out:
        out.write(url.rsplit("%3D", 1)[1] + "\\n")
    acc = Accord.open(url, policy=EXAMPLE_POLICY)
    acc.propose("upsell", "c1", channel="email", intent="upsell")
    acc.close()
    raise AssertionError("this test fails on purpose")


def test_that_passes() -> None:
    with Path("schemas.txt").open("a") as out:
        out.write(fresh_pg_schema().rsplit("%3D", 1)[1] + "\\n")
'''


def run_inner(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``source`` as a test file, run by pytest with the suite's conftest, in a subprocess."""
    (tmp_path / "test_inner.py").write_text(source)
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "-c", os.devnull, "--rootdir", str(tmp_path), "test_inner.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.postgres
def test_the_schemas_a_run_creates_are_dropped_even_when_a_test_fails(tmp_path: Path) -> None:
    import psycopg

    require_pg()
    run = run_inner(tmp_path, INNER)
    assert "1 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    schemas = (tmp_path / "schemas.txt").read_text().split()
    assert len(schemas) == 2
    with psycopg.connect(PG_URL) as conn:
        left = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                            (schemas,)).fetchall()
    assert left == []


@pytest.mark.postgres
def test_a_missing_test_database_is_created(tmp_path: Path) -> None:
    import uuid

    import psycopg

    require_pg()
    name = f"accord_t_{uuid.uuid4().hex[:8]}"
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    inner = ("from tests.conftest import require_pg\n\n\n"
             "def test_it() -> None:\n    require_pg()\n")
    admin = PG_URL.rsplit("/", 1)[0] + "/postgres"
    try:
        run = run_inner(tmp_path, inner, ACCORD_TEST_PG=url)
        assert "1 passed" in run.stdout, run.stdout + run.stderr
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
