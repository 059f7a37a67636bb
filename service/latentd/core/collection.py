"""A collection: a space that users write. Its keys are document ids, its encoder its
sentence model (or none: documents then carry their own vectors).

SQLite (WAL, synchronous=FULL) is the truth: documents, metadata, float32 vectors and a
sequence number per write. A write is acknowledged only after SQLite has committed it.
Everything else is derived and rebuilt from it:
- an in-memory mirror (ids, texts, metadata, the index form of every vector), so that
  filters, exact search and results never wait for SQLite;
- the HNSW index, whose snapshot file records the sequence number it covers. On open the
  snapshot is verified (manifest and hnswlib header, see checked_file) and brought up to
  date by replaying the writes after that number; a missing or corrupt one is rebuilt.

HNSW insertion is the slow part of a write (a few thousand vectors a second), so it
happens after the acknowledgement, on the collection's indexer thread, a chunk at a time
without the documents' lock, so writes go on meanwhile. Until a document is in the index
it is "pending": searches score the pending documents exactly and merge them with the
index's candidates, so every acknowledged document is found at once. Two reader-writer
locks: one for the documents (SQLite and the mirror), one for hnswlib (its add_items is
not safe beside knn_query); who needs both takes the documents' lock first.

Each document has a label, its row in the mirror and its label in hnswlib. A deleted
document's label is reused by the next new one (hnswlib: unmark, then update in place),
so a collection that is rewritten many times does not grow. Searches take the reader
lock; writes and snapshots the writer lock (hnswlib is not safe for a query concurrent
with an insert or a resize).
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import json
import logging
import math
import shutil
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import hnswlib
import numpy as np

from latentd.core.cancellation import checkpoint
from latentd.core.checked_file import (
    IntegrityError,
    fsync_directory,
    recorded_metadata,
    remove_stale_temporaries,
    save_checked,
    verify,
)
from latentd.core.documents import (
    CollectionInfo,
    CollectionSettings,
    Document,
    Filter,
    Metric,
)
from latentd.core.errors import FailedPrecondition, InvalidArgument, invalid
from latentd.core.filters import check_filter, matches
from latentd.core.geometry import unit
from latentd.core.hnsw_params import HnswParams
from latentd.core.index import check_index_file
from latentd.core.limits import Limits
from latentd.core.rwlock import ReadWriteLock
from latentd.core.search import (
    PROBE_CHUNK,
    Hits,
    QueryBatch,
    best_candidates,
    cosmul_scores,
    top_k,
)
from latentd.core.space import Space
from latentd.core.types import AnalogyMethod, Embedded, IndexState, KeyLookup

log = logging.getLogger(__name__)

DATABASE = "documents.sqlite3"
SNAPSHOT = "index.hnsw"
SNAPSHOT_FORMAT = 1
# Directories a crash can leave in the data directory: a collection being created, one
# being deleted. Their names start with a dot, which no collection name does.
STAGING_PREFIX = ".creating-"
TRASH_PREFIX = ".deleted-"
MAX_ID_BYTES = 512
INITIAL_CAPACITY = 1024
# A snapshot is written after this many writes since the last one (and on close), so a
# restart replays at most this many.
SNAPSHOT_EVERY = 20_000
# How long the indexer holds hnswlib's writer lock at a time (searches wait for it:
# hnswlib cannot search while it inserts). The chunk of vectors added under one hold is
# sized from the time the last chunks took a vector: 384-d text vectors take about
# 0.3 ms each, random ones over 1 ms, so a fixed chunk of 64 held searches up to 75 ms.
INDEX_HOLD_S = 0.010
INDEX_CHUNK_MAX = 256
# Pending labels the indexer takes at a time under the documents' lock.
INDEX_TAKE = 1024
# A filter that matches at most this share of the documents (or this many) is answered
# by an exact search over the matching ones: HNSW would wander far to find k of them.
EXACT_FILTER_SHARE = 0.05
EXACT_FILTER_DOCS = 4096
DEFAULT_EF = 200  # search breadth unless a caller asks for another
# Dot and L2 collections score vectors as given, in float32 (largest 3.4e38): with every
# length at most this, |a.b| <= |a||b| and |a - b|^2 <= (|a| + |b|)^2 stay finite.
MAX_RAW_NORM = 1e18
# hnswlib rewrites a document in place (updatePoint), and its neighbours' links are then
# redrawn from a small candidate set: now and then an element keeps no link in, and no
# search finds it, at any ef (nmslib/hnswlib#522; seen here after a restart replayed
# every document of a collection once). So once rewrites and deletes since the last
# check reach this share of the documents, the indexer searches for every document by
# its own vector and re-adds those not found, which links them in again.
RELINK_CHECK_SHARE = 0.5
RELINK_CHECK_CHUNK = 4096
RELINK_TRIES = 3
# Queries per filtered hnswlib call: the filter is a Python callback on one thread, so
# a call is slower than an unfiltered one (PROBE_CHUNK); between calls the work stops if
# its caller has gone.
FILTERED_PROBE_CHUNK = 128
# Memory for one chunk of candidate vectors in the rerank (queries x candidates x dims).
RERANK_CHUNK_BYTES = 256 * 1024 * 1024
SPACE_OF: dict[Metric, Literal["ip", "l2"]] = {
    Metric.COSINE: "ip",
    Metric.DOT: "ip",
    Metric.L2: "l2",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    label INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    vector BLOB NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_seq ON documents (seq);
CREATE TABLE IF NOT EXISTS tombstones (seq INTEGER PRIMARY KEY, label INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class DocumentSpace:
    """The Space side that every collection shares, whichever backend keeps its
    documents (Collection here, MilvusCollection in core/milvus_collection.py): its keys
    are document ids, its encoder its sentence model, or none for your own vectors."""

    kind = "collection"
    has_keys = True
    has_subwords = False
    name: str
    settings: CollectionSettings
    _model: Space | None

    @property
    def dimension(self) -> int:
        return self.settings.dimension

    @property
    def max_tokens(self) -> int:
        return self._model.max_tokens if self._model is not None else 0

    @property
    def prompt_names(self) -> list[str]:
        return self._model.prompt_names if self._model is not None else []

    @property
    def unit_keys(self) -> bool:
        return self.settings.metric is Metric.COSINE

    def suggest(self, key: str, n: int = 3) -> list[str]:
        return []  # ids are the caller's names, not words: nothing to spell-check

    def embed(
        self,
        texts: Sequence[str],
        *,
        prompt_name: str = "",
        truncate: bool = False,
        field: str = "inputs",
        max_request_tokens: int = 0,
    ) -> Embedded:
        return self.model.embed(
            texts,
            prompt_name=prompt_name,
            truncate=truncate,
            field=field,
            max_request_tokens=max_request_tokens,
        )

    @property
    def has_model(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Space:
        if self._model is None:
            raise FailedPrecondition(
                f"collection {self.name!r} has no model: it holds your own vectors of "
                f"{self.dimension} dimensions, so it cannot encode text; send a vector"
            )
        return self._model

    def _index_form(self, vectors: np.ndarray) -> np.ndarray:
        """Rows as indexes and searches score them: unit length for cosine."""
        if self.settings.metric is Metric.COSINE:
            return unit(vectors)  # in float64: a float32 norm overflows at 1e20
        return vectors


class Collection(DocumentSpace):
    """A Space (core/space.py) of documents, stored under one directory."""

    def __init__(self, directory: Path, settings: CollectionSettings, model: Space | None) -> None:
        self.name = settings.name
        self.settings = settings
        self.directory = directory
        self.source = str(directory)
        self._model = model
        self._lock = ReadWriteLock()  # the documents: SQLite and the mirror
        self._index_lock = ReadWriteLock()  # hnswlib
        self._db = _connect(directory / DATABASE)
        self._ids: dict[str, int] = {}
        self._docs: dict[int, tuple[str, str, dict[str, Any]]] = {}  # label: id, text, meta
        self._matrix = np.zeros((0, settings.dimension), np.float32)  # index form by label
        self._live = np.zeros(0, bool)
        self._free: list[int] = []  # a heap of labels below capacity that are not in use
        self._index: hnswlib.Index | None = None
        self._writes_since_snapshot = 0
        self._closed = False
        # Derived views, valid for one generation of writes (read paths share them).
        self._generation = 0
        self._filter_cache: dict[Filter, tuple[int, np.ndarray]] = {}
        self._sorted_ids: tuple[int, list[str]] = (-1, [])
        self._indexed = np.zeros(0, bool)  # labels hnswlib holds (deleted or not)
        self._pending = np.zeros(0, bool)  # labels written but not yet (re)indexed
        self._inflight = np.zeros(0, bool)  # labels the indexer is adding right now
        self._rewrites = 0  # labels rewritten in or deleted from hnswlib since the check
        self._checking = False  # the indexer is looking for documents the graph lost
        self._recheck = np.zeros(0, np.int64)  # re-added by the last check: see again
        self._relink_tries = 0
        self._work = threading.Condition()
        self._indexer: threading.Thread | None = None
        self._stopping = False
        self._load()
        self._indexer = threading.Thread(
            target=self._index_pending, name=f"indexer-{self.name}", daemon=True
        )
        self._indexer.start()

    # -- creation and opening ----------------------------------------------------------

    @classmethod
    def create(
        cls, directory: Path, settings: CollectionSettings, model: Space | None
    ) -> Collection:
        # Made under a dot-name and renamed into place: a crash half-way leaves a
        # directory that open_all skips (and clears), never one without its settings.
        staging = directory.with_name(f"{STAGING_PREFIX}{directory.name}-{time.time_ns()}")
        staging.mkdir(parents=True)
        db = _connect(staging / DATABASE)
        with db:
            db.executemany(
                "INSERT INTO settings (key, value) VALUES (?, ?)", settings_rows(settings)
            )
        db.close()
        staging.rename(directory)
        fsync_directory(directory.parent)
        return cls(directory, settings, model)

    def _load(self) -> None:
        started = time.perf_counter()
        rows = self._db.execute(
            "SELECT label, id, text, metadata, vector FROM documents ORDER BY label"
        ).fetchall()
        top = rows[-1][0] + 1 if rows else 0
        self._grow(max(INITIAL_CAPACITY, _capacity_for(top)))
        for label, doc_id, text, metadata, _ in rows:
            self._ids[doc_id] = label
            self._docs[label] = (doc_id, text, json.loads(metadata))
        if rows:
            # The index form of all rows at once, as upsert makes it.
            labels = [row[0] for row in rows]
            raw = np.frombuffer(b"".join(row[4] for row in rows), np.float32)
            self._matrix[labels] = self._index_form(raw.reshape(len(rows), self.dimension))
            self._live[labels] = True
        self._free = [label for label in range(len(self._live)) if not self._live[label]]
        heapq.heapify(self._free)
        how = self._open_index()
        log.info(
            "collection %s: %d documents, index %s, in %.1fs",
            self.name,
            len(self._ids),
            how,
            time.perf_counter() - started,
        )

    def _open_index(self) -> str:
        """Load the snapshot and replay what came after it, or rebuild from the mirror."""
        path = self.directory / SNAPSHOT
        remove_stale_temporaries(path)
        if path.exists():
            try:
                seq = self._load_snapshot(path)
                replayed = self._replay(seq)
                return f"loaded from its snapshot, {replayed} writes replayed"
            except IntegrityError as exc:
                log.warning(
                    "collection %s: snapshot %s is not trusted (%s): rebuilding",
                    self.name,
                    path,
                    exc,
                )
            except (RuntimeError, OSError, ValueError) as exc:
                log.warning(
                    "collection %s: cannot load snapshot %s (%s): rebuilding", self.name, path, exc
                )
        self._build_index()
        return "to be rebuilt in the background"

    def _snapshot_metadata(self, count: int, seq: int) -> dict[str, Any]:
        s = self.settings
        return {
            "kind": "latent-collection-index",
            "format": SNAPSHOT_FORMAT,
            "space": SPACE_OF[s.metric],
            "dim": s.dimension,
            "m": s.m,
            "ef_construction": s.ef_construction,
            "n": count,
            "seq": seq,
        }

    def _load_snapshot(self, path: Path) -> int:
        recorded = recorded_metadata(path)
        count, seq = recorded.get("n"), recorded.get("seq")
        if not isinstance(count, int) or not isinstance(seq, int):
            raise IntegrityError("manifest records no element count or sequence number")
        params = HnswParams(m=self.settings.m, ef_construction=self.settings.ef_construction)
        verify(
            path,
            self._snapshot_metadata(count, seq),
            lambda p: check_index_file(p, count, self.settings.dimension, params),
        )
        index = hnswlib.Index(space=SPACE_OF[self.settings.metric], dim=self.settings.dimension)
        index.load_index(str(path), max_elements=max(len(self._live), count))
        index.set_ef(DEFAULT_EF)  # hnswlib searches with max(ef, k)
        self._index = index
        # Labels the snapshot holds but the mirror does not are deleted documents.
        present = np.asarray(index.get_ids_list(), dtype=np.int64)
        if len(present) and present.max() >= len(self._live):
            self._grow(_capacity_for(int(present.max()) + 1))
        self._indexed[present] = True
        for label in present[~self._live[present]]:
            _mark_deleted(index, int(label))
        return seq

    def _replay(self, after: int) -> int:
        """Apply the writes after sequence number `after` to the loaded index, in order."""
        assert self._index is not None
        deletes = self._db.execute(
            "SELECT seq, label FROM tombstones WHERE seq > ?", (after,)
        ).fetchall()
        puts = self._db.execute(
            "SELECT seq, label FROM documents WHERE seq > ?", (after,)
        ).fetchall()
        events = sorted(
            [(seq, label, False) for seq, label in deletes]
            + [(seq, label, True) for seq, label in puts]
        )
        for _, label, put in events:
            if put and self._live[label]:
                self._pending[label] = True
            elif not put:
                self._pending[label] = False
                _mark_deleted(self._index, label)
        return len(events)

    def _build_index(self) -> None:
        index = hnswlib.Index(space=SPACE_OF[self.settings.metric], dim=self.settings.dimension)
        index.init_index(
            max_elements=len(self._live),
            M=self.settings.m,
            ef_construction=self.settings.ef_construction,
        )
        index.set_ef(DEFAULT_EF)
        self._index = index
        self._pending[:] = self._live  # the indexer builds it; searches are exact meanwhile
        if self._live.any():  # and a snapshot follows once it has caught up
            self._writes_since_snapshot = SNAPSHOT_EVERY

    # -- the Space protocol ------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._ids)

    @property
    def keys(self) -> _LabelKeys:
        return _LabelKeys(self._docs)

    @property
    def index_state(self) -> IndexState:
        """BUILDING while written documents wait for the index (they are found all the
        same, scored exactly) or the indexer checks that every document can be found."""
        if self._index is None:
            return IndexState.EXACT
        busy = self._pending.any() or self._inflight.any() or self._checking
        return IndexState.BUILDING if busy else IndexState.HNSW

    @property
    def version(self) -> int:
        return self._generation

    def key_matrix(self) -> np.ndarray:
        # The mirror itself: a write replaces rows in place, a growth replaces the array.
        return self._matrix

    def key_mask(self, restrict: int = 0, filter: Filter | None = None) -> np.ndarray:
        check_no_restrict(restrict)
        if filter is not None:
            check_filter(filter)
        with self._lock.read():
            return self._allowed(filter).copy()

    def lookup(self, key: str) -> KeyLookup | None:
        with self._lock.read():
            label = self._ids.get(key)
            if label is None:
                return None
            return KeyLookup(label, key, self._matrix[label].copy())

    def search(
        self,
        batch: QueryBatch,
        k: int,
        method: AnalogyMethod,
        *,
        exact: bool,
        restrict: int,
        ef: int,
        filter: Filter | None = None,
    ) -> Hits:
        check_no_restrict(restrict)
        with self._lock.read():
            allowed = self._allowed(filter)
            matching = int(allowed.sum())
            wanted = min(k + batch.exclude.shape[1], matching)
            selective = filter is not None and matching <= exact_filter_limit(self.size)
            if (
                exact
                or self._index is None
                or selective
                or wanted == 0
                or method is AnalogyMethod.COSMUL
            ):
                rows, scores = self._exact(batch, k, method, allowed)
                return Hits(rows, scores, IndexState.EXACT)
            unindexed = self._pending | self._inflight
            indexed = allowed & ~unindexed
            # A caller's own ef is index-wide state in hnswlib: set under the writer lock.
            own_ef = bool(ef) and ef != DEFAULT_EF
            with self._index_lock.write() if own_ef else self._index_lock.read():
                rows, scores = self._hnsw(
                    batch, k, min(wanted, int(indexed.sum())), ef, indexed, filter is not None
                )
            pending = allowed & unindexed
            if pending.any():  # written but not yet indexed: scored exactly, then merged
                more_rows, more_scores = self._exact(batch, k, method, pending)
                rows, scores = _merge(rows, scores, more_rows, more_scores, k)
            return Hits(rows, scores, IndexState.HNSW)

    # -- documents ---------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document], limits: Limits) -> int:
        """Store every document or none: all are checked (and texts encoded) before
        anything is written, then one SQLite transaction commits them."""
        check_documents(self, documents, limits)
        vectors = document_vectors(self, documents, limits)
        index_form = self._index_form(vectors)
        with self._lock.write():
            self._check_open()
            seq = self._last_seq() + 1
            rows = []
            labels = []
            for i, doc in enumerate(documents):
                label = self._ids.get(doc.id)
                if label is None:
                    label = self._take_label(len(documents) - i)
                    self._ids[doc.id] = label
                labels.append(label)
                rows.append(
                    (
                        label,
                        doc.id,
                        doc.text,
                        json.dumps(doc.metadata),
                        vectors[i].tobytes(),
                        seq + i,
                    )
                )
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT INTO documents (label, id, text, metadata, vector, seq) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                        "text = excluded.text, metadata = excluded.metadata, "
                        "vector = excluded.vector, seq = excluded.seq",
                        rows,
                    )
                    self._set_seq(seq + len(documents) - 1)
            except BaseException:
                self._forget_labels(documents, labels)
                raise
            for doc, label in zip(documents, labels, strict=True):
                self._docs[label] = (doc.id, doc.text, dict(doc.metadata))
            self._matrix[labels] = index_form
            self._live[labels] = True
            self._pending[labels] = True
            self._after_write(len(documents))
        return len(documents)

    def delete(self, ids: Sequence[str] = (), filter: Filter | None = None) -> int:
        """Delete the given ids (those that exist), or every document matching the filter
        (with ids too: those of them that match). Returns how many were deleted."""
        if filter is not None:
            check_filter(filter)
        with self._lock.write():
            self._check_open()
            if ids:
                labels = [self._ids[i] for i in dict.fromkeys(ids) if i in self._ids]
                if filter is not None:
                    labels = [lb for lb in labels if matches(filter, self._docs[lb][2])]
            elif filter is not None:
                labels = [int(lb) for lb in np.flatnonzero(self._allowed(filter))]
            else:
                raise invalid("ids", "give ids, a filter, or both")
            if not labels:
                return 0
            seq = self._last_seq() + 1
            with self._db:
                self._db.executemany(
                    "DELETE FROM documents WHERE label = ?", [(lb,) for lb in labels]
                )
                self._db.executemany(
                    "INSERT INTO tombstones (seq, label) VALUES (?, ?)",
                    [(seq + i, lb) for i, lb in enumerate(labels)],
                )
                self._set_seq(seq + len(labels) - 1)
            assert self._index is not None
            for label in labels:
                doc_id = self._docs.pop(label)[0]
                del self._ids[doc_id]
                self._live[label] = False
                self._pending[label] = False
                self._matrix[label] = 0
                with self._index_lock.write():
                    _mark_deleted(self._index, label)
                heapq.heappush(self._free, label)
            self._rewrites += len(labels)
            self._after_write(len(labels))
            return len(labels)

    def documents_at(
        self, labels: Sequence[int], *, with_vector: bool = False
    ) -> list[Document | None]:
        """The documents of search results' labels (None where one was deleted since)."""
        with self._lock.read():
            return [self._document(lb, with_vector) if lb in self._docs else None for lb in labels]

    def get_documents(
        self, ids: Sequence[str], *, with_vector: bool = False
    ) -> tuple[list[Document], list[str]]:
        found, missing = [], []
        with self._lock.read():
            for doc_id in ids:
                label = self._ids.get(doc_id)
                if label is None:
                    missing.append(doc_id)
                else:
                    found.append(self._document(label, with_vector))
        return found, missing

    def count(self, filter: Filter | None = None) -> int:
        if filter is not None:
            check_filter(filter)
        with self._lock.read():
            return self.size if filter is None else int(self._allowed(filter).sum())

    def scroll(
        self,
        filter: Filter | None = None,
        page_token: str = "",
        limit: int = 100,
        *,
        with_vector: bool = False,
    ) -> tuple[list[Document], str]:
        """Documents in id order after `page_token` (the last id of the previous page):
        every document present for the whole scroll comes exactly once, whatever is
        written meanwhile."""
        if filter is not None:
            check_filter(filter)
        if limit < 1:
            raise invalid("limit", f"must be at least 1, got {limit}")
        with self._lock.read():
            after = decode_token(page_token)
            ordered = self._ids_in_order()
            page: list[Document] = []
            more = False
            for doc_id in ordered[bisect.bisect_right(ordered, after) :]:
                label = self._ids[doc_id]
                if not matches(filter, self._docs[label][2]):
                    continue
                if len(page) == limit:
                    more = True  # one more match exists: the page gets a token
                    break
                page.append(self._document(label, with_vector))
            return page, (encode_token(page[-1].id) if more else "")

    def _ids_in_order(self) -> list[str]:
        generation, ordered = self._sorted_ids
        if generation != self._generation:
            ordered = sorted(self._ids)
            self._sorted_ids = (self._generation, ordered)
        return ordered

    def info(self) -> CollectionInfo:
        return CollectionInfo(self.settings, self.size, self.index_state, _disk_bytes(self))

    def close(self) -> None:
        """Index what is pending, write a snapshot if anything changed since the last,
        and close SQLite."""
        self._stop_indexer()
        with self._lock.write():
            if self._closed:
                return
            pending = np.flatnonzero(self._pending)
            if len(pending):
                with self._index_lock.write():
                    self._index_put(pending, self._matrix[pending])
                self._pending[pending] = False
            if self._writes_since_snapshot:
                self._save_snapshot()
            self._closed = True
            self._db.close()

    def destroy(self) -> None:
        """Close and remove the collection's directory."""
        self._stop_indexer()
        with self._lock.write():
            self._closed = True
            self._db.close()
        trash = self.directory.with_name(f"{TRASH_PREFIX}{self.directory.name}-{time.time_ns()}")
        self.directory.rename(trash)  # atomic: a crash leaves no half-deleted collection
        shutil.rmtree(trash, ignore_errors=True)

    # -- inside the locks --------------------------------------------------------------

    def wait_indexed(self, timeout: float | None = None) -> bool:
        """Wait until no document is pending (tests, benchmarks); True if none is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending.any() or self._inflight.any() or self._checking:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _index_pending(self) -> None:
        """The indexer thread: takes up to INDEX_TAKE pending labels under the documents'
        lock, adds them to hnswlib in chunks of about INDEX_HOLD_S under the index's
        writer lock (searches wait at most one chunk; writers are not held up by the
        indexer coming back for every chunk), and writes a snapshot once caught up."""
        seconds_per_vector = 0.001  # until measured
        while True:
            with self._work:
                self._work.wait_for(lambda: self._stopping or bool(self._pending.any()), 1.0)
            with self._lock.write():
                if self._stopping or self._index is None:
                    return
                labels = np.flatnonzero(self._pending)[:INDEX_TAKE]
                vectors = self._matrix[labels].copy()
                self._pending[labels] = False
                self._inflight[labels] = True
            done = 0
            while done < len(labels) and not self._stopping:
                chunk = int(min(INDEX_CHUNK_MAX, max(1, INDEX_HOLD_S / seconds_per_vector)))
                part = labels[done : done + chunk]
                with self._index_lock.write():
                    started = time.perf_counter()
                    # One thread: the other core keeps serving requests meanwhile.
                    self._index_put(part, vectors[done : done + len(part)], num_threads=1)
                    took = (time.perf_counter() - started) / len(part)
                # A moving average: the cost per vector grows with the graph.
                seconds_per_vector = 0.7 * seconds_per_vector + 0.3 * max(took, 1e-6)
                done += len(part)
            with self._lock.write():
                self._inflight[labels] = False
                self._pending[labels[done:]] = True  # stopping: close() indexes them
                added = labels[:done]
                gone = added[~self._live[added]]  # deleted while being added
                if len(gone):
                    with self._index_lock.write():
                        for label in gone:
                            _mark_deleted(self._index, int(label))
                caught_up = not (self._pending.any() or self._inflight.any())
                check = self._relink_check_labels() if caught_up else None
                if caught_up and check is None and self._writes_since_snapshot >= SNAPSHOT_EVERY:
                    self._save_snapshot()
            if check is not None:
                self._relink_lost(check)

    def _relink_check_labels(self) -> np.ndarray | None:
        """The labels to look for now (the caller holds the documents' lock and nothing
        is pending): every document once rewrites reach RELINK_CHECK_SHARE of them, else
        those the last check re-added, else None. Sets _checking (index state BUILDING)."""
        if len(self._recheck) and self._relink_tries < RELINK_TRIES:
            labels = self._recheck[self._live[self._recheck]]
        elif self._rewrites >= max(1, RELINK_CHECK_SHARE * len(self._ids)):
            labels = np.flatnonzero(self._live & self._indexed)
            self._rewrites = self._relink_tries = 0
        else:
            return None
        self._recheck = np.zeros(0, np.int64)
        self._checking = True
        return labels

    def _relink_lost(self, labels: np.ndarray) -> None:
        """Search for each label by its own vector; those the graph walk does not reach
        become pending, so that the indexer re-adds them (a re-add links an element in
        afresh) and searches score them exactly meanwhile."""
        lost: list[np.ndarray] = []
        try:
            for start in range(0, len(labels), RELINK_CHECK_CHUNK):
                part = labels[start : start + RELINK_CHECK_CHUNK]
                with self._lock.read():
                    if self._stopping:
                        return
                    part = part[self._live[part] & ~self._pending[part]]
                    vectors = self._matrix[part]
                with self._index_lock.read():
                    assert self._index is not None
                    found, distances = self._index.knn_query(vectors, k=1, num_threads=1)
                # Found: the label itself, or another at least as close (a duplicate,
                # or for the dot metric a longer vector) that hides it from no search.
                own = self._own_distance(vectors)
                missed = (found[:, 0] != part) & (distances[:, 0] > own + 1e-4 * (1 + abs(own)))
                lost.append(part[missed])
        except RuntimeError:  # fewer elements reachable than k: all are re-added
            lost.append(labels)
        finally:
            with self._lock.write():
                self._checking = False
                again = np.concatenate(lost) if lost else np.zeros(0, np.int64)
                again = again[self._live[again]]
                if len(again):
                    log.warning(
                        "collection %s: %d documents could not be found through the HNSW "
                        "graph after rewrites; re-adding them",
                        self.name,
                        len(again),
                    )
                    self._pending[again] = True
                    self._recheck = again
                    self._relink_tries += 1
                else:
                    self._relink_tries = 0
            with self._work:
                self._work.notify_all()

    def _own_distance(self, vectors: np.ndarray) -> np.ndarray:
        """hnswlib's distance of each vector to itself: 0 for l2, 1 - |v|^2 for ip."""
        if SPACE_OF[self.settings.metric] == "l2":
            return np.zeros(len(vectors), np.float32)
        return np.asarray(1.0 - np.einsum("nd,nd->n", vectors, vectors), np.float32)

    def _stop_indexer(self) -> None:
        with self._lock.write():  # not in the middle of a chunk
            self._stopping = True
        with self._work:
            self._work.notify_all()
        if self._indexer is not None and self._indexer is not threading.current_thread():
            self._indexer.join()

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPrecondition(f"collection {self.name!r} was deleted")

    def _allowed(self, filter: Filter | None) -> np.ndarray:
        """Labels a search may return: live ones that match. The mask of a filter is
        kept until the next write, since applications repeat their filters."""
        if filter is None:
            return self._live.copy()
        cached = self._filter_cache.get(filter)
        if cached is not None and cached[0] == self._generation:
            return cached[1]
        allowed = np.zeros(len(self._live), bool)
        for label, (_, _, metadata) in self._docs.items():
            if matches(filter, metadata):
                allowed[label] = True
        if len(self._filter_cache) >= 64:
            self._filter_cache.clear()
        self._filter_cache[filter] = (self._generation, allowed)
        return allowed

    def _exact(
        self, batch: QueryBatch, k: int, method: AnalogyMethod, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return exact_search(self._matrix, self.settings.metric, batch, k, method, allowed)

    def _rerank_scores(
        self, batch: QueryBatch, method: AnalogyMethod, candidates: np.ndarray
    ) -> np.ndarray:
        """Exact scores of each query's candidate labels (n, c) -> (n, c)."""
        vectors = self._matrix[candidates]  # (n, c, d)
        if method is AnalogyMethod.COSMUL:
            sims = np.einsum("ntd,ncd->ntc", batch.terms, vectors)
            return cosmul_scores(sims, batch.weights)
        if self.settings.metric is Metric.L2:
            diff = vectors - batch.combined[:, None, :]
            return np.asarray(-np.sqrt((diff**2).sum(axis=2)), np.float32)
        return np.asarray(np.einsum("ncd,nd->nc", vectors, batch.combined), np.float32)

    def _hnsw(
        self, batch: QueryBatch, k: int, wanted: int, ef: int, allowed: np.ndarray, filtered: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self._index is not None
        index = self._index
        if ef and ef != DEFAULT_EF:  # the caller holds the index's writer lock
            index.set_ef(ef)
            try:
                return self._hnsw(batch, k, wanted, 0, allowed, filtered)
            finally:
                index.set_ef(DEFAULT_EF)
        chunk = FILTERED_PROBE_CHUNK if filtered else PROBE_CHUNK
        parts: list[np.ndarray] = []
        try:
            for start in range(0, len(batch), chunk):
                checkpoint()
                queries = batch.combined[start : start + chunk]
                if filtered:
                    labels, _ = index.knn_query(
                        queries,
                        k=wanted,
                        num_threads=1,
                        filter=lambda label: bool(allowed[label]),
                    )
                else:
                    labels, _ = index.knn_query(queries, k=wanted)
                parts.append(labels.astype(np.int64))
        except RuntimeError:  # fewer reachable than asked for: the exact answer is cheap
            return self._exact(batch, k, AnalogyMethod.COSADD, allowed)
        candidates = np.vstack(parts)
        found, top = [], []
        per_chunk = max(1, RERANK_CHUNK_BYTES // (max(1, wanted) * self.dimension * 4))
        for start in range(0, len(batch), per_chunk):
            checkpoint()
            labels = candidates[start : start + per_chunk]
            part = batch.rows(slice(start, start + per_chunk))
            s = self._rerank_scores(part, AnalogyMethod.COSADD, labels)
            excluded = (labels[:, :, None] == part.exclude[:, None, :]).any(axis=2)
            s[excluded | ~allowed[labels]] = -np.inf
            rows, scores = best_candidates(labels, s, k)
            found.append(rows)
            top.append(scores)
        return np.vstack(found), np.vstack(top)

    def _document(self, label: int, with_vector: bool) -> Document:
        doc_id, text, metadata = self._docs[label]
        vector = None
        if with_vector:
            row = self._db.execute(
                "SELECT vector FROM documents WHERE label = ?", (label,)
            ).fetchone()
            vector = np.frombuffer(row[0], np.float32).copy()
        return Document(doc_id, text, vector, dict(metadata))

    def _take_label(self, still_to_place: int) -> int:
        if not self._free:
            self._grow(_capacity_for(len(self._live) + still_to_place))
        return heapq.heappop(self._free)

    def _forget_labels(self, documents: Sequence[Document], labels: list[int]) -> None:
        """Undo the mirror's label choices of a transaction that did not commit."""
        for doc, label in zip(documents, labels, strict=False):
            if not self._live[label]:
                self._ids.pop(doc.id, None)
                heapq.heappush(self._free, label)

    def _grow(self, capacity: int) -> None:
        old = len(self._live)
        if capacity <= old:
            return
        matrix = np.zeros((capacity, self.dimension), np.float32)
        matrix[:old] = self._matrix
        live = np.zeros(capacity, bool)
        live[:old] = self._live
        indexed = np.zeros(capacity, bool)
        indexed[: len(self._indexed)] = self._indexed
        pending = np.zeros(capacity, bool)
        pending[: len(self._pending)] = self._pending
        inflight = np.zeros(capacity, bool)
        inflight[: len(self._inflight)] = self._inflight
        self._matrix, self._live, self._indexed = matrix, live, indexed
        self._pending, self._inflight = pending, inflight
        for label in range(old, capacity):
            heapq.heappush(self._free, label)

    def _index_put(
        self, labels: Sequence[int] | np.ndarray, vectors: np.ndarray, num_threads: int = -1
    ) -> None:
        """Add or update labels in hnswlib (the caller holds the index's writer lock)."""
        assert self._index is not None
        index = self._index
        chunk = np.asarray(labels, dtype=np.int64)
        if len(chunk) and index.get_max_elements() <= int(chunk.max()):
            index.resize_index(_capacity_for(int(chunk.max()) + 1))
        for label in chunk:
            # A deleted label comes back to life; a live one is updated in place.
            with contextlib.suppress(RuntimeError):
                index.unmark_deleted(int(label))
        index.add_items(vectors, chunk, num_threads=num_threads)
        self._rewrites += int(self._indexed[chunk].sum())
        self._indexed[chunk] = True

    def _last_seq(self) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()
        return int(row[0]) if row else 0

    def _set_seq(self, seq: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES ('seq', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (seq,),
        )

    def _after_write(self, count: int) -> None:
        self._generation += 1
        self._writes_since_snapshot += count
        with self._work:
            self._work.notify_all()

    def _save_snapshot(self) -> None:
        """Save the index with the sequence number it covers (all writes up to it are in
        the index: call it holding the documents' lock, with nothing pending); prune the
        tombstones it covers."""
        assert self._index is not None and not (self._pending.any() or self._inflight.any())
        with self._index_lock.write():
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        assert self._index is not None
        index = self._index
        seq = self._last_seq()
        count = index.get_current_count()
        save_checked(
            self.directory / SNAPSHOT,
            lambda tmp: index.save_index(str(tmp)),
            self._snapshot_metadata(count, seq),
        )
        with self._db:
            self._db.execute("DELETE FROM tombstones WHERE seq <= ?", (seq,))
        self._writes_since_snapshot = 0


class _LabelKeys:
    """keys[label] -> document id, as the Space protocol's `keys` is read."""

    def __init__(self, docs: dict[int, tuple[str, str, dict[str, Any]]]) -> None:
        self._docs = docs

    def __getitem__(self, label: int) -> str:
        return self._docs[int(label)][0]

    def __len__(self) -> int:
        return len(self._docs)


class DocumentTarget(Protocol):
    """What the document checks need of a collection, whichever store holds it."""

    name: str
    settings: CollectionSettings

    @property
    def dimension(self) -> int: ...

    @property
    def has_model(self) -> bool: ...

    @property
    def model(self) -> Space: ...


def document_vectors(
    collection: DocumentTarget, documents: Sequence[Document], limits: Limits
) -> np.ndarray:
    """Raw float32 vectors: given ones as they are (checked: finite, and not zero for
    cosine), texts through the model."""
    vectors = np.zeros((len(documents), collection.dimension), np.float32)
    texts = [(i, d.text) for i, d in enumerate(documents) if d.vector is None]
    given = [i for i, doc in enumerate(documents) if doc.vector is not None]
    if given:
        vectors[given] = [documents[i].vector for i in given]
        _check_given(collection.settings.metric, vectors, given)
    if texts:
        embedded = collection.model.embed(
            [t for _, t in texts],
            truncate=True,
            field="documents texts",
            max_request_tokens=limits.max_request_tokens,
        )
        vectors[[i for i, _ in texts]] = embedded.vectors
    return vectors


def _check_given(metric: Metric, vectors: np.ndarray, given: list[int]) -> None:
    """The given vectors (rows `given` of `vectors`) checked all at once; the error
    names the first bad document, as a check per document would."""
    rows = vectors[given]
    bad = ~np.isfinite(rows).all(axis=1)
    zero = np.zeros(len(given), bool)
    long = np.zeros(len(given), bool)
    if metric is Metric.COSINE:
        zero = np.asarray(~rows.any(axis=1))
    else:
        long = np.linalg.norm(rows.astype(np.float64), axis=1) > MAX_RAW_NORM
    if bad.any() or zero.any() or long.any():
        at = int(np.flatnonzero(bad | zero | long)[0])
        problem = (
            "contains NaN or Inf"
            if bad[at]
            else "is all zeros (it has no direction)"
            if zero[at]
            else f"is longer than {MAX_RAW_NORM:.0e}: the scores of a dot or L2 "
            "collection would overflow"
        )
        raise invalid(f"documents[{given[at]}].vector", problem)


def check_documents(
    collection: DocumentTarget, documents: Sequence[Document], limits: Limits
) -> None:
    """The checks of an upsert before anything is encoded or written."""
    if not documents:
        raise invalid("documents", "must not be empty")
    if len(documents) > limits.max_documents:
        raise invalid(
            "documents", f"at most {limits.max_documents} in one request, got {len(documents)}"
        )
    seen: dict[str, int] = {}
    for i, doc in enumerate(documents):
        check_document(doc, i, collection, seen, limits)


def check_document(
    doc: Document, i: int, collection: DocumentTarget, seen: dict[str, int], limits: Limits
) -> None:
    """InvalidArgument naming documents[i] and its field."""
    name = f"documents[{i}]"
    size = len(doc.id.encode("utf-8"))
    if not 1 <= size <= MAX_ID_BYTES:
        raise invalid(f"{name}.id", f"must be 1 to {MAX_ID_BYTES} bytes of UTF-8, got {size}")
    if doc.id in seen:
        raise invalid(f"{name}.id", f"repeats documents[{seen[doc.id]}].id in one request")
    seen[doc.id] = i
    if len(doc.text) > limits.max_text_chars:
        raise invalid(
            f"{name}.text", f"at most {limits.max_text_chars} characters, got {len(doc.text)}"
        )
    if doc.vector is not None:
        # Finite and non-zero are checked for all documents at once (_check_given).
        size = int(np.size(doc.vector))
        if np.ndim(doc.vector) != 1 or size != collection.dimension:
            raise invalid(f"{name}.vector", f"expected {collection.dimension} values, got {size}")
    elif not doc.text.strip():
        raise invalid(name, "needs a text or a vector")
    elif not collection.has_model:
        raise FailedPrecondition(
            f"{name}: collection {collection.name!r} has no model to encode text; send "
            f"its vector ({collection.dimension} values)"
        )
    for key, value in doc.metadata.items():
        if not isinstance(key, str) or not key:
            raise invalid(f"{name}.metadata", "keys must be non-empty strings")
        if not _allowed_value(value):
            raise invalid(
                f"{name}.metadata.{key}",
                f"must be a string, number, bool or list of strings, got {type(value).__name__}",
            )


def _allowed_value(value: Any) -> bool:
    if isinstance(value, bool | str):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def settings_rows(settings: CollectionSettings) -> list[tuple[str, str]]:
    return [
        ("name", settings.name),
        ("model", settings.model),
        ("dimension", str(settings.dimension)),
        ("metric", settings.metric.value),
        ("m", str(settings.m)),
        ("ef_construction", str(settings.ef_construction)),
    ]


def read_settings(directory: Path) -> CollectionSettings:
    db = _connect(directory / DATABASE)
    try:
        values = dict(db.execute("SELECT key, value FROM settings").fetchall())
    finally:
        db.close()
    try:
        return CollectionSettings(
            values["name"],
            values["model"],
            int(values["dimension"]),
            Metric(values["metric"]),
            int(values["m"]),
            int(values["ef_construction"]),
        )
    except (KeyError, ValueError) as exc:
        raise InvalidArgument(f"{directory}: unreadable collection settings ({exc})") from None


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
    db.executescript(_SCHEMA)
    db.isolation_level = "DEFERRED"  # `with db:` then wraps each write in one transaction
    return db


def _merge(
    rows: np.ndarray, scores: np.ndarray, more_rows: np.ndarray, more_scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of two exact result lists per query (-1 rows score -inf)."""
    all_rows = np.hstack([rows, more_rows])
    all_scores = np.hstack([scores, more_scores])
    order = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(all_rows, order, axis=1), np.take_along_axis(
        all_scores, order, axis=1
    )


def exact_filter_limit(size: int) -> int:
    """A filter that matches at most this many of `size` documents is answered by an
    exact search among its matches (EXACT_FILTER_DOCS, EXACT_FILTER_SHARE): the rule of
    both backends."""
    return max(EXACT_FILTER_DOCS, int(EXACT_FILTER_SHARE * size))


def metric_scores(metric: Metric, queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Scores of each query (n, d) against vectors in index form (m, d) -> (n, m)."""
    if metric is Metric.L2:
        sq = (queries**2).sum(1)[:, None] - 2 * queries @ vectors.T + (vectors**2).sum(1)
        return np.asarray(-np.sqrt(np.maximum(sq, 0)), np.float32)
    return np.asarray(queries @ vectors.T, np.float32)


def exact_search(
    matrix: np.ndarray,
    metric: Metric,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best rows of `matrix` (index form, a row per label) among the `allowed`
    ones for each query, by brute force; the rows are labels (-1: none)."""
    candidates = np.flatnonzero(allowed)  # ascending labels
    n = len(batch)
    rows = np.full((n, k), -1, np.int64)
    scores = np.full((n, k), -np.inf, np.float32)
    if not len(candidates):
        return rows, scores
    # Gathering most of the matrix costs more than scoring all of it and masking.
    whole = len(candidates) > len(matrix) // 2
    if whole:
        candidates = np.arange(len(matrix))
    vectors = matrix if whole else matrix[candidates]
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    per_chunk = max(1, (64 << 20) // (len(candidates) * 4 * terms))
    for start in range(0, n, per_chunk):
        checkpoint()
        chunk = batch.rows(slice(start, start + per_chunk))
        if method is AnalogyMethod.COSMUL:
            sims = np.einsum("ntd,cd->ntc", chunk.terms, vectors)
            s = cosmul_scores(sims, chunk.weights)
        else:
            s = metric_scores(metric, chunk.combined, vectors)
        if whole:
            s[:, ~allowed[: len(matrix)]] = -np.inf
        _mask_labels(s, candidates, chunk.exclude)
        r, v = top_k(s, min(k, len(candidates)))
        found = np.where(r >= 0, candidates[np.maximum(r, 0)], -1)
        rows[start : start + len(chunk), : r.shape[1]] = found
        scores[start : start + len(chunk), : r.shape[1]] = v
    return rows, scores


def check_no_restrict(restrict: int) -> None:
    if restrict:
        raise invalid(
            "options.restrict",
            "a collection has no frequency order to restrict to; use a filter",
        )


def _mask_labels(scores: np.ndarray, candidates: np.ndarray, exclude: np.ndarray) -> None:
    """-inf where a query's excluded label is among the (ascending) candidate labels."""
    if not exclude.shape[1]:
        return
    pos = np.minimum(np.searchsorted(candidates, exclude), len(candidates) - 1)
    hit = (exclude >= 0) & (candidates[pos] == exclude)
    r, c = np.nonzero(hit)
    scores[r, pos[r, c]] = -np.inf


def _mark_deleted(index: hnswlib.Index, label: int) -> None:
    with contextlib.suppress(RuntimeError):  # not in the index, or deleted already
        index.mark_deleted(label)


def _capacity_for(count: int) -> int:
    capacity = INITIAL_CAPACITY
    while capacity < count:
        capacity *= 2
    return capacity


def encode_token(doc_id: str) -> str:
    return doc_id.encode("utf-8").hex()


def decode_token(token: str) -> str:
    if not token:
        return ""
    try:
        return bytes.fromhex(token).decode("utf-8")
    except ValueError:
        raise invalid("page_token", "is not a token this server gave") from None


def _disk_bytes(collection: Collection) -> int:
    return sum(p.stat().st_size for p in collection.directory.iterdir() if p.is_file())
