"""What the encode batcher reports, for metrics and for the timing a caller gets back.

The batcher (core/encode_batcher.py) stays free of any metrics library: the edge wraps
each request in `observing(observer)`, and the batcher finds that observation in the
calling thread's context when a job is queued. It reports each forward pass (inputs,
padded tokens) and each job's queue wait to the `BatchObserver`, on the model's thread;
and once a job is done, the calling thread adds its queue and inference time to the
request's `ModelTime`, which the edge sends back as metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol


class BatchObserver(Protocol):
    """Called on a model's thread: keep it quick, and it must not raise."""

    def forward_pass(self, model: str, inputs: int, padded_tokens: int) -> None:
        """One forward pass of `inputs` texts, padded to `padded_tokens` tokens in all."""
        ...

    def queue_wait(self, model: str, seconds: float) -> None:
        """A job waited `seconds` from its submission to its first forward pass."""
        ...


@dataclass
class ModelTime:
    """The model time of one request, summed over its encode jobs (seconds)."""

    queue_s: float = 0.0  # queued until the job's first forward pass began
    inference_s: float = 0.0  # from then until its last input was encoded
    jobs: int = 0
    tokens: int = 0  # the tokens the model read (after truncation), prompts included

    def add(self, queue_s: float, inference_s: float, tokens: int) -> None:
        self.queue_s += queue_s
        self.inference_s += inference_s
        self.tokens += tokens
        self.jobs += 1


@dataclass(frozen=True)
class Observation:
    observer: BatchObserver | None
    model_time: ModelTime = field(default_factory=ModelTime)


# A thread keeps its context from one RPC to the next: `observing` resets it after each.
_CURRENT: ContextVar[Observation | None] = ContextVar("latent_encode_observation", default=None)


@contextmanager
def observing(observer: BatchObserver | None) -> Iterator[ModelTime]:
    """Within the block, encode jobs report to `observer` and add their time to the
    ModelTime yielded."""
    observation = Observation(observer)
    token = _CURRENT.set(observation)
    try:
        yield observation.model_time
    finally:
        _CURRENT.reset(token)


def current_observation() -> Observation | None:
    return _CURRENT.get()
