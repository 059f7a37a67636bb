"""A collection whose documents live in Milvus: the same Space and the same document
operations as the embedded `Collection` (core/collection.py), so nothing above the core
knows which backend holds a collection.

What differs is where the work happens. Writes, reads, counts, scrolls, filters and the
HNSW search itself happen in Milvus (core/milvus_store.py), so the collection can grow
past one machine's memory and be shared by several latentd replicas. Latent keeps only
a map of the document ids it has handed out as rows (labels): search results are rows
of `keys`, as for every space.

The operations that need every vector at once (exact search, 3CosMul, Project's `top`,
removing directions) fetch the whole collection into memory, up to
`MAX_MATRIX_DOCUMENTS`; past that they are refused with FAILED_PRECONDITION, naming the
limit and the searches that still work. What was fetched is kept for `MATRIX_TTL_S` or
until this server writes to the collection, so that one request sees one matrix (its
mask and its rows agree) and a writer reads its own writes; several latentd replicas
may write to the same Milvus collection, and a replica sees the others' writes in these
operations within that time. `version` changes with every fetch and every write."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentd.core import collection as embedded
from latentd.core.collection import (
    DocumentSpace,
    check_documents,
    check_no_restrict,
    decode_token,
    document_vectors,
    encode_token,
    exact_search,
)
from latentd.core.documents import (
    CollectionInfo,
    CollectionSettings,
    Document,
    Filter,
    Metric,
)
from latentd.core.errors import FailedPrecondition, LatentError, invalid
from latentd.core.filters import check_filter
from latentd.core.limits import Limits
from latentd.core.milvus_store import BACKEND, MilvusStore, is_lite, milvus_errors
from latentd.core.search import Hits, QueryBatch
from latentd.core.space import Space
from latentd.core.types import AnalogyMethod, IndexState, KeyLookup

log = logging.getLogger(__name__)

# Documents the whole-collection operations fetch at most (384-d: 1.5 GB of float32).
MAX_MATRIX_DOCUMENTS = 1_000_000
MATRIX_TTL_S = 2.0
MAX_FILTERED_EF = 4096  # the breadth of a filtered HNSW search at most
# The property of a Milvus collection that holds the settings Latent reopens it with;
# collections without it are not Latent's, and are left alone.
SETTINGS_PROPERTY = "latent.collection"


class MilvusCollection(DocumentSpace):
    """A Space (core/space.py) of documents held in Milvus."""

    backend = BACKEND

    def __init__(self, store: MilvusStore, model: Space | None, source: str) -> None:
        self.store = store
        self.settings = store.settings
        self.name = store.name
        self.source = source
        self._model = model
        self._lock = threading.Lock()  # the label map and the fetched matrix
        self._labels: list[str] = []
        self._label_of: dict[str, int] = {}
        self._version = 0
        self._fetched: tuple[float, np.ndarray, np.ndarray] | None = None  # when, rows, live

    # -- creation --------------------------------------------------------------------------

    @classmethod
    def create(
        cls, client: Any, settings: CollectionSettings, model: Space | None, source: str
    ) -> MilvusCollection:
        properties = {SETTINGS_PROPERTY: described_settings(settings)}
        store = MilvusStore.create(client, settings, properties, flush_writes=is_lite(source))
        return cls(store, model, source)

    # -- the Space protocol ----------------------------------------------------------------

    @property
    def size(self) -> int:
        return self.store.count()

    @property
    def keys(self) -> _Labels:
        return _Labels(self._labels)

    @property
    def index_state(self) -> IndexState:
        return IndexState.HNSW  # Milvus indexes as it writes; strong reads see every write

    @property
    def version(self) -> int:
        return self._version

    def key_matrix(self) -> np.ndarray:
        return self._whole()[0]

    def key_mask(self, restrict: int = 0, filter: Filter | None = None) -> np.ndarray:
        check_no_restrict(restrict)
        if filter is not None:
            check_filter(filter)
        matrix, live = self._whole()
        return self._allowed(filter, len(matrix), live)

    def lookup(self, key: str) -> KeyLookup | None:
        vectors = self.store.vectors([key])
        if key not in vectors:
            return None
        return KeyLookup(self._label(key), key, self._index_form(vectors[key][None, :])[0])

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
        if exact or method is AnalogyMethod.COSMUL:
            matrix, live = self._whole()
            allowed = self._allowed(filter, len(matrix), live)
            rows, scores = exact_search(matrix, self.settings.metric, batch, k, method, allowed)
            return Hits(rows, scores, IndexState.EXACT)
        if filter is not None:
            # The embedded store's rule (one policy for both backends): few matches are
            # answered exactly among them, as HNSW would wander far to find k of them
            # (Milvus Lite filters its HNSW candidates afterwards: 0.57 recall@10 at one
            # document in ten, bench/collections_backends.py).
            total = self.store.estimated_count()
            at_most = embedded.exact_filter_limit(total)
            few = self.store.ids_if_at_most(filter, at_most)
            if few is not None:
                return self._exact_among(batch, k, method, few)
            # Breadth enough for k matches among the candidates.
            share = at_most / max(1, total)
            wide = math.ceil(2 * k / share)
            ef = min(MAX_FILTERED_EF, max(ef or embedded.DEFAULT_EF, wide))
        # Milvus's HNSW scores its candidates with the full vectors: no rerank is needed.
        # Excluded rows (the query's own documents) are asked for on top and dropped.
        extra = batch.exclude.shape[1]
        found = self.store.search(batch.combined, k + extra, filter, ef)
        rows = np.full((len(batch), k), -1, np.int64)
        scores = np.full((len(batch), k), -np.inf, np.float32)
        for i, hits in enumerate(found):
            excluded = set(batch.exclude[i][batch.exclude[i] >= 0].tolist())
            kept = [(self._label(h), s) for h, s in hits]
            kept = [(r, s) for r, s in kept if r not in excluded][:k]
            for j, (row, score) in enumerate(kept):
                rows[i, j], scores[i, j] = row, score
        return Hits(rows, scores, IndexState.HNSW)

    def _exact_among(
        self, batch: QueryBatch, k: int, method: AnalogyMethod, ids: list[str]
    ) -> Hits:
        """The exact top k among the documents `ids` (fetched, scored here)."""
        vectors = self.store.vectors(ids)
        present = [doc_id for doc_id in ids if doc_id in vectors]
        labels = np.asarray([self._label(doc_id) for doc_id in present], np.int64)
        if not present:
            rows = np.full((len(batch), k), -1, np.int64)
            return Hits(rows, np.full((len(batch), k), -np.inf, np.float32), IndexState.EXACT)
        matrix = self._index_form(np.stack([vectors[doc_id] for doc_id in present]))
        position = {int(label): i for i, label in enumerate(labels)}
        exclude = (
            np.vectorize(lambda label: position.get(int(label), -1), otypes=[np.int64])(
                batch.exclude
            )
            if batch.exclude.size
            else batch.exclude
        )
        local = QueryBatch(batch.combined, batch.terms, batch.weights, exclude)
        allowed = np.ones(len(present), bool)
        rows, scores = exact_search(matrix, self.settings.metric, local, k, method, allowed)
        return Hits(np.where(rows >= 0, labels[np.maximum(rows, 0)], -1), scores, IndexState.EXACT)

    # -- documents -------------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document], limits: Limits) -> int:
        """Store every document or none: all are checked and encoded first, then one
        Milvus upsert writes them (Milvus refuses a bad batch whole)."""
        check_documents(self, documents, limits)
        vectors = document_vectors(self, documents, limits)
        stored = [
            Document(doc.id, doc.text, vectors[i], dict(doc.metadata))
            for i, doc in enumerate(documents)
        ]
        count = self.store.upsert(stored)
        self._changed()
        return count

    def delete(self, ids: Sequence[str] = (), filter: Filter | None = None) -> int:
        if filter is not None:
            check_filter(filter)
        elif not ids:
            raise invalid("ids", "give ids, a filter, or both")
        deleted = self.store.delete(ids, filter)
        self._changed()
        return deleted

    def documents_at(
        self, labels: Sequence[int], *, with_vector: bool = False
    ) -> list[Document | None]:
        with self._lock:
            ids = [self._labels[label] for label in labels]
        found, _ = self.store.get(ids, with_vector=with_vector)
        by_id = {doc.id: doc for doc in found}
        return [by_id.get(doc_id) for doc_id in ids]

    def get_documents(
        self, ids: Sequence[str], *, with_vector: bool = False
    ) -> tuple[list[Document], list[str]]:
        return self.store.get(ids, with_vector=with_vector)

    def count(self, filter: Filter | None = None) -> int:
        if filter is not None:
            check_filter(filter)
        return self.store.count(filter)

    def scroll(
        self,
        filter: Filter | None = None,
        page_token: str = "",
        limit: int = 100,
        *,
        with_vector: bool = False,
    ) -> tuple[list[Document], str]:
        if filter is not None:
            check_filter(filter)
        if limit < 1:
            raise invalid("limit", f"must be at least 1, got {limit}")
        page, more = self.store.scroll(
            filter, decode_token(page_token), limit, with_vector=with_vector
        )
        return page, (encode_token(page[-1].id) if more and page else "")

    def info(self) -> CollectionInfo:
        return CollectionInfo(self.settings, self.size, self.index_state, 0)

    def close(self) -> None:
        """Seal what Milvus holds in memory (Milvus Lite needs it to come back intact);
        a Milvus that cannot be reached then is logged, not raised: the stop goes on."""
        try:
            self.store.flush()
        except LatentError as exc:
            log.warning("%s", exc)

    def destroy(self) -> None:
        self.store.drop()

    def wait_indexed(self, timeout: float | None = None) -> bool:
        return True

    # -- inside ----------------------------------------------------------------------------

    def _changed(self) -> None:
        with self._lock:
            self._version += 1
            self._fetched = None

    def _label(self, doc_id: str) -> int:
        with self._lock:
            label = self._label_of.get(doc_id)
            if label is None:
                label = self._label_of[doc_id] = len(self._labels)
                self._labels.append(doc_id)
            return label

    def _whole(self) -> tuple[np.ndarray, np.ndarray]:
        """Every document's vector in index form by label, and which labels are live."""
        with self._lock:
            fetched = self._fetched
            if fetched is not None and time.monotonic() - fetched[0] < MATRIX_TTL_S:
                return fetched[1], fetched[2]
        count = self.store.estimated_count()  # a bound: the ids below are exact
        if count > MAX_MATRIX_DOCUMENTS:
            raise FailedPrecondition(
                f"collection {self.name!r} (backend {BACKEND}) holds {count} documents: exact "
                f"search, 3CosMul, Project's top and removing directions fetch every vector, "
                f"at most {MAX_MATRIX_DOCUMENTS}; HNSW search (not exact) and filters work "
                "at any size"
            )
        ids = self.store.ids()
        vectors = self.store.vectors(ids)
        labels = [self._label(doc_id) for doc_id in ids]
        with self._lock:
            rows = np.zeros((len(self._labels), self.dimension), np.float32)
            live = np.zeros(len(self._labels), bool)
        if labels:
            stacked = np.stack([vectors[doc_id] for doc_id in ids])
            rows[labels] = self._index_form(stacked)
            live[labels] = True
        with self._lock:
            self._version += 1
            self._fetched = (time.monotonic(), rows, live)
        return rows, live

    def _allowed(self, filter: Filter | None, rows: int, live: np.ndarray) -> np.ndarray:
        if filter is None:
            return live.copy()
        allowed = np.zeros(rows, bool)
        for doc_id in self.store.ids(filter):
            label = self._label(doc_id)
            if label < rows:
                allowed[label] = live[label]
        return allowed


class _Labels:
    """Rows to document ids: the labels this collection has handed out."""

    def __init__(self, labels: list[str]) -> None:
        self._labels = labels

    def __getitem__(self, row: int) -> str:
        return self._labels[row]

    def __len__(self) -> int:
        return len(self._labels)


def described_settings(settings: CollectionSettings) -> str:
    """The settings that reopen a Milvus collection, as its SETTINGS_PROPERTY."""
    return json.dumps(
        {
            "model": settings.model,
            "metric": settings.metric.name,
            "m": settings.m,
            "ef_construction": settings.ef_construction,
        }
    )


def settings_of(name: str, described: dict[str, Any]) -> CollectionSettings | None:
    """The settings of a Milvus collection Latent made (from describe_collection), or
    None for one it did not make."""
    try:
        data = json.loads((described.get("properties") or {}).get(SETTINGS_PROPERTY) or "")
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    dimension = 0
    for field in described.get("fields", []):
        if field.get("name") == "vector":
            dimension = int(field.get("params", {}).get("dim", 0))
    return CollectionSettings(
        name,
        data["model"],
        dimension,
        Metric[data["metric"]],
        data["m"],
        data["ef_construction"],
        BACKEND,
    )


def open_all(client: Any, model_of: Any, source: str) -> list[MilvusCollection]:
    """The Milvus collections Latent made, reopened."""
    opened = []
    with milvus_errors(None, source):
        names = client.list_collections()
    for name in sorted(names):
        with milvus_errors(name):
            described = client.describe_collection(name)
        settings = settings_of(name, described)
        if settings is None:
            continue
        with milvus_errors(name):
            client.load_collection(name)  # a restarted Milvus holds it released
        model = model_of(settings.model) if settings.model else None
        store = MilvusStore(client, settings, flush_writes=is_lite(source))
        opened.append(MilvusCollection(store, model, source))
    return opened
