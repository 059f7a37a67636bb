"""What a collection on Milvus does differently from the embedded one: the operations
that need every vector fetch the whole collection up to a limit and refuse past it,
naming the limit (HNSW search still answers); one request sees one fetched matrix, and
a write through this server is seen at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latentd.core import milvus_collection
from latentd.core.collection_search import search
from latentd.core.collections import Collections
from latentd.core.documents import Document, SearchQuery
from latentd.core.errors import FailedPrecondition, NotFound
from latentd.core.limits import Limits
from latentd.core.types import QueryOptions, Term

pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")

DIM = 4
LIMITS = Limits()


def no_models(name: str) -> None:
    raise NotFound(f"model: unknown model {name!r}")


@pytest.fixture
def collections(tmp_path: Path) -> Iterator[Collections]:
    manager = Collections(tmp_path / "data", no_models, backend="milvus")  # type: ignore[arg-type]
    manager.open_all()
    manager.create("m", dimension=DIM)
    manager.get("m").upsert(
        [
            Document(f"d{i}", "", np.eye(DIM, dtype=np.float32)[i % DIM] + (i + 1) / 100, {})
            for i in range(8)
        ],
        LIMITS,
    )
    yield manager
    manager.close()


def found(collections: Collections, exact: bool) -> list[str]:
    query = SearchQuery(Term(vector=np.array([1, 0, 0, 0], np.float32)))
    options = QueryOptions(exact=exact)
    [result] = search(collections.get("m"), [query], LIMITS, k=3, options=options)
    return [hit.id for hit in result.hits]


def test_whole_collection_operations_refuse_past_the_limit(
    collections: Collections, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert found(collections, exact=True)[0] == "d0"
    monkeypatch.setattr(milvus_collection, "MAX_MATRIX_DOCUMENTS", 5)
    monkeypatch.setattr(milvus_collection, "MATRIX_TTL_S", 0.0)
    with pytest.raises(FailedPrecondition, match=r"holds 8 documents: exact search.*at most 5"):
        found(collections, exact=True)
    assert found(collections, exact=False)[0] == "d0"  # HNSW in Milvus: any size


def test_a_write_is_seen_at_once_by_exact_search(collections: Collections) -> None:
    collection = collections.get("m")
    before = collection.version
    assert found(collections, exact=True)[0] == "d0"
    collection.upsert([Document("new", "", np.array([1, 0, 0, 0], np.float32), {})], LIMITS)
    assert collection.version > before
    assert found(collections, exact=True)[0] == "new"
    collection.delete(ids=["new"])
    assert found(collections, exact=True)[0] == "d0"


def test_mask_and_matrix_of_one_request_agree(collections: Collections) -> None:
    collection = collections.get("m")
    matrix = collection.key_matrix()
    collection.lookup("d7")
    assert len(collection.key_mask()) == len(matrix)  # the same fetch: they agree


def test_close_logs_an_unreachable_milvus_and_goes_on(
    collections: Collections, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus.exceptions import MilvusException

    from latentd.core.milvus_store import translated

    collection = collections.get("m")
    gone = MilvusException(code=2, message="Fail connecting to server on 127.0.0.1:19530")

    def unreachable() -> None:  # what the store raises when Milvus has gone away
        raise translated(gone, "m")

    monkeypatch.setattr(collection.store, "flush", unreachable)
    collection.close()  # no raise: the server's stop goes on
    assert "collection 'm' (backend milvus): Milvus cannot be reached" in caplog.text
