"""Docs that cannot drift: the README's snippets run, and every CLI command is documented."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from accord.cli import COMMANDS
from tests.conftest import EXAMPLE_POLICY, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PROTOCOLS = (ROOT / "docs" / "protocols.md").read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_opens_with_the_two_commands_ci_runs() -> None:
    first = re.search(r"```sh\n(.*?)```", README, flags=re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["make simulate", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def run_snippet(block: str, **scope: Any) -> dict[str, Any]:
    exec(compile(block, "README.md", "exec"), scope)
    return scope


def test_the_embedded_readme_snippet_runs_and_runs_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = next(b for b in python_blocks(README) if "Accord.open" in b)
    (tmp_path / "accord.yaml").write_text(EXAMPLE_POLICY.read_text())
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the store persists in accord.db; a second run must not raise
        scope = run_snippet(block)
        assert scope["late"].outcome == "stop"
        scope["acc"].close()


def test_the_readmes_guard_snippet_runs_alone_and_runs_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    block = next(b for b in python_blocks(README) if "@guard(" in b)
    (tmp_path / "accord.yaml").write_text(EXAMPLE_POLICY.read_text())
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        run_snippet(block)["acc"].close()
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "sent 'Pro, 10% off' to c42"
        assert lines[1].startswith("defer ['daily-cap'")


def test_the_readme_says_how_to_put_accord_on_the_path() -> None:
    assert ". .venv/bin/activate" in README
    assert "put it on your PATH with:  . $(BIN)/activate" in (ROOT / "Makefile").read_text()


def test_the_readme_says_what_make_test_needs() -> None:
    from tests.conftest import PG_URL

    default = "postgresql://postgres@127.0.0.1:5432/test"
    assert "$ACCORD_TEST_PG" in README and default in README
    assert os.environ.get("ACCORD_TEST_PG") or default == PG_URL
    assert "apt-get install chromium" in README and "SKIP_BROWSER_INSTALL" in README
    script = (ROOT / "scripts" / "test").read_text()
    assert "apt-get install" in script and "SKIP_BROWSER_INSTALL" in script


def test_the_readmes_remote_snippets_run_against_accord_serve_with_the_tokens_they_make(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.http.live_server import accord_serve

    (tmp_path / "accord.yaml").write_text(EXAMPLE_POLICY.read_text())
    shell = re.search(r"```sh\n(accord serve [^\n]*)\n(export ACCORD_TOKEN=[^\n]*)\n```", README)
    assert shell is not None, "README: the serve and token lines before the Client snippet"
    serve_line, token_line = shell.groups()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def sh(line: str) -> str:
        return subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    command = token_line.split("#")[0].strip()  # the line as typed, without its comment
    monkeypatch.setenv("ACCORD_TOKEN", sh(f"{command} && echo $ACCORD_TOKEN"))
    args = serve_line.split("#")[0].split()[2:]  # the harness adds a free port, keeps the log
    with accord_serve(*args, log_dir=tmp_path, cwd=tmp_path) as served:
        block = next(b for b in python_blocks(README) if "Client(" in b)
        scope = run_snippet(block.replace("http://127.0.0.1:8000", served.url))
        scope["acc"].close()
        assert scope["d"].outcome == "go"

        # docs/protocols.md: the A2A example, each agent with its own token
        a2a = re.search(r"<!-- doc:a2a -->\n```python\n(.*?)```", PROTOCOLS, re.S)
        assert a2a is not None
        tokens = [sh(f"accord token create --agent {a}") for a in ("upsell", "scheduler")]
        decision = anyio.run(run_snippet(a2a.group(1))["delegate_then_act"], served.url,
                             *tokens)
        assert decision["outcome"] == "go"
        trace = sh("accord trace deal-c42")
        assert "handoff" in trace and "decision" in trace and "scheduler" in trace


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_in_the_readme_or_the_docs(command: str) -> None:
    docs = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    assert f"accord {command}" in docs, f"`accord {command}` is not documented"


def test_the_cli_reference_matches_the_commands_help() -> None:
    from accord.cli._docs import render

    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render() + "\n", "stale: python -m accord.cli._docs > docs/cli.md"


@pytest.mark.parametrize("name", ["mcp-stdio", "mcp-http", "guard"])
def test_the_readmes_protocol_snippets_are_the_tested_ones(name: str) -> None:
    protocols = (ROOT / "docs" / "protocols.md").read_text(encoding="utf-8")
    pattern = rf"<!-- doc:{name} -->\n```\w+\n(.*?)```"
    in_readme, in_doc = re.search(pattern, README, re.S), re.search(pattern, protocols, re.S)
    assert in_readme and in_doc and in_readme.group(1) == in_doc.group(1)


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
NAMED = sorted(set(re.findall(r"`((?:src|tests)/[\w/]+\.py):([\w.]+)`", ARCHITECTURE)))


def _defines(path: Path, dotted: str) -> bool:
    """``dotted`` (``f``, ``Class`` or ``Class.method``) is defined or assigned in ``path``."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in dotted.split("."):
        found = next((n for n in scope if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef
                                                     | ast.ClassDef) and n.name == part), None)
        if found is None:
            return any(isinstance(n, ast.Assign | ast.AnnAssign) and part in {
                t.id for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                if isinstance(t, ast.Name)} for n in scope) and part == dotted.split(".")[-1]
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return True


def test_the_architecture_page_names_the_path_of_a_proposal() -> None:
    assert len(NAMED) >= 10
    assert ("src/accord/gate.py", "evaluate") in NAMED
    assert ("src/accord/service/__init__.py", "Accord.submit") in NAMED
    assert ("src/accord/service/_decisions.py", "Decisions.decide") in NAMED


@pytest.mark.parametrize(("path", "name"), NAMED, ids=[f"{p}:{n}" for p, n in NAMED])
def test_every_function_the_architecture_page_names_exists(path: str, name: str) -> None:
    assert (ROOT / path).is_file(), f"docs/architecture.md names {path}, which does not exist"
    assert _defines(ROOT / path, name), f"docs/architecture.md names {path}:{name}: not there"
