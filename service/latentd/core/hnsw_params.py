"""HNSW parameters: plain values, so that settings and `--help` need not import hnswlib."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 200
    ef: int = 200  # default search breadth; raised to the candidate count when smaller
    build_threads: int = 0  # 0: all cores
