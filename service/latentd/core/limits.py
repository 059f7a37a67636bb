"""Request limits. Every one is a setting (flag, LATENT_* env, TOML) with a sane default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_k: int = 1000  # neighbours per query
    max_inputs: int = 256  # Encode inputs; Similarity terms per side
    max_text_chars: int = 10_000  # one text, key or input
    max_terms: int = 64  # terms in one query
    max_batch: int = 50_000  # queries in one BatchAnalogy / BatchNearest request
    max_steps: int = 256  # Interpolate points
    max_ef: int = 10_000  # HNSW search breadth a caller may ask for
    max_results: int = 1_000_000  # neighbours in one response: queries x k (x points)
