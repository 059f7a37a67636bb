"""Per-key projections on directions, cached: one matrix product over a space's keys
(GloVe's 400,000 x 50: a few ms) that Project's ends and every neutralised search of the
same direction reuse until the space changes (a collection's write)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from latentd.core.space import Space

# Cached entries (each rows x directions float32, plus an order for neutral norms):
# GloVe with one direction costs 3.2 MB an entry.
CACHE_ENTRIES = 16
# A key's unit vector shorter than this once the basis is removed lay along the basis.
VANISHED = 1e-4


@dataclass(frozen=True)
class NeutralNorms:
    """The length of each key's unit vector once the directions are removed, and the
    rows by that length, shortest first (the keys a removal changes most)."""

    norms: np.ndarray  # (rows,) float32 in [0, 1]
    inverse: np.ndarray  # 1 / norms; 0 for a key along the basis (its remainder is zero)
    order: np.ndarray  # (rows,) int64, argsort of norms
    sorted_norms: np.ndarray  # norms[order]


class _Cache:
    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> object | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[object, ...], value: object) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > CACHE_ENTRIES:
                self._entries.popitem(last=False)


_cache = _Cache()


def _key(kind: str, space: Space, basis: np.ndarray) -> tuple[object, ...]:
    digest = hashlib.blake2b(np.ascontiguousarray(basis).tobytes(), digest_size=16).digest()
    # id() with the name and version: a space replaced by another of the same name (a
    # collection deleted and made again) is another key.
    return (kind, id(space), space.name, space.version, basis.shape, digest)


def projections(space: Space, basis: np.ndarray) -> np.ndarray:
    """(rows, r): each row's unit vector projected on the r rows of `basis` (for unit
    keys, its cosine with each). Rows a space leaves unused (zero vectors) project 0."""
    key = _key("projections", space, basis)
    cached = _cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    matrix = space.key_matrix()
    values = np.asarray(matrix @ basis.T, np.float32)
    if not space.unit_keys:
        norms = np.linalg.norm(matrix, axis=1)
        values /= np.where(norms > 0, norms, 1)[:, None]
    _cache.put(key, values)
    return values


def neutral_norms(space: Space, basis: np.ndarray) -> NeutralNorms:
    """Each key's unit vector's length after the orthonormal `basis` is projected out:
    sqrt(1 - |P|^2), for a space of unit keys. A neutralised cosine is the plain cosine
    with the neutralised query divided by it."""
    key = _key("neutral", space, basis)
    cached = _cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    projected = projections(space, basis)
    norms = np.sqrt(np.maximum(1 - (projected**2).sum(axis=1), 0)).astype(np.float32)
    order = np.argsort(norms, kind="stable")
    # A key that lay along the basis has a zero remainder: cosine 0 with everything, as
    # a zero vector scores in brute force.
    inverse = np.where(norms > VANISHED, 1 / np.maximum(norms, VANISHED), 0).astype(np.float32)
    value = NeutralNorms(norms, inverse, order, norms[order])
    _cache.put(key, value)
    return value
