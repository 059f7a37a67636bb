"""HNSW over unit vectors (inner product = cosine), cached on disk.

hnswlib is not safe for a query concurrent with a write (insert, resize, set_ef), so
writes take the writer lock and queries the reader lock. The cache file is keyed by a
digest of the vectors and the parameters, written to a temporary file and renamed into
place, so a crash never leaves a half-written index under the real name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from latentd.core.rwlock import ReadWriteLock

log = logging.getLogger(__name__)

# Bump when the on-disk layout or the way vectors are prepared changes.
CACHE_FORMAT = 1
# A temporary file this old was left by a process killed while saving (a save of the
# 400k-word index takes about a second), not by one saving now.
STALE_TEMPORARY_S = 600


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 200
    ef: int = 200  # default search breadth; raised to the candidate count when smaller
    build_threads: int = 0  # 0: all cores


def cache_digest(unit_vectors: np.ndarray, params: HnswParams) -> str:
    h = hashlib.sha256()
    h.update(f"latent-hnsw/{CACHE_FORMAT}/ip/{params.m}/{params.ef_construction}".encode())
    h.update(str(unit_vectors.shape).encode())
    h.update(np.ascontiguousarray(unit_vectors, dtype=np.float32).data)
    return h.hexdigest()


class HnswIndex:
    """An hnswlib index whose labels are the row numbers of the space's matrix."""

    def __init__(self, index: hnswlib.Index, params: HnswParams) -> None:
        self._index = index
        self._params = params
        self._ef = params.ef
        self._lock = ReadWriteLock()
        index.set_ef(params.ef)

    @property
    def size(self) -> int:
        return self._index.get_current_count()

    @classmethod
    def build(cls, unit_vectors: np.ndarray, params: HnswParams) -> HnswIndex:
        n, dim = unit_vectors.shape
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=max(n, 1), ef_construction=params.ef_construction, M=params.m)
        threads = params.build_threads or os.cpu_count() or 1
        index.add_items(unit_vectors, np.arange(n), num_threads=threads)
        return cls(index, params)

    @classmethod
    def load_or_build(
        cls, unit_vectors: np.ndarray, params: HnswParams, cache_dir: Path | None, name: str
    ) -> tuple[HnswIndex, bool]:
        """The cached index when there is a valid one, else a new build (then cached).
        Returns the index and whether it came from the cache."""
        if cache_dir is None:
            return cls.build(unit_vectors, params), False
        n, dim = unit_vectors.shape
        path = Path(cache_dir) / f"{name}-{cache_digest(unit_vectors, params)[:24]}.hnsw"
        if path.exists():
            try:
                index = hnswlib.Index(space="ip", dim=dim)
                index.load_index(str(path), max_elements=n)
                if index.get_current_count() == n:
                    return cls(index, params), True
                log.warning("cached index %s has %d items, expected %d: rebuilding",
                            path, index.get_current_count(), n)
            except (RuntimeError, OSError) as exc:
                log.warning("cannot load cached index %s (%s): rebuilding", path, exc)
        built = cls.build(unit_vectors, params)
        _remove_stale_temporaries(path)
        built.save(path)
        return built, False

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            with self._lock.read():
                self._index.save_index(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def query(self, queries: np.ndarray, k: int, ef: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Labels and cosine similarities, (n, k) each, best first."""
        k = min(k, self.size)
        threads = 1 if len(queries) < 8 else (os.cpu_count() or 1)
        # hnswlib searches with max(ef, k) on its own; only a caller's own ef is a write.
        if not ef or ef == self._ef:
            with self._lock.read():
                labels, distances = self._index.knn_query(queries, k=k, num_threads=threads)
        else:
            # ef is index-wide state in hnswlib: changing it is a write.
            with self._lock.write():
                self._index.set_ef(ef)
                try:
                    labels, distances = self._index.knn_query(queries, k=k, num_threads=threads)
                finally:
                    self._index.set_ef(self._ef)
        return labels.astype(np.int64), 1.0 - distances


def _remove_stale_temporaries(path: Path) -> None:
    now = time.time()
    for tmp in path.parent.glob(path.name + ".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMPORARY_S:
                tmp.unlink()
                log.info("removed %s, left by an interrupted save", tmp)
        except OSError:
            pass  # another process removed or renamed it first
