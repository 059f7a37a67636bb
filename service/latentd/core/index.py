"""HNSW over unit vectors (inner product = cosine), cached on disk.

hnswlib is not safe for a query concurrent with a write (insert, resize, set_ef), so
writes take the writer lock and queries the reader lock. The cache file is keyed by a
digest of the vectors and the parameters, written to a temporary file and renamed into
place, so a crash never leaves a half-written index under the real name.

The name says which index the file should hold, not that it holds it intact: hnswlib's
loader trusts its input, and a file with bad bytes in the middle loads and then crashes
the process on the first query. So a cache file is used only once its manifest (size,
SHA-256, parameters; see checked_file) and its hnswlib header both match; otherwise the
server warns and rebuilds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import struct
import threading
import time
from pathlib import Path

import hnswlib
import numpy as np

from latentd.core.checked_file import (
    IntegrityError,
    Metadata,
    remove_stale_temporaries,
    save_checked,
    verify,
)
from latentd.core.hnsw_params import HnswParams
from latentd.core.rwlock import ReadWriteLock

log = logging.getLogger(__name__)

# Bump when the on-disk layout or the way vectors are prepared changes.
CACHE_FORMAT = 1
# A build logs its progress this often (a test shrinks it).
PROGRESS_INTERVAL_S = 10.0
# Vectors go to hnswlib in calls sized to take about this long: short enough that the
# progress lines are up to date, long enough that the threads rarely wait for each other
# at a call's end.
CHUNK_TARGET_S = 1.0
FIRST_CHUNK_ROWS_PER_THREAD = 1000

# hnswlib 0.8 saveIndex header, in order: offsetLevel0, max_elements, cur_element_count,
# size_data_per_element, label_offset, offsetData, maxlevel, enterpoint_node, maxM, maxM0,
# M, mult, ef_construction. Then cur_element_count * size_data_per_element bytes of
# level 0 (maxM0 uint32 links + a uint32 count, the vector, a size_t label per element),
# then per element a uint32 byte count and that many bytes of upper-level links.
_HEADER = struct.Struct("<QQQQQQiIQQQdQ")
_LINK = 4  # tableint and linklistsizeint are uint32
_LABEL = 8  # labeltype is size_t
# Levels are -ln(U)/ln(M) with U a double, so well under this for any M >= 2.
_MAX_LEVEL = 128


def cache_digest(unit_vectors: np.ndarray, params: HnswParams) -> str:
    h = hashlib.sha256()
    h.update(f"latent-hnsw/{CACHE_FORMAT}/ip/{params.m}/{params.ef_construction}".encode())
    h.update(str(unit_vectors.shape).encode())
    h.update(np.ascontiguousarray(unit_vectors, dtype=np.float32).data)
    return h.hexdigest()


def index_metadata(n: int, dim: int, m: int, ef_construction: int) -> Metadata:
    """What a cache file's manifest records about the index in it."""
    return {
        "kind": "hnswlib-index",
        "cache_format": CACHE_FORMAT,
        "space": "ip",
        "n": n,
        "dim": dim,
        "m": m,
        "ef_construction": ef_construction,
    }


def check_index_file(path: Path, n: int, dim: int, params: HnswParams) -> None:
    """Raise IntegrityError unless path starts with hnswlib's header for n vectors of dim
    under params, and its length is what that header and the link lists add up to.
    Reads the header and the upper-level link lists only (a few MB for 400k vectors)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise IntegrityError(f"{size} bytes, shorter than an hnswlib header")
        (
            offset_level0,
            max_elements,
            count,
            per_element,
            label_offset,
            offset_data,
            max_level,
            entry_point,
            max_m,
            max_m0,
            m,
            mult,
            ef_construction,
        ) = _HEADER.unpack(head)
        links0 = 2 * params.m * _LINK + _LINK
        expected = {
            "element count": (count, n),
            "M": (m, params.m),
            "maxM": (max_m, params.m),
            "maxM0": (max_m0, 2 * params.m),
            "ef_construction": (ef_construction, params.ef_construction),
            "bytes per element": (per_element, links0 + dim * 4 + _LABEL),
            "level-0 offset": (offset_level0, 0),
            "data offset": (offset_data, links0),
            "label offset": (label_offset, links0 + dim * 4),
        }
        wrong = [
            f"{what} {found} (expected {want})"
            for what, (found, want) in expected.items()
            if found != want
        ]
        if wrong:
            raise IntegrityError("header does not match: " + ", ".join(wrong))
        empty = count == 0
        if (
            max_elements < count
            or not (max_level == -1 if empty else 0 <= max_level < _MAX_LEVEL)
            or not (empty or entry_point < count)
            or (m > 1 and not math.isclose(mult, 1 / math.log(m), rel_tol=1e-9))
        ):
            raise IntegrityError(
                f"header is inconsistent: max_elements {max_elements}, maxlevel {max_level}, "
                f"entry point {entry_point}, mult {mult} for {count} elements"
            )
        links_start = _HEADER.size + count * per_element
        # Every element has a count word; one with L upper levels has L link blocks more.
        upper = max_m * _LINK + _LINK
        links_bytes = size - links_start
        if links_bytes < count * _LINK:
            raise IntegrityError(f"{size} bytes, too short for {count} elements (truncated)")
        if links_bytes > count * (_LINK + max(max_level, 0) * upper) or links_bytes % _LINK:
            raise IntegrityError(f"{size} bytes, not what {count} elements take")
        f.seek(links_start)
        # A bounded read: the length was checked against the header just above.
        words = np.frombuffer(f.read(links_bytes), dtype="<u4").astype(np.uint32, copy=False)
    _walk_link_lists(words.data, count, upper, max_level)


def _walk_link_lists(words: memoryview, count: int, upper: int, max_level: int) -> None:
    """Check that the upper-level link lists (per element a uint32 byte count, then that
    many bytes) are count whole entries of whole levels that end exactly at the end of the
    file. A plain loop over a memoryview: about 0.06 s for 400k elements, faster than the
    numpy ways tried (most words are link ids, so skipping runs of zeros does not pay)."""
    end = len(words)
    pos = 0
    for element in range(count):
        if pos >= end:
            raise IntegrityError(f"link lists end after {element} of {count} elements")
        nbytes = words[pos]
        if nbytes and (nbytes % upper or nbytes > max_level * upper):
            raise IntegrityError(f"element {element} has a link list of {nbytes} bytes")
        pos += 1 + nbytes // _LINK
    if pos != end:
        raise IntegrityError(
            f"link lists of {count} elements take {_LINK * pos} bytes, "
            f"the file has {_LINK * end} after the level-0 block"
        )


class _BuildProgress:
    """Logs how many vectors a build has added, every PROGRESS_INTERVAL_S, from a thread of
    its own: hnswlib releases the GIL in add_items, so the lines come on time however long
    one call takes."""

    def __init__(self, who: str, total: int) -> None:
        self.done = 0  # set by the building thread after each call
        self._who = who
        self._total = total
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{who}hnsw-progress", daemon=True)

    def __enter__(self) -> _BuildProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        last_done, last_time = 0, self._started
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            done, now = self.done, time.monotonic()
            # The rate since the last line: inserts slow down as the graph grows, so the
            # average since the start would promise too early an end.
            rate = (done - last_done) / max(now - last_time, 1e-3)
            left = f", about {(self._total - done) / rate:.0f}s left" if rate > 0 else ""
            log.info(
                "%sHNSW build: %d of %d vectors (%.0f%%) in %.0fs%s",
                self._who,
                done,
                self._total,
                100 * done / self._total,
                now - self._started,
                left,
            )
            last_done, last_time = done, now


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

    @property
    def default_ef(self) -> int:
        """The breadth of a query that names no ef (the index's setting)."""
        return self._ef

    @classmethod
    def build(cls, unit_vectors: np.ndarray, params: HnswParams, name: str = "") -> HnswIndex:
        """A new index over the rows; logs its start, progress and end (name prefixes the
        lines, so builds of several spaces at once can be told apart)."""
        n, dim = unit_vectors.shape
        threads = params.build_threads or os.cpu_count() or 1
        who = f"{name}: " if name else ""
        log.info(
            "%sbuilding HNSW index: %d vectors of %d dimensions, M=%d, "
            "ef_construction=%d, %d threads",
            who,
            n,
            dim,
            params.m,
            params.ef_construction,
            threads,
        )
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=max(n, 1), ef_construction=params.ef_construction, M=params.m)
        started = time.monotonic()
        rows = FIRST_CHUNK_ROWS_PER_THREAD * threads
        with _BuildProgress(who, n) as progress:
            while progress.done < n:
                done, end = progress.done, min(n, progress.done + rows)
                before = time.monotonic()
                index.add_items(unit_vectors[done:end], np.arange(done, end), num_threads=threads)
                took = time.monotonic() - before
                # Size the next call from this one's rate. Inserts into a small graph are
                # fast, so the size at most doubles: an early rate would overshoot later.
                rate = (end - done) / max(took, 1e-3)
                rows = max(16 * threads, min(2 * (end - done), int(rate * CHUNK_TARGET_S)))
                progress.done = end
        log.info("%sHNSW build: %d vectors (100%%) in %.1fs", who, n, time.monotonic() - started)
        return cls(index, params)

    @classmethod
    def load_or_build(
        cls, unit_vectors: np.ndarray, params: HnswParams, cache_dir: Path | None, name: str
    ) -> tuple[HnswIndex, bool]:
        """The cached index when there is a valid one, else a new build (then cached).
        Returns the index and whether it came from the cache. A cache file that fails its
        checks is a warning and a rebuild, never handed to hnswlib."""
        if cache_dir is None:
            return cls.build(unit_vectors, params, name), False
        n, dim = unit_vectors.shape
        path = Path(cache_dir) / f"{name}-{cache_digest(unit_vectors, params)[:24]}.hnsw"
        if path.exists():
            try:
                verify(
                    path,
                    index_metadata(n, dim, params.m, params.ef_construction),
                    lambda p: check_index_file(p, n, dim, params),
                )
                index = hnswlib.Index(space="ip", dim=dim)
                index.load_index(str(path), max_elements=n)
                if index.get_current_count() == n:
                    return cls(index, params), True
                log.warning(
                    "cached index %s has %d items, expected %d: rebuilding",
                    path,
                    index.get_current_count(),
                    n,
                )
            except IntegrityError as exc:
                log.warning("cached index %s is not trusted (%s): rebuilding", path, exc)
            except (RuntimeError, OSError, MemoryError) as exc:
                log.warning("cannot load cached index %s (%s): rebuilding", path, exc)
        built = cls.build(unit_vectors, params, name)
        remove_stale_temporaries(path)
        built.save(path)
        return built, False

    def save(self, path: Path) -> None:
        """Save to path (a temporary file renamed into place), then its manifest."""
        index = self._index

        def write(tmp: Path) -> None:
            with self._lock.read():
                index.save_index(str(tmp))

        # hnswlib's own values: the manifest describes the file as saved. (No item is
        # added after build, so the count cannot change while it is written.)
        save_checked(
            path,
            write,
            index_metadata(index.get_current_count(), index.dim, index.M, index.ef_construction),
        )

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
