"""Policy as code: load, validate and compile ``accord.yaml``. No I/O beyond reading the file."""

from accord.policy._compile import Expr, Policy, Reducer, Rule, compile_expr
from accord.policy._schema import AgentSpec, PolicySpec

__all__ = ["AgentSpec", "Expr", "Policy", "PolicySpec", "Reducer", "Rule", "compile_expr"]
