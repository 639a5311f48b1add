"""``attribute()``: pick a model, stream the journeys through it in batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._batch import DEFAULT_CHUNK, JourneyBatch, as_batches
from ._heuristic import FirstTouch, LastTouch, Linear, PositionBased, TimeDecay
from ._journey import Journey, Progress
from ._markov import Markov
from ._result import Accumulator, AttributionResult
from ._shapley import Combination, Shapley

MODELS: dict[str, type[Accumulator]] = {
    "first_touch": FirstTouch,
    "last_touch": LastTouch,
    "linear": Linear,
    "time_decay": TimeDecay,
    "position": PositionBased,
    "markov": Markov,
    "shapley": Shapley,
}
BY = ("agent", "channel", "agent_set")


def make_accumulator(model: str, by: str, **params: Any) -> Accumulator:
    """The model's accumulator; ``by="agent_set"`` is model-independent (see ``attribute``)."""
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}, not {by!r}")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if by == "agent_set":
        return Combination("agent_set")
    return MODELS[model](by, **params)


def attribute(
    journeys: Iterable[Journey | JourneyBatch] | JourneyBatch,
    model: str = "linear",
    by: str = "agent",
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    **params: Any,
) -> AttributionResult:
    """Credit conversion value to agents, channels or agent combinations.

    ``model`` is one of ``first_touch``, ``last_touch``, ``linear``, ``time_decay``
    (``half_life_s``), ``position`` (``first``, ``last``), ``markov`` (``order``) or
    ``shapley`` (``exact_max_players``, ``samples``, ``seed``). ``by="agent_set"`` credits
    each journey's whole value to the set of agents delivered in it — a combination is the
    whole journey, so every model agrees — and adds journeys, conversions and conversion rate
    per combination in ``details``.

    Journeys are consumed in batches of ``chunk_size``, so memory stays bounded by the batch
    and the model's statistics; ``progress`` gets the number of journeys processed so far.
    """
    acc = make_accumulator(model, by, **params)
    if by == "agent_set":
        acc.model = model
    batches = [journeys] if isinstance(journeys, JourneyBatch) else as_batches(journeys, chunk_size)
    for batch in batches:
        acc.update(batch)
        if progress is not None:
            progress(acc.journeys)
    return acc.finish()
