"""docs/cli.md is generated from the commands' own --help text, so the two cannot disagree.

Regenerate with ``python -m accord.cli._docs > docs/cli.md``; a test fails when it is stale.
"""

from __future__ import annotations

import click

from accord.cli import COMMANDS, main


def _help(cmd: click.Command, path: list[str], parent: click.Context) -> list[str]:
    ctx = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=100)
    out = [f"## `{' '.join(path)}`", "", "```text", cmd.get_help(ctx).rstrip(), "```", ""]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                out += _help(sub, [*path, name], ctx)
    return out


def render() -> str:
    ctx = click.Context(main, info_name="accord", terminal_width=100,
                        help_option_names=["-h", "--help"])
    lines = ["# Command reference", "",
             "Generated from `accord … --help`; do not edit by hand "
             "(`python -m accord.cli._docs > docs/cli.md`).", ""]
    for name in sorted(COMMANDS):
        cmd = main.get_command(ctx, name)
        if cmd is not None:
            lines += _help(cmd, ["accord", name], ctx)
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
