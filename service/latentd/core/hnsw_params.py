"""HNSW parameters: plain values, so that settings and `--help` need not import hnswlib."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 200
    # Default search breadth, raised to the candidate count when smaller. On GloVe 6B 50d
    # (400,000 words, M 16) 128 is the least that keeps recall@10 >= 0.98 on words drawn
    # from the whole vocabulary (0.984; 200 gives 0.991 at 1.5x the time): bench/nearest.py.
    ef: int = 128
    build_threads: int = 0  # 0: all cores
