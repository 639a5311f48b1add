"""Docs that cannot drift: the README's snippets run, and every CLI command is documented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from accord.cli import COMMANDS
from tests.conftest import EXAMPLE_POLICY, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_opens_with_the_two_commands_ci_runs() -> None:
    first = re.search(r"```sh\n(.*?)```", README, flags=re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands == ["make simulate", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_embedded_readme_snippet_runs(tmp_path: Path) -> None:
    block = next(b for b in python_blocks(README) if "Accord.open" in b)
    (tmp_path / "accord.yaml").write_text(EXAMPLE_POLICY.read_text())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), scope)
        late = scope["late"]
        assert late.outcome == "stop"  # type: ignore[attr-defined]
        scope["acc"].close()  # type: ignore[attr-defined]
    finally:
        os.chdir(cwd)


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
