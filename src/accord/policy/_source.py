"""YAML with line numbers: every error names the file, the line and the rule id."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


def load(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML, returning the data and a map from each node's path to its 1-based line."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path, int] = {}
    if node is None:
        return {}, lines
    return _convert(node, (), lines), lines


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(""). construct_object(key_node)
            out[key] = _convert(value_node, (*path, str(key)), lines)
            lines.setdefault((*path, str(key)), key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path`` or of its nearest ancestor that has one."""
    for cut in range(len(path), -1, -1):
        found = lines.get(tuple(path[:cut]))
        if found is not None:
            return found
    return None
