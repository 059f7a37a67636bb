"""The Milvus store over a real Milvus (Milvus Lite in a file): documents round-trip,
an id is replaced, delete and count by ids and filters, scroll gives every document once
in id order, search scores equal exact numpy scores for each metric, and Milvus's
failures become core errors that name the collection and the backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentd.core.documents import CollectionSettings, Condition, Document, Filter, Metric, Range
from latentd.core.errors import FailedPrecondition, NotReady
from latentd.core.milvus_store import MilvusStore, translated

pymilvus = pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip: pymilvus)")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip: milvus-lite)")

DIM = 8


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    path: Path = tmp_path_factory.mktemp("milvus") / "store.db"
    milvus = pymilvus.MilvusClient(str(path))
    yield milvus
    milvus.close()


def documents(count: int, seed: int = 3) -> list[Document]:
    rng = np.random.default_rng(seed)
    return [
        Document(
            f"doc-{i:03d}",
            f"text {i}",
            rng.normal(size=DIM).astype(np.float32),
            {"i": i, "even": i % 2 == 0, "tags": ["all", f"t{i % 3}"]},
        )
        for i in range(count)
    ]


@pytest.fixture
def store(client: Any, request: pytest.FixtureRequest) -> Iterator[MilvusStore]:
    metric = getattr(request, "param", Metric.COSINE)
    name = (
        f"store_{metric.name.lower()}_{request.node.name[:20].replace('[', '_').replace(']', '')}"
    )
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    created = MilvusStore.create(client, CollectionSettings(name, "", DIM, metric))
    yield created
    created.drop()


def test_documents_round_trip_and_an_id_is_replaced(store: MilvusStore) -> None:
    docs = documents(5)
    assert store.upsert(docs) == 5
    found, missing = store.get(["doc-003", "nope", "doc-001"], with_vector=True)
    assert [d.id for d in found] == ["doc-003", "doc-001"]
    assert missing == ["nope"]
    assert found[0].text == "text 3"
    assert found[0].metadata == {"i": 3, "even": False, "tags": ["all", "t0"]}
    assert found[0].vector is not None
    assert np.allclose(found[0].vector, docs[3].vector)
    store.upsert([Document("doc-003", "new", docs[0].vector, {"i": 99})])
    again, _ = store.get(["doc-003"])
    assert (again[0].text, again[0].metadata, again[0].vector) == ("new", {"i": 99}, None)
    assert store.count() == 5


def test_delete_and_count_by_ids_and_filters(store: MilvusStore) -> None:
    store.upsert(documents(10))
    even = Filter(condition=Condition(key="even", equals=True))
    assert store.count(even) == 5
    assert store.count(Filter(condition=Condition(key="tags", equals="t1"))) == 3
    assert store.delete(ids=["doc-000", "doc-001", "missing"], filter=even) == 1  # doc-000
    assert store.delete(filter=Filter(condition=Condition(key="i", range=Range(gte=8)))) == 2
    assert store.delete(ids=["doc-001", "doc-001"]) == 1
    assert store.count() == 6
    assert store.get(["doc-000", "doc-001", "doc-008"])[1] == ["doc-000", "doc-001", "doc-008"]


def test_scroll_gives_every_document_once_in_id_order(store: MilvusStore) -> None:
    store.upsert(documents(23))
    seen: list[str] = []
    after, more = "", True
    while more:
        page, more = store.scroll(None, after, 5)
        assert len(page) <= 5
        seen += [d.id for d in page]
        after = page[-1].id if page else after
    assert seen == sorted(d.id for d in documents(23))
    odd = Filter(condition=Condition(key="even", equals=False))
    page, more = store.scroll(odd, "doc-010", 100)
    assert [d.id for d in page] == [f"doc-{i:03d}" for i in range(11, 23, 2)]
    assert not more


def exact_scores(metric: Metric, queries: np.ndarray, docs: list[Document]) -> np.ndarray:
    matrix = np.stack([d.vector for d in docs if d.vector is not None])
    if metric is Metric.COSINE:
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        return (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    if metric is Metric.DOT:
        return queries @ matrix.T
    return -np.linalg.norm(queries[:, None, :] - matrix[None, :, :], axis=2)


@pytest.mark.parametrize("store", [Metric.COSINE, Metric.DOT, Metric.L2], indirect=True)
def test_search_scores_equal_exact_scores(store: MilvusStore) -> None:
    docs = documents(40)
    store.upsert(docs)
    queries = np.random.default_rng(9).normal(size=(3, DIM)).astype(np.float32)
    results = store.search(queries, k=5, ef=64)
    exact = exact_scores(store.settings.metric, queries, docs)
    for row, hits in enumerate(results):
        best = np.argsort(-exact[row])[:5]
        assert [hit[0] for hit in hits] == [docs[i].id for i in best]
        assert np.allclose([hit[1] for hit in hits], exact[row][best], atol=1e-4)
    only = Filter(condition=Condition(key="tags", equals="t2"))
    filtered = store.search(queries[:1], k=40, filter=only)[0]
    assert {hit[0] for hit in filtered} == {d.id for d in docs if "t2" in d.metadata["tags"]}


def test_the_vectors_of_ids(store: MilvusStore) -> None:
    docs = documents(4)
    store.upsert(docs)
    vectors = store.vectors(["doc-002", "gone"])
    assert list(vectors) == ["doc-002"]
    assert np.allclose(vectors["doc-002"], docs[2].vector)


def test_a_schema_that_does_not_fit_is_failed_precondition(store: MilvusStore) -> None:
    good = Document("ok", "", np.ones(DIM, np.float32), {})
    wrong = Document("x", "", np.zeros(DIM + 3, np.float32), {})
    with pytest.raises(FailedPrecondition) as raised:  # one request: none is written
        store.upsert([good, wrong])
    assert f"collection {store.name!r} (backend milvus)" in str(raised.value)
    assert store.count() == 0


def test_milvus_failures_become_core_errors_naming_the_collection() -> None:
    from pymilvus.exceptions import MilvusException

    unreachable = MilvusException(code=2, message="Fail connecting to server on localhost:1")
    error = translated(unreachable, "notes")
    assert isinstance(error, NotReady)
    assert "collection 'notes' (backend milvus): Milvus cannot be reached" in str(error)
    slow = translated(MilvusException(code=1, message="rpc timeout"), "notes")
    assert type(slow).__name__ == "DeadlineExceeded"


def test_an_unreachable_server_is_not_ready() -> None:
    with pytest.raises(Exception) as raised:
        pymilvus.MilvusClient(uri="http://127.0.0.1:9", timeout=2)
    error = translated(raised.value, "notes")
    assert isinstance(error, NotReady | FailedPrecondition)
    assert "(backend milvus)" in str(error)


def test_a_cosine_store_keeps_extreme_vectors_exactly(store: MilvusStore) -> None:
    huge = np.array([3e37, -1e37, 2.5e36, 0, 0, 0, 0, 1e30], np.float32)
    tiny = np.array([1e-38, 3e-39, -2e-38, 0, 0, 0, 1e-45, 0], np.float32)
    plain = np.arange(1, DIM + 1, dtype=np.float32)
    store.upsert(
        [Document(n, "", v, {}) for n, v in (("huge", huge), ("tiny", tiny), ("plain", plain))]
    )
    found, _ = store.get(["huge", "tiny", "plain"], with_vector=True)
    for doc, given in zip(found, (huge, tiny, plain), strict=True):
        assert doc.vector is not None
        assert np.array_equal(doc.vector, given)  # exactly: only powers of two were applied
    best = store.search(huge[None, :] / np.float32(1e37), k=1)[0][0]
    assert best[0] == "huge"
    assert best[1] == pytest.approx(1.0, abs=1e-5)
