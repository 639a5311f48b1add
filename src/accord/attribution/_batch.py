"""Journeys as flat numpy columns, so every model runs vectorised over a chunk.

Python objects cost about a microsecond each to touch; a model that loops over journeys tops
out far below the 100k journeys/s the issue asks for. A :class:`JourneyBatch` stores a chunk
of journeys as a CSR-style layout (``offsets`` into per-touch columns) with string labels
interned into small integer ids, and the models only ever see these arrays. Storage layers
that can emit columns directly skip the object path altogether (the benchmark does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._journey import Journey

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class JourneyBatch:
    """A chunk of journeys in columns.

    ``offsets[j]:offsets[j+1]`` are journey ``j``'s touches, in time order. ``age`` is the
    time from the touch to the journey's end (the conversion), in seconds. ``agent`` and
    ``channel`` index into ``agents`` and ``channels``.
    """

    offsets: IntArray
    agent: IntArray
    channel: IntArray
    age: FloatArray
    delivered: BoolArray
    converted: BoolArray
    value: FloatArray
    agents: tuple[str, ...]
    channels: tuple[str, ...]

    def __post_init__(self) -> None:
        n, t = len(self.converted), len(self.agent)
        if len(self.offsets) != n + 1 or len(self.value) != n:
            raise ValueError("offsets must have one more entry than journeys, value one per")
        if not (len(self.channel) == len(self.age) == len(self.delivered) == t):
            raise ValueError("touch columns must have equal length")
        if self.offsets[0] != 0 or self.offsets[-1] != t:
            raise ValueError("offsets must start at 0 and end at the number of touches")

    @property
    def n_journeys(self) -> int:
        return len(self.converted)

    @property
    def journey_of_touch(self) -> IntArray:
        """Journey index of every touch."""
        return np.repeat(np.arange(self.n_journeys, dtype=np.int64), np.diff(self.offsets))

    @classmethod
    def from_journeys(cls, journeys: Sequence[Journey]) -> JourneyBatch:
        """Encode journey objects; the only per-touch Python loop in the package."""
        agent_ids: dict[str, int] = {}
        channel_ids: dict[str, int] = {}
        agent: list[int] = []
        channel: list[int] = []
        age: list[float] = []
        delivered: list[bool] = []
        offsets = [0]
        for journey in journeys:
            end = journey.end
            for t in journey.touches:
                agent.append(agent_ids.setdefault(t.agent, len(agent_ids)))
                channel.append(channel_ids.setdefault(t.channel, len(channel_ids)))
                age.append(end - t.at)
                delivered.append(t.outcome == "go" and t.status == "executed")
            offsets.append(len(agent))
        return cls(
            offsets=np.asarray(offsets, dtype=np.int64),
            agent=np.asarray(agent, dtype=np.int64),
            channel=np.asarray(channel, dtype=np.int64),
            age=np.asarray(age, dtype=np.float64),
            delivered=np.asarray(delivered, dtype=np.bool_),
            converted=np.asarray([j.converted for j in journeys], dtype=np.bool_),
            value=np.asarray([j.value if j.converted else 0.0 for j in journeys], np.float64),
            agents=tuple(agent_ids),
            channels=tuple(channel_ids),
        )


def as_batches(
    journeys: Iterable[Journey | JourneyBatch], chunk_size: int = DEFAULT_CHUNK
) -> Iterator[JourneyBatch]:
    """Chunk a stream of journeys (and/or ready batches) into batches, keeping memory bounded."""
    if isinstance(journeys, JourneyBatch):
        yield journeys
        return
    pending: list[Journey] = []
    for item in journeys:
        if isinstance(item, JourneyBatch):
            if pending:
                yield JourneyBatch.from_journeys(pending)
                pending = []
            yield item
            continue
        pending.append(item)
        if len(pending) >= chunk_size:
            yield JourneyBatch.from_journeys(pending)
            pending = []
    if pending:
        yield JourneyBatch.from_journeys(pending)


@dataclass(frozen=True, slots=True)
class Keyed:
    """A batch's delivered touches with global key ids, ready for a model."""

    key: IntArray  # global key id per delivered touch
    journey: IntArray  # journey index (within the batch) per delivered touch
    age: FloatArray
    counts: IntArray  # delivered touches per journey
    converted: BoolArray
    value: FloatArray


class Vocabulary:
    """Interns labels across batches so accumulators can grow with one id space."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def map(self, labels: Sequence[str]) -> IntArray:
        return np.asarray(
            [self.ids.setdefault(label, len(self.ids)) for label in labels], dtype=np.int64
        )

    @property
    def labels(self) -> list[str]:
        return list(self.ids)


def keyed(batch: JourneyBatch, by: str, vocab: Vocabulary) -> Keyed:
    """Select delivered touches and translate their agent/channel ids to ``vocab`` ids."""
    if by == "agent":
        local, labels = batch.agent, batch.agents
    elif by == "channel":
        local, labels = batch.channel, batch.channels
    else:
        raise ValueError(f"cannot key touches by {by!r}")
    mask = batch.delivered
    mapping = vocab.map(labels)
    journey = batch.journey_of_touch[mask]
    return Keyed(
        key=mapping[local[mask]] if len(mapping) else local[mask],
        journey=journey,
        age=batch.age[mask],
        counts=np.bincount(journey, minlength=batch.n_journeys).astype(np.int64),
        converted=batch.converted,
        value=batch.value,
    )
