"""A collection's documents in Milvus: the store of issue 12's second backend, beside the
embedded one (SQLite + hnswlib, core/collection.py). It holds what a collection needs
from its store, over pymilvus's MilvusClient, which talks to a Milvus Lite file and to a
Milvus standalone or distributed cluster by URI alike:

- create and drop; upsert (one request: Milvus checks the whole batch before it writes,
  so a bad document writes none); get by ids; delete by ids and/or a filter; count;
  scroll in id order; search by vectors with a filter; the vectors of ids.
- Entities: `id` (VARCHAR primary key, at most 512 bytes as the embedded store allows),
  `text`, `metadata` (JSON, as given), `typed_metadata` (JSON, what filters test:
  core/milvus_expressions.py) and `vector` (FLOAT_VECTOR, HNSW index with the
  collection's metric and M / ef_construction).
- Consistency "Strong": a read sees every write acknowledged before it, as with the
  embedded store (Milvus waits for its time tick; Bounded would be faster and could miss
  a just-acknowledged write).
- Scores as the embedded store gives them: cosine, inner product, or minus the Euclidean
  distance (Milvus reports L2 as the squared distance).
- Errors: Milvus unreachable is NotReady (UNAVAILABLE), a timeout DeadlineExceeded, a
  schema or collection that does not fit FailedPrecondition; each message names the
  collection and the backend, never INTERNAL.

`MilvusCollection` (core/milvus_collection.py) is the collection over this store."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from latentd.core.documents import CollectionSettings, Document, Filter, Metric
from latentd.core.errors import DeadlineExceeded, FailedPrecondition, LatentError, NotReady
from latentd.core.milvus_expressions import FIELD as TYPED
from latentd.core.milvus_expressions import expression, string_literal, typed_metadata


class _NoLiteTimestampNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info
        if not error or error[0] is not NotImplementedError:
            return True
        return "AllocTimestamp" not in "".join(traceback.format_tb(error[2]))


def _quiet_lite_noise() -> None:
    """Milvus Lite has no timestamp service: at every query iterator its in-process
    server logs the unimplemented AllocTimestamp call with a traceback, and pymilvus warns
    before it takes the client's clock instead, which is right for a local file. Both are
    noise. (After pymilvus is imported: it sets its loggers' levels as it loads.)"""
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    server_log = logging.getLogger("grpc._server")
    if not any(isinstance(f, _NoLiteTimestampNoise) for f in server_log.filters):
        server_log.addFilter(_NoLiteTimestampNoise())


BACKEND = "milvus"
ID, TEXT, METADATA, VECTOR, EXPONENT = "id", "text", "metadata", "vector", "exponent"
MAX_ID_BYTES = 512
MAX_TEXT_BYTES = 65_535  # Milvus's longest VARCHAR
CONSISTENCY = "Strong"
METRIC_OF = {Metric.COSINE: "COSINE", Metric.DOT: "IP", Metric.L2: "L2"}
# Milvus answers a query with at most this many entities (its default query window).
QUERY_WINDOW = 16_384
GET_CHUNK = 1024  # ids fetched by one get


def is_lite(uri: str) -> bool:
    """Whether `uri` is a Milvus Lite database (a path) rather than a server. Milvus Lite
    3.2 replays its write-ahead log wrongly after a restart (rewritten ids come back
    with their first version, or not at all: seen here under concurrent writers), while
    what it has flushed into its files comes back intact; so a Lite store flushes every
    write before acknowledging it, one write at a time."""
    return "://" not in uri


def connect(uri: str, token: str = "") -> Any:
    """A MilvusClient for a Milvus Lite file (a path) or a server (http://host:port)."""
    from pymilvus import MilvusClient

    _quiet_lite_noise()
    with milvus_errors(None, uri):
        return MilvusClient(uri=uri, token=token)


class MilvusStore:
    """One collection's documents in Milvus, through a MilvusClient shared by the
    collections of a server."""

    def __init__(
        self, client: Any, settings: CollectionSettings, *, flush_writes: bool = False
    ) -> None:
        """`flush_writes`: seal every write into Milvus's files before it is acknowledged
        (Milvus Lite: see `is_lite`)."""
        self.client = client
        self.settings = settings
        self.name = settings.name
        self.flush_writes = flush_writes
        self._writing = threading.Lock()  # Milvus Lite's flush is not safe beside a write

    # -- creation --------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        client: Any,
        settings: CollectionSettings,
        properties: dict[str, str] | None = None,
        *,
        flush_writes: bool = False,
    ) -> MilvusStore:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID, DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field(TEXT, DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_field(METADATA, DataType.JSON)
        schema.add_field(TYPED, DataType.JSON)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=settings.dimension)
        schema.add_field(EXPONENT, DataType.INT32)
        index = client.prepare_index_params()
        index.add_index(
            VECTOR,
            index_type="HNSW",
            metric_type=METRIC_OF[settings.metric],
            params={"M": settings.m, "efConstruction": settings.ef_construction},
        )
        with milvus_errors(settings.name):
            client.create_collection(
                settings.name, schema=schema, index_params=index, consistency_level=CONSISTENCY
            )
            if properties:
                client.alter_collection_properties(settings.name, properties=properties)
        return cls(client, settings, flush_writes=flush_writes)

    def flush(self) -> None:
        """Have Milvus seal what it holds in memory into its files."""
        with milvus_errors(self.name):
            self.client.flush(self.name)

    def drop(self) -> None:
        with milvus_errors(self.name):
            self.client.drop_collection(self.name)

    # -- documents -------------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document]) -> int:
        """Store documents whose vectors are set (encoded and checked by the caller)."""
        rows = []
        for doc in documents:
            stored, exponent = self._stored_form(np.asarray(doc.vector, dtype=np.float32))
            rows.append(
                {
                    ID: doc.id,
                    TEXT: doc.text,
                    METADATA: doc.metadata,
                    TYPED: typed_metadata(doc.metadata),
                    VECTOR: stored.tolist(),
                    EXPONENT: exponent,
                }
            )
        with self._written():
            self.client.upsert(self.name, rows)
        return len(rows)

    def get(
        self, ids: Sequence[str], *, with_vector: bool = False
    ) -> tuple[list[Document], list[str]]:
        """The documents of `ids` that exist, in the order asked, and the missing ids."""
        wanted = list(dict.fromkeys(ids))
        fields = [ID, TEXT, METADATA, *([VECTOR, EXPONENT] if with_vector else [])]
        with milvus_errors(self.name):
            rows = self.client.get(self.name, ids=wanted, output_fields=fields) if wanted else []
        by_id = {row[ID]: _document(row, with_vector) for row in rows}
        found = [by_id[i] for i in ids if i in by_id]
        return found, [i for i in ids if i not in by_id]

    def delete(self, ids: Sequence[str] = (), filter: Filter | None = None) -> int:
        """Delete the given ids (those that exist; with a filter, those that match it), or
        every document matching the filter. How many were deleted."""
        doomed = self._ids_where(_with_ids(expression(filter), ids))
        if doomed:
            with self._written():
                self.client.delete(self.name, ids=doomed)
        return len(doomed)

    def count(self, filter: Filter | None = None) -> int:
        if self.flush_writes:  # Milvus Lite: count(*) counts an id twice after a recovery
            return len(self.ids(filter))
        with milvus_errors(self.name):
            rows = self.client.query(
                self.name, filter=expression(filter), output_fields=["count(*)"]
            )
        return int(rows[0]["count(*)"]) if rows else 0

    def scroll(
        self, filter: Filter | None, after: str, limit: int, *, with_vector: bool = False
    ) -> tuple[list[Document], bool]:
        """Up to `limit` documents in id order after the id `after`, and whether more
        match. Every document present for the whole scroll comes exactly once."""
        later = f"{ID} > {string_literal(after)}"
        condition = expression(filter)
        ids = sorted(self._ids_where(f"({later}) and ({condition})" if condition else later))
        page, more = ids[:limit], len(ids) > limit
        documents, _ = self.get(page, with_vector=with_vector)
        return documents, more

    def search(
        self, vectors: np.ndarray, k: int, filter: Filter | None = None, ef: int = 0
    ) -> list[list[tuple[str, float]]]:
        """The `k` best (id, score) of each query vector, best first."""
        params: dict[str, Any] = {"params": {"ef": max(ef, k)}} if ef else {}
        with milvus_errors(self.name):
            results = self.client.search(
                self.name,
                data=np.asarray(vectors, dtype=np.float32).tolist(),
                limit=k,
                filter=expression(filter),
                output_fields=[ID],
                search_params=params,
                anns_field=VECTOR,
            )
        return [[(hit["id"], self._score(hit["distance"])) for hit in hits] for hits in results]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of the ids that exist, as stored."""
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), GET_CHUNK):
            with milvus_errors(self.name):
                rows = self.client.get(
                    self.name,
                    ids=wanted[start : start + GET_CHUNK],
                    output_fields=[VECTOR, EXPONENT],
                )
            found.update((row[ID], _given_form(row)) for row in rows)
        return found

    def ids(self, filter: Filter | None = None) -> list[str]:
        """The ids of every document (that matches the filter), in no order."""
        return self._ids_where(expression(filter))

    def ids_if_at_most(self, filter: Filter, at_most: int) -> list[str] | None:
        """The ids of the documents matching `filter` when they are at most `at_most`
        (one query), else None."""
        with milvus_errors(self.name):
            rows = self.client.query(
                self.name, filter=expression(filter), output_fields=[ID], limit=at_most + 1
            )
        ids = list(dict.fromkeys(row[ID] for row in rows))
        return ids if len(ids) <= at_most else None

    def estimated_count(self) -> int:
        """count(*): exact on a server; a recovered Milvus Lite may count an id twice."""
        with milvus_errors(self.name):
            rows = self.client.query(self.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    # -- inside ----------------------------------------------------------------------------

    def _stored_form(self, vector: np.ndarray) -> tuple[np.ndarray, int]:
        """A cosine collection's vector scaled by a power of two to a length near 1, and
        the power: Milvus computes cosines in float32, whose norms overflow past 1e19
        (and lose precision for tiny vectors); the scale changes no cosine, and is
        undone exactly on reading (but for components 2^126 times smaller than the
        largest, which the scaling down can flush to zero)."""
        if self.settings.metric is not Metric.COSINE:
            return vector, 0
        norm = float(np.linalg.norm(vector.astype(np.float64)))
        _, exponent = math.frexp(norm) if norm > 0 else (0.0, 0)
        return np.ldexp(vector, -exponent).astype(np.float32), exponent

    @contextlib.contextmanager
    def _written(self) -> Iterator[None]:
        """A write, flushed before it returns when `flush_writes`."""
        if not self.flush_writes:
            with milvus_errors(self.name):
                yield
            return
        with self._writing, milvus_errors(self.name):
            yield
            self.client.flush(self.name)

    def _score(self, distance: float) -> float:
        if self.settings.metric is Metric.L2:  # Milvus: the squared distance
            return -math.sqrt(max(float(distance), 0.0))
        return float(distance)

    def _ids_where(self, condition: str) -> list[str]:
        with milvus_errors(self.name):  # one query answers most (an iterator is slower)
            rows = self.client.query(
                self.name, filter=condition, output_fields=[ID], limit=QUERY_WINDOW
            )
        if len(rows) < QUERY_WINDOW:
            return list(dict.fromkeys(row[ID] for row in rows))
        ids: list[str] = []
        with milvus_errors(self.name):
            iterator = self.client.query_iterator(
                self.name, batch_size=QUERY_WINDOW // 4, filter=condition, output_fields=[ID]
            )
            try:
                while batch := iterator.next():
                    ids.extend(row[ID] for row in batch)
            finally:
                iterator.close()
        # Once (Milvus Lite has been seen to list an id twice after a crash recovery).
        return list(dict.fromkeys(ids))


def _with_ids(condition: str, ids: Sequence[str]) -> str:
    if not ids:
        return condition
    listed = f"{ID} in [{', '.join(string_literal(i) for i in dict.fromkeys(ids))}]"
    return f"({listed}) and ({condition})" if condition else listed


def _given_form(row: dict[str, Any]) -> np.ndarray:
    """A stored vector as it was given (see MilvusStore._stored_form)."""
    stored = np.asarray(row[VECTOR], dtype=np.float32)
    exponent = int(row.get(EXPONENT) or 0)
    return np.ldexp(stored, exponent).astype(np.float32) if exponent else stored


def _document(row: dict[str, Any], with_vector: bool) -> Document:
    vector = _given_form(row) if with_vector else None
    return Document(row[ID], row.get(TEXT, ""), vector, dict(row.get(METADATA) or {}))


@contextlib.contextmanager
def milvus_errors(collection: str | None, uri: str = "") -> Iterator[None]:
    """Milvus's exceptions as core errors naming the collection (None: the backend
    itself, at `uri`) and the backend."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise translated(exc, collection, uri) from None


def translated(exc: Any, collection: str | None, uri: str = "") -> LatentError:
    message = str(getattr(exc, "message", "") or exc)
    if collection is None:
        where = f"collections backend {BACKEND} ({uri})" if uri else f"backend {BACKEND}"
    else:
        where = f"collection {collection!r} (backend {BACKEND})"
    lowered = message.lower()
    if "timeout" in lowered or "deadline" in lowered:
        return DeadlineExceeded(f"{where}: Milvus did not answer in time: {message}")
    if any(word in lowered for word in ("connect", "unavailable", "refused", "not ready")):
        return NotReady(f"{where}: Milvus cannot be reached: {message}")
    return FailedPrecondition(f"{where}: Milvus refused the request: {message}")
