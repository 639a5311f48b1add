"""The fleet simulation: one synthetic company, ten agents, run with and without Accord.

``simulate(SimConfig(customers=2000, days=14))`` returns every number of the report as a dict;
``render_html`` turns it into a self-contained page. ``accord simulate`` is the command.
See docs/simulate.md for what is modelled and what is assumed.
"""

from accord.simulate._params import SENSITIVITY_KEYS, ResponseParams, SimConfig
from accord.simulate._report import print_summary, render_html
from accord.simulate._run import HEADLINE, simulate

__all__ = [
    "HEADLINE",
    "SENSITIVITY_KEYS",
    "ResponseParams",
    "SimConfig",
    "print_summary",
    "render_html",
    "simulate",
]
