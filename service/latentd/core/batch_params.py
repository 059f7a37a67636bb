"""Batching parameters of sentence models: plain values, so that settings and `--help`
need not import numpy or torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchParams:
    """How a sentence model batches (settings `batch_*`; plain values, no torch)."""

    max_size: int = 64  # inputs in one forward pass
    max_tokens: int = 0  # padded tokens in one forward pass; 0: by device (see SentenceModel)
    max_wait_ms: int = 2  # how long a round waits for more callers
    queue: int = 4096  # inputs waiting for the model; past it, RESOURCE_EXHAUSTED
