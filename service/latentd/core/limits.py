"""Request limits. Every one is a setting (flag, LATENT_* env, TOML) with a sane default.

The defaults keep every request within about 10 s of CPU on a 2-core machine with the
default models (bench/probes.py measures the heaviest requests they allow): the count
limits bound what a request may hold, and the work limits (`max_request_tokens`,
`max_exact_scores`) bound what it may cost where counts alone cannot."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_k: int = 1000  # neighbours per query
    max_inputs: int = 256  # Encode inputs; Similarity terms per side
    max_text_chars: int = 10_000  # one text, key or input
    max_terms: int = 64  # terms in one query
    max_batch: int = 10_000  # queries in one BatchAnalogy / BatchNearest request
    max_steps: int = 256  # Interpolate points
    max_ef: int = 10_000  # HNSW search breadth a caller may ask for
    max_results: int = 1_000_000  # neighbours in one response: queries x k (x points)
    # Sentence-model tokens in one request, over all its texts, after truncation: the
    # model's cost is per token (all-MiniLM-L6-v2: about 0.36 ms of CPU a token on 2
    # cores, so 16,384 tokens cost about 6 s). TEI's max_batch_tokens has this default too.
    max_request_tokens: int = 16_384
    # Scores an exact search computes in one request: queries x keys searched (x terms
    # for 3CosMul), about 7 ns of CPU each. GloVe's 400,000 keys: 2,500 3CosAdd or 833
    # 3CosMul queries, about 7 s.
    max_exact_scores: int = 1_000_000_000
    max_documents: int = 1024  # documents in one Upsert
