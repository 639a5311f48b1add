"""A small parser for CEL source, into tuples: what the load-time checks reason about.

The CEL runtime (``_cel``) stays the one that decides; this parser only has to agree with it on
the *shape* of an expression (which comprehension iterates over what, nested in what). It is
run after the runtime accepted the source, so it never has to explain a syntax error itself.

Nodes are tuples ``(kind, ...)``:
``("lit", value)``, ``("ident", name)``, ``("select", operand, field)``,
``("index", operand, key)``, ``("list", items)``, ``("map", pairs)``,
``("call", name, target | None, args)``, ``("op", symbol, operands)``,
``("comprehension", macro, range, var, bodies)``.
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple[Any, ...]

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})

_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<str>[rR]?[bB]?[rR]?('''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"
             |'(\\.|[^'\\\n])*'|"(\\.|[^"\\\n])*"))
  | (?P<num>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+
            |\d+[uU]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()\[\]{}])
""", re.VERBOSE)

_BINARY = (("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"), ("*", "/", "%"))


def tokens(source: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise ValueError(f"unexpected character {source[pos]!r} at {pos}")
        if m.lastgroup != "ws":
            out.append(m.group())
        pos = m.end()
    return out


def parse(source: str) -> Node:
    """The expression's tree; ``ValueError`` if it is not CEL this parser understands."""
    p = _Parser(tokens(source))
    node = p.expr()
    if p.peek() is not None:
        raise ValueError(f"unexpected {p.peek()!r}")
    return node


class _Parser:
    def __init__(self, toks: list[str]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise ValueError(f"expected {expected or 'more'}, found {tok!r}")
        self.i += 1
        return tok

    def expr(self) -> Node:
        cond = self.binary(0)
        if self.peek() == "?":
            self.take()
            yes = self.binary(0)
            self.take(":")
            return ("op", "?:", (cond, yes, self.expr()))
        return cond

    def binary(self, level: int) -> Node:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            symbol = self.take()
            left = ("op", symbol, (left, self.binary(level + 1)))
        return left

    def unary(self) -> Node:
        if self.peek() in ("!", "-"):
            symbol = self.take()
            return ("op", symbol, (self.unary(),))
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok == ".":
                self.take()
                name = self.take()
                node = self.call(name, node) if self.peek() == "(" else ("select", node, name)
            elif tok == "[":
                self.take()
                key = self.expr()
                self.take("]")
                node = ("index", node, key)
            elif tok == "{" and node[0] in ("ident", "select"):
                node = ("map", self.pairs("}"))  # a message literal: fields as pairs
            else:
                return node

    def call(self, name: str, target: Node | None) -> Node:
        self.take("(")
        args = self.items(")")
        if target is not None and name in MACROS and args and args[0][0] == "ident":
            return ("comprehension", name, target, args[0][1], tuple(args[1:]))
        return ("call", name, target, tuple(args))

    def items(self, close: str) -> list[Node]:
        out: list[Node] = []
        while self.peek() != close:
            out.append(self.expr())
            if self.peek() != close:
                self.take(",")
        self.take(close)
        return out

    def pairs(self, close: str) -> tuple[tuple[Node, Node], ...]:
        self.take("{")
        out: list[tuple[Node, Node]] = []
        while self.peek() != close:
            key = self.expr()
            self.take(":")
            out.append((key, self.expr()))
            if self.peek() != close:
                self.take(",")
        self.take(close)
        return tuple(out)

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ValueError("unexpected end")
        if tok == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if tok == "[":
            self.take()
            return ("list", tuple(self.items("]")))
        if tok == "{":
            return ("map", self.pairs("}"))
        if tok == ".":
            self.take()
            return self.primary()
        self.take()
        if tok[-1] not in "'\"" and (tok[0].isalpha() or tok[0] == "_"):
            if tok in ("true", "false"):
                return ("lit", tok == "true")
            if tok == "null":
                return ("lit", None)
            if self.peek() == "(":
                return self.call(tok, None)
            return ("ident", tok)
        return ("lit", tok)  # a number or a string: its value never matters here


def children(node: Node) -> list[Node]:
    """The sub-expressions of ``node``, in source order."""
    kind = node[0]
    if kind == "select":
        return [node[1]]
    if kind == "index":
        return [node[1], node[2]]
    if kind == "list":
        return list(node[1])
    if kind == "map":
        return [x for pair in node[1] for x in pair]
    if kind == "call":
        return ([node[2]] if node[2] is not None else []) + list(node[3])
    if kind == "op":
        return list(node[2])
    if kind == "comprehension":
        return [node[2], *node[4]]
    return []
