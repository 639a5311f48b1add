"""The one place that knows which CEL runtime Accord uses.

``cel-expr-python`` wraps Google's C++ CEL runtime. It was chosen by measurement (docs/policy.md):
binding a whole decision's variables costs about 2 µs and a condition about 2 µs, where the Rust
binding spent about 2 µs per *value* converted. Conditions are type-checked at load, so an
undeclared variable or an impossible operation is a load error with line and column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cel_expr_python import cel
from google.protobuf.timestamp_pb2 import Timestamp

_DYN = cel.Type.DYN
RULES = cel.NewEnv(variables={"action": _DYN, "customer": _DYN, "touches": _DYN, "agent": _DYN,
                              "now": cel.Type.TIMESTAMP})
REDUCERS = cel.NewEnv(variables={"event": _DYN, "customer": _DYN, "now": cel.Type.TIMESTAMP})
_ERROR = cel.Type.ERROR


class CelError(Exception):
    """A condition that could not be evaluated (a missing field, a type mismatch)."""


class CelLimitError(CelError):
    """The runtime stopped an evaluation at one of its limits (the iteration budget)."""


def compile_source(source: str, env: Any) -> Any:
    """Compile and type-check; ``ValueError`` says what and where (line:column)."""
    try:
        return env.compile(source)
    except RuntimeError as exc:
        text = str(exc).replace("INVALID_ARGUMENT: ", "").replace("ERROR: <input>:", "at ")
        raise ValueError(" ".join(text.split())) from None


def timestamp(epoch: float) -> Timestamp:
    """A timestamp as CEL takes it inside a map or list."""
    seconds = int(epoch // 1)
    return Timestamp(seconds=seconds, nanos=round((epoch - seconds) * 1e9) % 1_000_000_000)


def bind(env: Any, variables: dict[str, Any]) -> Any:
    """Convert one decision's variables into CEL once; every condition then reads them."""
    return env.Activation(variables)


def run(program: Any, bound: Any) -> Any:
    """Evaluate; a CEL error (missing key, no such overload, the iteration budget spent)
    raises ``CelError``."""
    try:
        value = program.eval(bound)
    except RuntimeError as exc:  # the runtime's own limits (the iteration budget)
        text = str(exc).replace("INTERNAL: ", "").replace("[INTERNAL]", "")
        raise CelLimitError(" ".join(text.split())) from None
    if value.type() == _ERROR:
        raise CelError(str(value.value()))
    result = value.plain_value()
    if isinstance(result, Timestamp):
        return result.ToDatetime()
    return result


def as_epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Timestamp):
        return float(value.seconds + value.nanos / 1e9)
    return None
