"""Collections over real SQLite files and real hnswlib indexes in a temporary directory:
search against brute force, filters, all-or-nothing upserts, deletes and label reuse,
scroll, restarts with a valid, a missing and a corrupt snapshot, and arithmetic."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latentd.core import arithmetic
from latentd.core.collection import SNAPSHOT, Collection
from latentd.core.collection_search import search
from latentd.core.collections import Collections
from latentd.core.documents import Condition, Document, Filter, Metric, Range, SearchQuery
from latentd.core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from latentd.core.filters import check_filter, matches
from latentd.core.limits import Limits
from latentd.core.sentence_model import SentenceModel
from latentd.core.types import QueryOptions, Term

DIM = 8
LIMITS = Limits()


def no_models(name: str) -> SentenceModel:
    raise NotFound(f"model: unknown model {name!r}")


@pytest.fixture(params=["embedded", "milvus"])
def collections(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Collections]:
    """The conformance suite's fixture at the core: every test that takes it runs on
    both backends (Milvus: a Milvus Lite file in the test's directory)."""
    if request.param == "milvus":
        pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip: latentd[milvus])")
        pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
    manager = Collections(tmp_path / "data", no_models, backend=request.param)
    manager.open_all()
    yield manager
    manager.close()


def embedded_only(collections: Collections, promise: str) -> None:
    """Skip, naming the promise, a test of what only the embedded store does."""
    if collections.backend != "embedded":
        pytest.skip(f"{promise}: the embedded store's (SQLite + hnswlib); Milvus keeps its own")


def docs(n: int, seed: int = 0, start: int = 0) -> list[Document]:
    rng = np.random.default_rng(seed)
    return [
        Document(
            f"doc{i}",
            f"text {i}",
            rng.normal(size=DIM).astype(np.float32),
            {"n": i, "parity": "even" if i % 2 == 0 else "odd", "tags": [f"t{i % 3}"]},
        )
        for i in range(start, start + n)
    ]


def brute_force(
    collection: Collection, vector: np.ndarray, k: int, where: Filter | None = None
) -> list[str]:
    everything, _ = collection.scroll(limit=100_000)
    found, _ = collection.get_documents([d.id for d in everything], with_vector=True)
    found = [d for d in found if matches(where, d.metadata)]
    unit = vector / np.linalg.norm(vector)
    scored = sorted(found, key=lambda d: -float(unit @ (d.vector / np.linalg.norm(d.vector))))
    return [d.id for d in scored[:k]]


def ids(collection: Collection, vector: np.ndarray, k: int = 5, **kwargs: object) -> list[str]:
    [result] = search(collection, [SearchQuery(Term(vector=vector))], LIMITS, k=k, **kwargs)  # type: ignore[arg-type]
    return [h.id for h in result.hits]


def test_search_equals_brute_force_with_and_without_filter(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    all_docs = docs(600)
    for start in range(0, 600, 200):
        assert c.upsert(all_docs[start : start + 200], LIMITS) == 200
    rng = np.random.default_rng(9)
    even = Filter(Condition("parity", equals="even"))
    rare = Filter(Condition("n", range=Range(lt=40)))
    for _ in range(10):
        q = rng.normal(size=DIM).astype(np.float32)
        assert ids(c, q) == brute_force(c, q, 5)
        assert ids(c, q, filter=even) == brute_force(c, q, 5, even)
        assert ids(c, q, filter=rare) == brute_force(c, q, 5, rare)
        assert ids(c, q, options=QueryOptions(exact=True)) == brute_force(c, q, 5)


def test_a_filter_with_fewer_matches_than_k_returns_them_all(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(300), LIMITS)
    three = Filter(Condition("n", any_of=(1.0, 2.0, 3.0)))
    assert sorted(ids(c, np.ones(DIM, np.float32), k=10, filter=three)) == ["doc1", "doc2", "doc3"]
    assert c.count(three) == 3
    assert c.count(Filter(Condition("tags", equals="t0"))) == 100


def test_upsert_replaces_and_is_all_or_nothing(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(5), LIMITS)
    c.upsert([Document("doc1", "new text", np.ones(DIM, np.float32), {"v": 2})], LIMITS)
    [doc], missing = c.get_documents(["doc1", "nope"], with_vector=True)
    assert (doc.text, doc.metadata, missing) == ("new text", {"v": 2}, ["nope"])
    np.testing.assert_array_equal(doc.vector, np.ones(DIM, np.float32))
    bad = [*docs(2, start=10), Document("x", vector=np.ones(3, np.float32))]
    with pytest.raises(InvalidArgument, match=r"documents\[2\]\.vector: expected 8 values"):
        c.upsert(bad, LIMITS)
    for broken, message in [
        (Document("y", vector=np.full(DIM, np.nan, np.float32)), r"NaN"),
        (Document("y"), "needs a text or a vector"),
        (Document("", vector=np.ones(DIM, np.float32)), r"\.id: must be 1 to 512 bytes"),
        (Document("é" * 300, vector=np.ones(DIM, np.float32)), "got 600"),
        (
            Document("y", vector=np.ones(DIM, np.float32), metadata={"m": {"a": 1}}),
            r"metadata\.m: must be a string",
        ),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            c.upsert([*docs(1, start=20), broken], LIMITS)
    with pytest.raises(FailedPrecondition, match="no model"):
        c.upsert([Document("t", "some text")], LIMITS)
    with pytest.raises(InvalidArgument, match="at most 3 in one request"):
        c.upsert(docs(4, start=30), Limits(max_documents=3))
    assert c.count() == 5  # nothing of the refused requests was written


def test_delete_by_ids_and_filter_and_reuse_labels(collections: Collections) -> None:
    embedded_only(collections, "reusing the labels of deleted documents in hnswlib")
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(100), LIMITS)
    assert c.delete(["doc1", "doc2", "missing"]) == 2
    assert c.delete(filter=Filter(Condition("parity", equals="odd"))) == 49
    assert c.count() == 49
    assert "doc3" not in ids(c, docs(100)[3].vector, k=49)
    c.upsert(docs(51, seed=1, start=1000), LIMITS)
    assert c.count() == 100
    assert len(c._live) == 1024  # freed labels were reused: no growth


def test_rewriting_the_same_ids_does_not_grow(collections: Collections, tmp_path: Path) -> None:
    embedded_only(collections, "a data directory that does not grow on rewrites")
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(1000)[:500], LIMITS)
    c.upsert(docs(1000)[500:], LIMITS)
    assert c.wait_indexed(60)  # the indexer adds after the acknowledgement
    one_pass = sum(p.stat().st_size for p in c.directory.iterdir())
    assert c._index is not None
    elements = c._index.get_current_count()
    for seed in range(1, 50):
        fresh = docs(1000, seed=seed)
        c.upsert(fresh[:500], LIMITS)
        c.upsert(fresh[500:], LIMITS)
    assert c.wait_indexed(120)
    c._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert c.count() == 1000
    assert c._index.get_current_count() <= 2 * elements
    assert sum(p.stat().st_size for p in c.directory.iterdir()) <= 2 * one_pass


def test_scroll_gives_every_document_once_while_others_write(
    collections: Collections,
) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(250), LIMITS)
    seen: list[str] = []
    token = ""
    while True:
        page, token = c.scroll(page_token=token, limit=40)
        seen += [d.id for d in page]
        c.upsert(docs(3, seed=len(seen), start=5000 + len(seen)), LIMITS)  # writes meanwhile
        if not token:
            break
    original = {f"doc{i}" for i in range(250)}
    assert original <= set(seen) and len(seen) == len(set(seen))
    first_evens = Filter(
        all=(
            Filter(Condition("parity", equals="even")),
            Filter(Condition("n", range=Range(lt=250))),
        )
    )
    evens, _ = c.scroll(first_evens, limit=1000)
    assert {d.id for d in evens} == {f"doc{i}" for i in range(0, 250, 2)}


@pytest.mark.parametrize("damage", ["none", "deleted", "truncated", "flipped"])
def test_restart_replays_after_the_snapshot_or_rebuilds(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    manager.create("c", dimension=DIM)
    c = manager.get("c")
    c.upsert(docs(300), LIMITS)
    c.close()  # writes the snapshot
    reopened = Collections(tmp_path / "data", no_models)
    reopened.open_all()
    c = reopened.get("c")
    c.upsert(docs(50, seed=3, start=300), LIMITS)  # after the snapshot, never snapshotted
    c.delete(["doc7"])
    snapshot = c.directory / SNAPSHOT
    if damage == "deleted":
        snapshot.unlink()
    elif damage == "truncated":
        snapshot.write_bytes(snapshot.read_bytes()[:1000])
    elif damage == "flipped":
        data = bytearray(snapshot.read_bytes())
        middle = len(data) // 2
        data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
        snapshot.write_bytes(bytes(data))
    # No close: as after SIGKILL, only SQLite knows about the last writes.
    caplog.set_level(logging.WARNING)
    again = Collections(tmp_path / "data", no_models)
    again.open_all()
    c = again.get("c")
    assert c.count() == 349
    assert c.get_documents(["doc7"])[1] == ["doc7"]
    for d in docs(50, seed=3, start=300)[:5]:
        assert ids(c, d.vector, k=1) == [d.id]
    if damage in ("truncated", "flipped"):
        assert "not trusted" in caplog.text
    again.close()


def test_the_indexer_snapshots_after_many_writes_and_a_restart_replays_only_later_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from latentd.core import collection as collection_module
    from latentd.core.checked_file import manifest_path, recorded_metadata

    monkeypatch.setattr(collection_module, "SNAPSHOT_EVERY", 100)
    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    manager.create("c", dimension=DIM)
    c = manager.get("c")
    snapshot = c.directory / SNAPSHOT
    c.upsert(docs(60), LIMITS)
    assert c.wait_indexed(30)
    assert not snapshot.exists()  # 60 writes: not yet
    c.upsert(docs(60, seed=1, start=60), LIMITS)
    assert c.wait_indexed(30)
    # The indexer writes the snapshot after the last chunk, then its manifest.
    deadline = time.monotonic() + 30
    while not manifest_path(snapshot).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorded_metadata(snapshot)["seq"] == 120  # written by the indexer, caught up
    c.upsert(docs(7, seed=2, start=120), LIMITS)
    # No close: as after SIGKILL. The restart loads the snapshot and replays the 7.
    caplog.set_level(logging.INFO)
    again = Collections(tmp_path / "data", no_models)
    again.open_all()
    assert "loaded from its snapshot, 7 writes replayed" in caplog.text
    c = again.get("c")
    assert c.count() == 127
    for d in docs(7, seed=2, start=120):
        assert ids(c, d.vector, k=1) == [d.id]
    again.close()


def test_collection_names_settings_and_lifecycle(collections: Collections) -> None:
    info = collections.create("docs-1.v2", dimension=DIM, metric=Metric.DOT)
    assert (info.count, info.settings.metric, info.settings.m) == (0, Metric.DOT, 16)
    assert collections.create("docs-1.v2", dimension=DIM, metric=Metric.DOT, exist_ok=True)
    with pytest.raises(AlreadyExists, match="exists with other settings: dimension is 8"):
        collections.create("docs-1.v2", dimension=9, exist_ok=True)
    with pytest.raises(AlreadyExists, match="set exist_ok"):
        collections.create("docs-1.v2", dimension=DIM, metric=Metric.DOT)
    for bad in ["", "../x", "a/b", ".hidden", "x" * 65, "sp ace"]:
        with pytest.raises(InvalidArgument, match="name"):
            collections.create(bad, dimension=DIM)
    with pytest.raises(InvalidArgument, match="dimension"):
        collections.create("nodim")
    with pytest.raises(NotFound, match="unknown model"):
        collections.create("m", model="missing-model")
    assert [i.settings.name for i in collections.list()] == ["docs-1.v2"]
    collections.delete("docs-1.v2")
    with pytest.raises(NotFound, match="unknown collection"):
        collections.get("docs-1.v2")
    assert not any(p.name == "docs-1.v2" for p in collections.data_dir.iterdir())


def test_metrics_dot_and_l2_rank_by_their_own_score(collections: Collections) -> None:
    vectors = {
        "small": np.array([1, 0], np.float32),
        "big": np.array([10, 1], np.float32),
        "far": np.array([-5, 0], np.float32),
    }
    for metric in (Metric.DOT, Metric.L2):
        collections.create(metric.value, dimension=2, metric=metric)
        c = collections.get(metric.value)
        c.upsert([Document(k, vector=v) for k, v in vectors.items()], LIMITS)
        [result] = search(
            c,
            [SearchQuery(Term(vector=np.array([1, 0], np.float32)))],
            LIMITS,
            k=3,
            options=QueryOptions(exact=True),
        )
        got = [(h.id, round(h.score, 3)) for h in result.hits]
        if metric is Metric.DOT:
            assert got == [("big", 10.0), ("small", 1.0), ("far", -5.0)]
        else:
            assert got == [("small", 0.0), ("far", -6.0), ("big", round(-float(np.sqrt(82)), 3))]


def test_a_cosine_collection_finds_vectors_of_extreme_finite_values(
    collections: Collections,
) -> None:
    # Found by the fuzz: the index form took the norm in float32, so a document of 1e20s
    # was stored as a zero vector and scored 0 against everything.
    collections.create("c", dimension=2)
    c = collections.get("c")
    given = {"big": [1e20, 1e20], "tiny": [1e-30, -1e-30], "plain": [1, 0]}
    c.upsert([Document(k, vector=np.array(v, np.float32)) for k, v in given.items()], LIMITS)
    for exact in (True, False):
        [result] = search(
            c,
            [SearchQuery(Term(vector=np.array([1, 1], np.float32)))],
            LIMITS,
            k=3,
            options=QueryOptions(exact=exact),
        )
        got = [(h.id, round(h.score, 4)) for h in result.hits]
        assert got == [("big", 1.0), ("plain", 0.7071), ("tiny", 0.0)]


def test_dot_and_l2_refuse_vectors_whose_scores_would_overflow(
    collections: Collections,
) -> None:
    # Found by the fuzz: a dot or L2 score past float32's 3.4e38 was infinite (an OK
    # answer with score inf) or dropped the document from the hits.
    for metric in (Metric.DOT, Metric.L2):
        collections.create(metric.value, dimension=2, metric=metric)
        c = collections.get(metric.value)
        ok = Document("ok", vector=np.array([1, 2], np.float32))
        too_long = Document("long", vector=np.array([1e20, 0], np.float32))
        with pytest.raises(InvalidArgument, match=r"documents\[1\].vector: is longer than 1e\+18"):
            c.upsert([ok, too_long], LIMITS)
        assert c.count() == 0  # all or nothing
        c.upsert([ok], LIMITS)
        with pytest.raises(InvalidArgument, match=r"^query: is longer than 1e\+18"):
            search(c, [SearchQuery(Term(vector=np.array([0, 3e19], np.float32)))], LIMITS)
        heavy = Term(vector=np.array([0, 1], np.float32), weight=3e38)
        # Two weights of 3e38 (each finite) summed past float32 before the fix.
        huge_weights = SearchQuery(Term(vector=np.array([1, 0], np.float32)), (heavy, heavy))
        [result] = search(c, [huge_weights], LIMITS, k=1)
        assert [h.id for h in result.hits] == ["ok"] and np.isfinite(result.hits[0].score)


def test_recommend_and_arithmetic_run_on_a_collection(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(200), LIMITS)
    [result] = search(c, [SearchQuery(Term(key="doc5"))], LIMITS, k=3)
    assert "doc5" not in [h.id for h in result.hits]  # the input is left out
    [liked] = search(
        c,
        [SearchQuery(positive=(Term(key="doc5"), Term(key="doc6")), negative=(Term(key="doc7"),))],
        LIMITS,
        k=3,
        with_metadata=True,
    )
    assert len(liked.hits) == 3 and all("n" in h.metadata for h in liked.hits)
    [near] = arithmetic.nearest(c, [[Term(key="doc5")]], LIMITS, k=3)
    assert [n.key for n in near.neighbors] == [h.id for h in result.hits]
    with pytest.raises(NotFound, match="doc-unknown"):
        search(c, [SearchQuery(Term(key="doc-unknown"))], LIMITS)
    with pytest.raises(FailedPrecondition, match="no model"):
        search(c, [SearchQuery(Term(text="words"))], LIMITS)
    with pytest.raises(InvalidArgument, match="restrict"):
        arithmetic.nearest(c, [[Term(key="doc5")]], LIMITS, options=QueryOptions(restrict=5))


def test_score_threshold_and_payload_flags(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(50), LIMITS)
    q = docs(50)[0].vector
    [all_hits] = search(
        c, [SearchQuery(Term(vector=q))], LIMITS, k=10, with_text=True, with_vector=True
    )
    cut = all_hits.hits[3].score
    [some] = search(c, [SearchQuery(Term(vector=q))], LIMITS, k=10, score_threshold=cut)
    assert [h.id for h in some.hits] == [h.id for h in all_hits.hits[:4]]
    assert all_hits.hits[0].text == "text 0" and all_hits.hits[0].vector is not None
    assert some.hits[0].text == "" and some.hits[0].vector is None


def test_filters_are_checked_and_evaluated() -> None:
    meta = {"lang": "en", "year": 2021, "tags": ["a", "b"], "ok": True}
    assert matches(Filter(Condition("lang", equals="en")), meta)
    assert matches(Filter(Condition("tags", equals="b")), meta)
    assert not matches(Filter(Condition("ok", equals=1)), meta)  # a bool is not a number
    assert matches(
        Filter(
            all=(
                Filter(Condition("year", range=Range(gte=2020))),
                Filter(Condition("missing", exists=False)),
            )
        ),
        meta,
    )
    assert matches(
        Filter(
            any=(
                Filter(Condition("lang", equals="fr")),
                Filter(Condition("year", any_of=(2021.0,))),
            )
        ),
        meta,
    )
    assert not matches(Filter(none=(Filter(Condition("lang", equals="en")),)), meta)
    assert not matches(Filter(Condition("lang", range=Range(gt=1))), meta)
    for bad, field in [
        (Filter(), "filter: has no condition"),
        (Filter(Condition("", equals="x")), r"filter\.condition\.key"),
        (Filter(all=(Filter(Condition("k")),)), r"filter\.all\[0\]\.condition: needs exactly"),
        (Filter(Condition("k", range=Range())), r"range: needs at least one"),
        (Filter(Condition("k", any_of=())), r"\.in: must not be empty"),
    ]:
        with pytest.raises(InvalidArgument, match=field):
            check_filter(bad)


@pytest.fixture(scope="module")
def minilm() -> Iterator[SentenceModel]:
    from latentd.app import default_sentence_dir

    model = SentenceModel("all-minilm-l6-v2", default_sentence_dir())
    yield model
    model.close()


def test_a_collection_with_a_model_encodes_texts(tmp_path: Path, minilm: SentenceModel) -> None:
    manager = Collections(tmp_path / "data", lambda name: minilm)
    manager.open_all()
    manager.create("notes", model="all-minilm-l6-v2")
    c = manager.get("notes")
    c.upsert(
        [
            Document("cat", "a cat sleeps on the sofa"),
            Document("tax", "the tax return is due in april"),
            Document("dog", "a dog naps on the couch"),
        ],
        LIMITS,
    )
    [result] = search(c, [SearchQuery(Term(text="pets resting on furniture"))], LIMITS, k=3)
    assert [h.id for h in result.hits][:2] in (["cat", "dog"], ["dog", "cat"])
    [moved] = search(
        c,
        [SearchQuery(Term(key="cat"), negative=(Term(text="cat"),), positive=(Term(text="dog"),))],
        LIMITS,
        k=1,
    )
    assert moved.hits[0].id == "dog"
    manager.close()


def test_count_delete_and_scroll_check_their_filter(collections: Collections) -> None:
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(5), LIMITS)
    empty_range = Filter(Condition("n", range=Range()))
    for call in (
        lambda: c.count(empty_range),
        lambda: c.delete(filter=empty_range),
        lambda: c.scroll(empty_range),
    ):
        with pytest.raises(InvalidArgument, match="range: needs at least one"):
            call()
    assert c.count() == 5


def test_filtered_hnsw_search_recall_against_exact(
    collections: Collections, monkeypatch: pytest.MonkeyPatch
) -> None:
    import latentd.core.collection as collection_module

    # Route a broad filter through hnswlib's filtered search rather than the exact path.
    monkeypatch.setattr(collection_module, "EXACT_FILTER_DOCS", 10)
    monkeypatch.setattr(collection_module, "EXACT_FILTER_SHARE", 0.0)
    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(1000)[:500], LIMITS)
    c.upsert(docs(1000)[500:], LIMITS)
    assert c.wait_indexed(60)
    even = Filter(Condition("parity", equals="even"))
    rng = np.random.default_rng(4)
    found = total = 0
    for _ in range(30):
        q = rng.normal(size=DIM).astype(np.float32)
        [approx] = search(c, [SearchQuery(Term(vector=q))], LIMITS, k=10, filter=even)
        [exact] = search(
            c,
            [SearchQuery(Term(vector=q))],
            LIMITS,
            k=10,
            filter=even,
            options=QueryOptions(exact=True),
        )
        assert approx.searched_with.name == "HNSW" and len(approx.hits) == 10
        assert all(h.id in {f"doc{i}" for i in range(0, 1000, 2)} for h in approx.hits)
        found += len({h.id for h in approx.hits} & {h.id for h in exact.hits})
        total += 10
    assert found / total >= 0.98


def test_concurrent_search_upsert_and_delete_never_see_half_a_document(
    collections: Collections,
) -> None:
    import threading

    collections.create("c", dimension=DIM)
    c = collections.get("c")
    c.upsert(docs(400), LIMITS)
    errors: list[BaseException] = []
    torn: list[str] = []

    def writer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for round_ in range(40):
                start = int(rng.integers(0, 400))
                batch = [
                    Document(
                        d.id, f"text {d.id} v{round_}", d.vector, {"n": int(d.id[3:]), "v": round_}
                    )
                    for d in docs(10, seed=seed * 100 + round_, start=start)
                ]
                c.upsert(batch, LIMITS)
                c.delete([f"doc{int(rng.integers(0, 400))}"])
        except BaseException as exc:
            errors.append(exc)

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(80):
                q = rng.normal(size=DIM).astype(np.float32)
                [result] = search(
                    c,
                    [SearchQuery(Term(vector=q))],
                    LIMITS,
                    k=5,
                    with_text=True,
                    with_metadata=True,
                )
                for hit in result.hits:
                    # text and metadata come from the same write, or it is torn
                    version = hit.metadata.get("v")
                    first = f"text {hit.id[3:]}"  # as docs() wrote it, with no version
                    expected = first if version is None else f"text {hit.id} v{version}"
                    if hit.text != expected:
                        torn.append(f"{hit.id}: {hit.text!r} {hit.metadata}")
                c.count(Filter(Condition("n", range=Range(gte=100))))
                c.scroll(limit=50)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(1, 4)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(10, 14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and torn == []
    page, _ = c.scroll(limit=10_000)
    assert c.count() == len(page) == len({d.id for d in page})


def test_a_collections_model_must_be_a_sentence_model(tmp_path: Path) -> None:
    from latentd.core.word_space import WordSpace

    words = WordSpace("words", ["a", "b"], np.eye(2, DIM, dtype=np.float32))
    manager = Collections(tmp_path / "data", lambda name: words)
    with pytest.raises(FailedPrecondition, match="a collection's model is a sentence model"):
        manager.create("c", model="words")


def test_a_create_or_delete_cut_short_by_a_crash_leaves_nothing_behind(tmp_path: Path) -> None:
    """A collection is made under a dot-name and renamed into place, and deleted by a
    rename to a dot-name: what a crash leaves of either is cleared at the next start,
    and the start goes on."""
    data = tmp_path / "data"
    manager = Collections(data, no_models)
    manager.open_all()
    manager.create("kept", dimension=DIM)
    manager.close()
    half_made = data / ".creating-new-123"
    half_made.mkdir()
    (half_made / "documents.sqlite3").write_bytes(b"")  # no settings yet
    half_deleted = data / ".deleted-old-456"
    half_deleted.mkdir()
    (half_deleted / "documents.sqlite3").write_bytes(b"SQLite format 3\x00")
    manager = Collections(data, no_models)
    manager.open_all()
    assert [c.settings.name for c in manager.list()] == ["kept"]
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["kept"]
    manager.create("new", dimension=DIM)
    assert not [p for p in data.iterdir() if p.name.startswith(".creating-")]
    manager.close()


def test_the_backend_is_chosen_per_collection_and_kept_across_restarts(tmp_path: Path) -> None:
    pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
    data = tmp_path / "data"
    first = Collections(data, no_models)
    first.open_all()
    assert first.create("kept-here", dimension=DIM).settings.backend == "embedded"
    assert first.create("in-milvus", dimension=DIM, backend="milvus").settings.backend == "milvus"
    first.get("in-milvus").upsert(docs(3), LIMITS)
    with pytest.raises(AlreadyExists):  # one name, one collection, whichever backend
        first.create("kept-here", dimension=DIM, backend="milvus")
    with pytest.raises(InvalidArgument, match="backend: must be embedded or milvus"):
        first.create("x", dimension=DIM, backend="postgres")
    first.close()
    again = Collections(data, no_models)  # the default backend is still embedded
    again.open_all()
    assert {i.settings.name: i.settings.backend for i in again.list()} == {
        "in-milvus": "milvus",
        "kept-here": "embedded",
    }
    assert again.get("in-milvus").count() == 3
    again.delete("in-milvus")
    assert again.find("in-milvus") is None
    again.close()


def test_an_unreachable_milvus_stops_the_start_naming_the_backend(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="pymilvus is not installed")
    from latentd.core.collection_backends import MilvusParams
    from latentd.core.errors import NotReady

    manager = Collections(
        tmp_path / "data", no_models, backend="milvus", milvus=MilvusParams("http://127.0.0.1:9")
    )
    with pytest.raises(NotReady, match=r"backend milvus \(http://127.0.0.1:9\)"):
        manager.open_all()
