"""A word space: a word model's vocabulary as keyed unit vectors, its encoder (token
lookup, mean of tokens for a phrase) and its index (exact, then HNSW once built)."""

from __future__ import annotations

import difflib
import logging
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentd.core.index import HnswIndex, HnswParams
from latentd.core.types import IndexState

log = logging.getLogger(__name__)

# Vocabulary prefix searched for spelling suggestions: rare words make poor suggestions.
SUGGESTION_VOCAB = 100_000


@dataclass(frozen=True)
class KeyLookup:
    index: int | None  # row of the key; None for an out-of-vocabulary fastText vector
    key: str  # the key that was used (exact, or its lowercase form)
    vector: np.ndarray  # raw vector


class WordSpace:
    """Keys in frequency order (row i is the i-th most frequent word), raw and unit vectors."""

    kind = "word"

    def __init__(
        self,
        name: str,
        keys: Sequence[str],
        vectors: np.ndarray,
        source: str = "",
        oov_vector: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        if len(keys) != len(vectors):
            raise ValueError(f"{name}: {len(keys)} keys but {len(vectors)} vectors")
        self.name = name
        self.source = source
        self.keys: list[str] = list(keys)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        # A zero vector stays zero (cosine 0 to everything) rather than becoming NaN.
        self.unit = self.vectors / np.where(norms == 0, 1, norms)
        # First occurrence wins, so a duplicated key resolves to its most frequent row.
        self.key_to_index: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            self.key_to_index.setdefault(key, i)
        self._oov_vector = oov_vector
        self._index: HnswIndex | None = None
        self._state = IndexState.EXACT
        self._suggestion_pool: dict[int, list[str]] | None = None

    # -- shape -------------------------------------------------------------------------

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def size(self) -> int:
        return len(self.keys)

    @property
    def has_subwords(self) -> bool:
        return self._oov_vector is not None

    @property
    def index_state(self) -> IndexState:
        return self._state

    @property
    def index(self) -> HnswIndex | None:
        """The HNSW index once it is ready, else None (queries then run exactly)."""
        return self._index

    # -- keys --------------------------------------------------------------------------

    def lookup(self, key: str) -> KeyLookup | None:
        """Exact key first, then its lowercase form; fastText builds a vector for the rest."""
        for candidate in (key, key.lower()):
            i = self.key_to_index.get(candidate)
            if i is not None:
                return KeyLookup(i, candidate, self.vectors[i])
        if self._oov_vector is not None and key.strip():
            return KeyLookup(None, key, np.asarray(self._oov_vector(key), dtype=np.float32))
        return None

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """Up to n close spellings among the most frequent keys."""
        if self._suggestion_pool is None:
            pool: dict[int, list[str]] = {}
            for k in self.keys[:SUGGESTION_VOCAB]:
                pool.setdefault(len(k), []).append(k)
            self._suggestion_pool = pool
        word = key.lower()
        candidates = [
            k for length in range(len(word) - 2, len(word) + 3)
            for k in self._suggestion_pool.get(length, [])
        ]
        return difflib.get_close_matches(word, candidates, n=n, cutoff=0.75)

    def encode_text(self, text: str) -> tuple[np.ndarray | None, list[str]]:
        """Mean of the raw vectors of the known tokens, and the unknown tokens.
        The vector is None when no token is known."""
        found: list[np.ndarray] = []
        unknown: list[str] = []
        for token in text.split():
            hit = self.lookup(token)
            if hit is None and token.strip(string.punctuation):
                hit = self.lookup(token.strip(string.punctuation))
            if hit is None:
                unknown.append(token)
            else:
                found.append(hit.vector)
        if not found:
            return None, unknown
        return np.mean(found, axis=0, dtype=np.float32), unknown

    # -- index -------------------------------------------------------------------------

    def start_index(
        self, params: HnswParams, cache_dir: Path | None, background: bool = True
    ) -> threading.Thread | None:
        """Load the cached HNSW index or build it. In the background the space answers
        exactly (state BUILDING) until the index is ready (state HNSW)."""
        self._state = IndexState.BUILDING

        def run() -> None:
            started = time.perf_counter()
            try:
                index, cached = HnswIndex.load_or_build(self.unit, params, cache_dir, self.name)
            except Exception:
                log.exception("%s: HNSW index failed; the space stays exact", self.name)
                self._state = IndexState.EXACT
                return
            self._index = index
            self._state = IndexState.HNSW
            log.info("%s: HNSW index %s in %.1fs (%d keys)", self.name,
                     "loaded" if cached else "built", time.perf_counter() - started, self.size)

        if not background:
            run()
            return None
        thread = threading.Thread(target=run, name=f"hnsw-{self.name}", daemon=True)
        thread.start()
        return thread
