"""YAML with line numbers: every error names the file, the line and the rule id.

Anchors and aliases are allowed, within bounds: an alias is expanded wherever it is used, so a
few kilobytes of nested aliases can stand for billions of nodes (a "billion laughs" file). The
loader counts aliases while composing and nodes while expanding, and refuses a file over either
bound before it costs more than a moment.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]

MAX_ALIASES = 100
MAX_NODES = 20_000  # the `accord init` policy has about 350


class TooLarge(ValueError):
    """A file over the loader's bounds; ``line`` is where the count ran over."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, counting the aliases it composes."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise TooLarge(mark.line + 1, f"more than {MAX_ALIASES} aliases (*name); write "
                               "the values out, or share fewer of them")
        return super().compose_node(parent, index)


def load(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse YAML, returning the data and a map from each node's path to its 1-based line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        if node is None:
            return {}, lines
        return _convert(node, (), lines, [0], loader), lines
    finally:
        loader.dispose()


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int], count: list[int],
             loader: _Loader) -> Any:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise TooLarge(node.start_mark.line + 1,
                       f"the file expands to more than {MAX_NODES:,} values (an alias repeats "
                       "all it names); write a smaller policy")
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            out[key] = _convert(value_node, (*path, str(key)), lines, count, loader)
            lines.setdefault((*path, str(key)), key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines, count, loader)
                for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path`` or of its nearest ancestor that has one."""
    for cut in range(len(path), -1, -1):
        found = lines.get(tuple(path[:cut]))
        if found is not None:
            return found
    return None
