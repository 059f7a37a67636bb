"""A word space: a word model's vocabulary as keyed unit vectors, its encoder (token
lookup, mean of tokens for a phrase) and its index (exact, then HNSW once built)."""

from __future__ import annotations

import bisect
import logging
import string
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from latentd.core.cancellation import checkpoint
from latentd.core.errors import invalid
from latentd.core.hnsw_params import HnswParams
from latentd.core.index import HnswIndex
from latentd.core.search import Hits, QueryBatch, search
from latentd.core.types import AnalogyMethod, Embedded, IndexState, KeyLookup

if TYPE_CHECKING:
    from latentd.core.documents import Filter

log = logging.getLogger(__name__)

# Vocabulary prefix searched for spelling suggestions: rare words make poor suggestions.
SUGGESTION_VOCAB = 100_000
# Least similarity of a suggestion, 0-100: difflib's get_close_matches cutoff of 0.75.
# fuzz.ratio is difflib's 2*M/T with M the longest common subsequence (difflib's M is
# a greedy lower bound of it), computed in C.
SUGGESTION_CUTOFF = 75.0
# A suggestion differs in length by at most this many characters.
SUGGESTION_LENGTH_SLACK = 2
# Texts encoded between two checks that the caller is still there.
EMBED_CHUNK = 1024


@dataclass(frozen=True)
class _SuggestionPool:
    """The most frequent keys sorted by length (then frequency), so the candidates of
    one length range are a slice."""

    keys: list[str]
    ranks: list[int]  # row of each key in the space: a lower row is a more frequent word
    lengths: list[int]  # len of each key, ascending

    @classmethod
    def build(cls, keys: Sequence[str]) -> _SuggestionPool:
        order = sorted(range(len(keys)), key=lambda i: len(keys[i]))  # stable: by rank
        return cls([keys[i] for i in order], order, [len(keys[i]) for i in order])

    def span(self, shortest: int, longest: int) -> tuple[int, int]:
        return (
            bisect.bisect_left(self.lengths, shortest),
            bisect.bisect_right(self.lengths, longest),
        )


class WordSpace:
    """Keys in frequency order (row i is the i-th most frequent word), their unit vectors
    and norms. A Space (core/space.py)."""

    kind = "word"
    has_keys = True
    max_tokens = 0  # a word space reads any number of tokens

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
        raw = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        # Only the unit vectors are kept, with their norms: every search reads the unit
        # matrix, while a raw vector is read a row at a time (lookup), and rebuilt as
        # unit x norm, within a float32 rounding of the file's. GloVe 6B 50d: 80 MB less.
        # A zero vector stays zero (cosine 0 to everything) rather than becoming NaN.
        self.unit = np.ascontiguousarray(raw / np.where(norms == 0, 1, norms))
        self.norms = norms[:, 0].astype(np.float32)
        del raw
        # First occurrence wins, so a duplicated key resolves to its most frequent row.
        self.key_to_index: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            self.key_to_index.setdefault(key, i)
        self._oov_vector = oov_vector
        self._index: HnswIndex | None = None
        self._state = IndexState.EXACT
        self._suggestion_pool: _SuggestionPool | None = None
        self._suggestion_lock = threading.Lock()
        self._masks: dict[int, np.ndarray] = {}  # key_mask by restrict, read-only

    # -- shape -------------------------------------------------------------------------

    @property
    def dimension(self) -> int:
        return int(self.unit.shape[1])

    @property
    def vectors(self) -> np.ndarray:
        """All raw vectors (a new matrix: for export and tests, not for queries)."""
        return self.unit * self.norms[:, None]

    def raw_vector(self, row: int) -> np.ndarray:
        return self.unit[row] * self.norms[row]

    @property
    def size(self) -> int:
        return len(self.keys)

    @property
    def prompt_names(self) -> list[str]:
        return []

    @property
    def has_subwords(self) -> bool:
        return self._oov_vector is not None

    @property
    def index_state(self) -> IndexState:
        return self._state

    # A word space never changes once loaded.
    version = 0
    unit_keys = True

    def key_matrix(self) -> np.ndarray:
        return self.unit

    def key_mask(self, restrict: int = 0, filter: Filter | None = None) -> np.ndarray:
        if filter is not None:
            raise invalid(
                "filter", f"{self.name!r} is a word model: only collections have metadata"
            )
        limit = self.size if restrict <= 0 else min(restrict, self.size)
        mask = self._masks.get(limit)
        if mask is None:  # a few distinct restricts are used again and again
            mask = np.zeros(self.size, bool)
            mask[:limit] = True
            mask.flags.writeable = False
            if len(self._masks) < 16:
                self._masks[limit] = mask
        return mask

    @property
    def index(self) -> HnswIndex | None:
        """The HNSW index once it is ready, else None (queries then run exactly)."""
        return self._index

    # -- keys --------------------------------------------------------------------------

    def lookup(self, key: str) -> KeyLookup | None:
        """Exact key first, then its lowercase form; fastText builds a vector for the rest."""
        i = self.key_to_index.get(key)
        if i is not None:
            return KeyLookup(i, key, self.raw_vector(i))
        lower = key.lower()  # only when the exact key is unknown: most keys are found
        i = self.key_to_index.get(lower)
        if i is not None:
            return KeyLookup(i, lower, self.raw_vector(i))
        if self._oov_vector is not None and key.strip():
            return KeyLookup(None, key, np.asarray(self._oov_vector(key), dtype=np.float32))
        return None

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """Up to n close spellings among the most frequent keys, closest first (the more
        frequent of equally close ones first)."""
        pool = self._suggestions()
        word = key.lower()
        start, stop = pool.span(
            len(word) - SUGGESTION_LENGTH_SLACK, len(word) + SUGGESTION_LENGTH_SLACK
        )
        # Usually a handful pass the cutoff: take them all, then rank ties by frequency.
        hits = process.extract(
            word,
            pool.keys[start:stop],
            scorer=fuzz.ratio,
            score_cutoff=SUGGESTION_CUTOFF,
            limit=None,
        )
        hits.sort(key=lambda hit: (-hit[1], pool.ranks[start + hit[2]]))
        return [hit[0] for hit in hits[:n]]

    def _suggestions(self) -> _SuggestionPool:
        """The pool, built once on first use: two RPC threads may ask at the same time."""
        pool = self._suggestion_pool
        if pool is None:
            with self._suggestion_lock:
                pool = self._suggestion_pool
                if pool is None:
                    pool = _SuggestionPool.build(self.keys[:SUGGESTION_VOCAB])
                    self._suggestion_pool = pool
        return pool

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
        return np.asarray(np.mean(found, axis=0, dtype=np.float32)), unknown

    def embed(
        self,
        texts: Sequence[str],
        *,
        prompt_name: str = "",
        truncate: bool = False,
        field: str = "inputs",
        max_request_tokens: int = 0,
    ) -> Embedded:
        """Each text as the mean of its known tokens' vectors (a zero row, not known,
        when it has none). Token lookups cost no model work: no token budget applies."""
        if prompt_name:
            raise invalid("prompt_name", f"{self.name!r} is a word model and has no prompts")
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        known, unknown_tokens = [], []
        for i, text in enumerate(texts):
            if i % EMBED_CHUNK == 0:
                checkpoint()  # a batch of 10,000 queries can hold 640,000 texts
            vector, unknown = self.encode_text(text)
            if vector is not None:
                vectors[i] = vector
            known.append(vector is not None)
            unknown_tokens.append(unknown)
        return Embedded(vectors, known, [False] * len(texts), unknown_tokens)

    def search(
        self,
        batch: QueryBatch,
        k: int,
        method: AnalogyMethod,
        *,
        exact: bool,
        restrict: int,
        ef: int,
    ) -> Hits:
        return search(self, batch, k, method, exact, restrict, ef)

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
            log.info(
                "%s: HNSW index %s in %.1fs (%d keys)",
                self.name,
                "loaded" if cached else "built",
                time.perf_counter() - started,
                self.size,
            )

        if not background:
            run()
            return None
        thread = threading.Thread(target=run, name=f"hnsw-{self.name}", daemon=True)
        thread.start()
        return thread
