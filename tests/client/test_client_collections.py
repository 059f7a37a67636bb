"""Collections through the client, against a real latentd (`server_target`): create,
upsert (texts and vectors, in batches), get, search with filters, recommend, count,
scroll, delete; the async client; and the dict forms of filters and documents, which
need no server. Each test uses collections of its own (the server is session-wide)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import pytest

import latent
from latent import _convert as cv
from latent.v1 import latent_pb2 as pb

SENTENCE = "all-minilm-l6-v2"

CORPUS = [
    ("pets-1", "A kitten is sleeping on the sofa.", "en", 2021, ["pets", "home"]),
    ("pets-2", "My dog loves long walks in the park.", "en", 2019, ["pets", "outdoors"]),
    ("pets-3", "Le chat dort sur le canapé.", "fr", 2022, ["pets"]),
    ("pets-4", "Cats like to nap in warm, sunny spots.", "en", 2020, ["pets"]),
    ("fin-1", "The central bank raised interest rates again.", "en", 2023, ["finance"]),
    ("fin-2", "Stock markets fell sharply on Monday.", "en", 2020, ["finance"]),
    ("food-1", "Slow-cooked tomato sauce with fresh basil.", "en", 2024, ["food"]),
    ("food-2", "A recipe for crusty sourdough bread.", "en", 2018, ["food"]),
    ("travel-1", "Cheap flights to Lisbon this summer.", "en", 2024, ["travel"]),
]


@pytest.fixture(scope="module")
def client(collections_target: str) -> Iterator[latent.Client]:
    with latent.Client(collections_target, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def docs(client: latent.Client) -> str:
    """The texts of CORPUS in a collection encoded by the default sentence model; half
    upserted as dicts, half as latent.Document."""
    name = "client-docs"
    client.create_collection(name, model=SENTENCE)
    documents: list[dict[str, object] | latent.Document] = []
    for i, (doc_id, text, lang, year, tags) in enumerate(CORPUS):
        metadata = {"lang": lang, "year": year, "tags": tags}
        if i % 2:
            documents.append(latent.Document(doc_id, text, metadata=metadata))
        else:
            documents.append({"id": doc_id, "text": text, "metadata": metadata})
    assert client.upsert(name, documents) == len(CORPUS)
    return name


def test_create_get_list_and_exist_ok(client: latent.Client) -> None:
    info = client.create_collection("client-create", model=SENTENCE)
    assert isinstance(info, latent.CollectionInfo)
    assert (info.name, info.model, info.dimension, info.metric) == (
        "client-create",
        SENTENCE,
        384,
        "cosine",
    )
    assert (info.m, info.ef_construction, info.count) == (16, 200, 0)
    assert client.get_collection("client-create") == info
    assert "client-create" in [c.name for c in client.list_collections()]
    assert client.create_collection("client-create", model=SENTENCE, exist_ok=True) == info
    with pytest.raises(latent.AlreadyExists, match="client-create"):
        client.create_collection("client-create", model=SENTENCE)
    with pytest.raises(latent.AlreadyExists):  # exist_ok, but other settings
        client.create_collection("client-create", model=SENTENCE, metric="dot", exist_ok=True)
    own = client.create_collection("client-own", dimension=5, metric="l2", m=8, ef_construction=40)
    assert (own.model, own.dimension, own.metric, own.m, own.ef_construction) == (
        "",
        5,
        "l2",
        8,
        40,
    )


def test_unknown_collection_is_not_found(client: latent.Client) -> None:
    with pytest.raises(latent.NotFound, match="'client-nope'"):
        client.get_collection("client-nope")
    with pytest.raises(latent.NotFound, match="'client-nope'"):
        client.search("client-nope", "anything")
    with pytest.raises(latent.NotFound):
        client.upsert("client-nope", [{"id": "a", "text": "b"}])


def test_get_returns_documents_in_order_and_the_missing(client: latent.Client, docs: str) -> None:
    result = client.get(docs, ["fin-2", "nope", "pets-1"])
    assert isinstance(result, latent.GetResult)
    assert [d.id for d in result.documents] == ["fin-2", "pets-1"]
    assert result.missing == ["nope"]
    fin = result.documents[0]
    assert fin.text == "Stock markets fell sharply on Monday."
    # Whole numbers come back as int, though the wire carries doubles.
    assert fin.metadata == {"lang": "en", "year": 2020, "tags": ["finance"]}
    assert isinstance(fin.metadata["year"], int)
    assert fin.vector is None
    [with_vector] = client.get(docs, "pets-1", with_vector=True).documents
    assert isinstance(with_vector.vector, np.ndarray)
    assert with_vector.vector.shape == (384,) and with_vector.vector.dtype == np.float32
    assert abs(float(np.linalg.norm(with_vector.vector)) - 1) < 1e-3


def test_search_by_text(client: latent.Client, docs: str) -> None:
    result = client.search(docs, "a cat napping on a couch", k=3)
    assert isinstance(result, latent.SearchResult)
    assert result.collection == docs
    assert set(result.ids[:2]) == {"pets-1", "pets-4"}
    result = client.search(docs, "a kitten asleep on the sofa", k=3)
    assert result.ids[0] == "pets-1"
    assert len(result.hits) == 3
    top = result.hits[0]
    assert top.text == "A kitten is sleeping on the sofa."
    assert top.metadata["tags"] == ["pets", "home"]
    assert top.vector is None
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    bare = client.search(
        docs, "a kitten asleep on the sofa", k=1, with_text=False, with_metadata=False
    )
    assert (bare.hits[0].text, bare.hits[0].metadata) == ("", {})
    assert bare.hits[0].score == pytest.approx(top.score, abs=1e-5)


def test_search_with_filters(client: latent.Client, docs: str) -> None:
    def ids(filter: dict[str, object]) -> set[str]:
        return set(client.search(docs, "anything at all", k=20, filter=filter).ids)

    assert ids({"lang": "fr"}) == {"pets-3"}
    assert ids({"tags": "finance"}) == {"fin-1", "fin-2"}  # on a list: contains
    assert ids({"lang": "en", "year": {"gte": 2021}}) == {"pets-1", "fin-1", "food-1", "travel-1"}
    assert ids({"year": {"gt": 2018, "lt": 2021}}) == {"pets-2", "pets-4", "fin-2"}
    assert ids({"tags": {"in": ["food", "travel"]}}) == {"food-1", "food-2", "travel-1"}
    assert ids({"any": [{"lang": "fr"}, {"year": 2018}]}) == {"pets-3", "food-2"}
    assert ids({"tags": "pets", "none": [{"lang": "fr"}]}) == {"pets-1", "pets-2", "pets-4"}
    assert ids({"lang": {"exists": False}}) == set()
    filtered = client.search(
        docs, "a cat napping on a couch", k=3, filter={"lang": "en", "year": {"gte": 2021}}
    )
    assert filtered.ids[0] == "pets-1"  # pets-4 (2020) is filtered out
    assert not {"pets-2", "pets-3", "pets-4"} & set(filtered.ids)


def test_search_by_document_vector_and_threshold(client: latent.Client, docs: str) -> None:
    by_id = client.search(docs, latent.Term(key="fin-1"), k=1)
    assert by_id.ids == ["fin-2"]  # the other finance text; fin-1 itself is left out
    with_inputs = client.search(docs, latent.Term(key="fin-1"), k=1, include_inputs=True)
    assert with_inputs.ids == ["fin-1"] and with_inputs.hits[0].score == pytest.approx(1, abs=1e-4)
    [vector] = client.encode("fresh bread from the oven", SENTENCE)
    by_vector = client.search(docs, vector, k=1, with_vector=True)
    assert by_vector.ids == ["food-2"]
    assert by_vector.hits[0].vector is not None and by_vector.hits[0].vector.shape == (384,)
    everything = client.search(docs, "interest rates", k=8)
    cut = client.search(docs, "interest rates", k=8, score_threshold=0.3)
    assert cut.ids[0] == "fin-1"
    assert all(h.score >= 0.3 for h in cut.hits)
    assert len(cut.hits) < len(everything.hits)


def test_recommend(client: latent.Client, docs: str) -> None:
    assert client.recommend(docs, ["pets-1"], k=1).ids == ["pets-4"]
    result = client.recommend(docs, ["pets-1", "pets-4"], ["fin-1"], k=3, filter={"lang": "en"})
    assert len(result.ids) == 3
    assert not {"pets-1", "pets-4", "fin-1", "pets-3"} & set(result.ids)
    texts = client.recommend(docs, [latent.Text("baking at home")], k=1)
    assert texts.ids == ["food-2"]


def test_batch_search(client: latent.Client, docs: str) -> None:
    results = client.batch_search(
        docs,
        [
            "a kitten asleep on the sofa",
            latent.SearchQuery(positive=[latent.Text("baking at home")]),
            latent.SearchQuery(query="cheap holiday", negative=[latent.Text("finance")]),
        ],
        k=1,
    )
    assert [r.ids for r in results] == [["pets-1"], ["food-2"], ["travel-1"]]
    with pytest.raises(latent.InvalidArgument, match=r"^queries\[1\]\.query"):
        client.batch_search(docs, ["cats", latent.SearchQuery()])


def test_count_and_scroll_every_document_once(client: latent.Client) -> None:
    name = "client-scroll"
    client.create_collection(name, dimension=4, metric="dot")
    rng = np.random.default_rng(3)
    documents = [
        latent.Document(f"doc-{i:02d}", vector=rng.normal(size=4), metadata={"odd": i % 2 == 1})
        for i in range(25)
    ]
    assert client.upsert(name, documents, batch_size=7) == 25
    assert client.count(name) == 25
    assert client.count(name, filter={"odd": True}) == 12
    scrolled = [d.id for d in client.scroll(name, limit=4)]
    assert scrolled == [f"doc-{i:02d}" for i in range(25)]  # each once, in id order
    odd = list(client.scroll(name, filter={"odd": True}, limit=5, with_vector=True))
    assert [d.id for d in odd] == [f"doc-{i:02d}" for i in range(1, 25, 2)]
    assert all(d.vector is not None and d.vector.shape == (4,) for d in odd)
    np.testing.assert_allclose(odd[0].vector, documents[1].vector, rtol=1e-6)  # type: ignore[arg-type]
    page = client.scroll_page(name, limit=10)
    assert isinstance(page, latent.ScrollResult)
    assert len(page.documents) == 10 and page.next_page_token
    rest = client.scroll_page(name, page_token=page.next_page_token, limit=100)
    assert len(rest.documents) == 15 and rest.next_page_token == ""


def test_upsert_batches_progress_and_replace(client: latent.Client) -> None:
    name = "client-upsert"
    client.create_collection(name, model=SENTENCE)
    calls: list[tuple[int, int | None]] = []
    texts = [f"note number {i}" for i in range(5)]
    count = client.upsert(
        name,
        [{"id": f"n{i}", "text": t} for i, t in enumerate(texts)],
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert count == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]
    # A generator has no length: total is None.
    calls.clear()
    client.upsert(
        name,
        ({"id": f"g{i}", "text": "generated"} for i in range(3)),
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(2, None), (3, None)]
    # An existing id is replaced.
    client.upsert(name, [{"id": "n0", "text": "replaced", "metadata": {"v": 2}}])
    [doc] = client.get(name, ["n0"]).documents
    assert (doc.text, doc.metadata) == ("replaced", {"v": 2})
    assert client.count(name) == 8


def test_upsert_error_names_the_document_in_the_callers_input(client: latent.Client) -> None:
    name = "client-upsert-error"
    client.create_collection(name, model=SENTENCE)
    documents = [{"id": f"d{i}", "text": f"text {i}"} for i in range(5)]
    documents[3] = {"id": "d3", "vector": [1.0, 2.0, 3.0]}
    with pytest.raises(latent.InvalidArgument) as err:
        client.upsert(name, documents, batch_size=2)
    assert str(err.value) == (
        "documents[3].vector: expected 384 values, got 3 "
        "(the first 2 documents were upserted by earlier requests)"
    )
    assert client.count(name) == 2  # the first batch; each request is all or nothing


@pytest.fixture(scope="module")
def small_limits_client(tiny_kv: object) -> Iterator[latent.Client]:
    """A server that takes at most 60 tokens and 4 documents in one request."""
    from latentd.config import Settings
    from latentd.core.limits import Limits
    from latentd.testing import start_test_server

    settings = Settings(limits=Limits(max_request_tokens=60, max_documents=4))
    with start_test_server(tiny_kv, settings=settings) as target, latent.Client(target) as c:
        yield c


def test_upsert_splits_a_request_over_the_servers_limits(
    small_limits_client: latent.Client,
) -> None:
    client = small_limits_client
    client.create_collection("split", model=SENTENCE)
    texts = [f"{text} ({i})" for i, (_, text, *_) in enumerate(CORPUS)]  # about 12 tokens each
    seen: list[int] = []
    done = client.upsert(
        "split",
        [{"id": str(i), "text": t} for i, t in enumerate(texts)],
        batch_size=100,
        progress=lambda n, total: seen.append(n),
    )
    assert done == client.count("split") == len(texts)
    assert seen == [len(texts)]
    # Each text got the vector it gets alone.
    stored = client.get("split", [str(i) for i in range(len(texts))], with_vector=True)
    alone = [client.encode(text, model=SENTENCE)[0] for text in texts]
    for doc, vector in zip(stored.documents, alone, strict=True):
        assert doc.vector is not None
        cosine = np.dot(doc.vector, vector) / np.linalg.norm(doc.vector) / np.linalg.norm(vector)
        assert float(cosine) == pytest.approx(1.0, abs=1e-5)


def test_upsert_names_the_one_document_over_the_token_limit(
    small_limits_client: latent.Client,
) -> None:
    client = small_limits_client
    client.create_collection("too-long", model=SENTENCE)
    documents = [{"id": str(i), "text": f"short text {i}"} for i in range(6)]
    documents[4]["text"] = " ".join(["word"] * 80)  # 82 tokens with [CLS] and [SEP]
    with pytest.raises(latent.InvalidArgument) as err:
        client.upsert("too-long", documents, batch_size=6)
    message = str(err.value)
    assert message.startswith("documents[4]: ")
    assert "at most 60 in one request" in message
    assert "the first 4 documents were upserted by earlier requests" in message
    assert client.count("too-long") == 4


def test_document_batches_keep_to_a_text_budget() -> None:
    documents = [{"id": str(i), "text": "x" * 40} for i in range(10)]
    sizes = [len(b) for _, b in cv.document_batches(documents, size=8, text_chars=100)]
    assert sizes == [2, 2, 2, 2, 2]
    offsets = [o for o, _ in cv.document_batches(documents, size=3, text_chars=1000)]
    assert offsets == [0, 3, 6, 9]
    # One document over the budget goes alone rather than not at all.
    big = [{"id": "a", "text": "x" * 500}, {"id": "b", "text": "y"}]
    assert [len(b) for _, b in cv.document_batches(big, size=8, text_chars=100)] == [1, 1]


def test_delete_by_ids_and_by_filter(client: latent.Client) -> None:
    name = "client-delete"
    client.create_collection(name, dimension=2)
    client.upsert(
        name,
        [
            {"id": str(i), "vector": [1.0, float(i)], "metadata": {"group": "ab"[i % 2]}}
            for i in range(8)
        ],
    )
    assert client.delete(name, ["0", "1", "missing"]) == 2
    assert client.delete(name, "2") == 1
    assert client.delete(name, filter={"group": "b"}) == 3  # 3, 5, 7
    assert client.delete(name, ["4", "6"], filter={"group": "b"}) == 0  # both must hold
    assert sorted(d.id for d in client.scroll(name)) == ["4", "6"]
    with pytest.raises(latent.InvalidArgument, match="ids"):
        client.delete(name)  # neither ids nor a filter


def test_vectors_of_your_own(client: latent.Client) -> None:
    name = "client-vectors"
    client.create_collection(name, dimension=3)
    client.upsert(
        name,
        [
            latent.Document("x", "along x", np.array([1, 0, 0], dtype=np.float32)),
            latent.Document("y", "along y", [0.0, 2.0, 0.0], {"n": np.int64(2)}),
            {"id": "xy", "vector": (1.0, 1.0, 0.0)},
        ],
    )
    result = client.search(name, [0.9, 0.1, 0.0], k=2)
    assert result.ids == ["x", "xy"]
    assert client.get(name, ["y"]).documents[0].metadata == {"n": 2}
    with pytest.raises(latent.FailedPrecondition, match="no model"):
        client.upsert(name, [{"id": "t", "text": "a text needs a model"}])


def test_delete_collection(client: latent.Client) -> None:
    client.create_collection("client-gone", dimension=2)
    client.delete_collection("client-gone")
    assert "client-gone" not in [c.name for c in client.list_collections()]
    with pytest.raises(latent.NotFound):
        client.delete_collection("client-gone")


def test_async_client(collections_target: str, docs: str) -> None:
    async def run() -> tuple[list[str], list[str], int]:
        async with latent.AsyncClient(collections_target, timeout=60) as aio:
            await aio.create_collection("client-async", dimension=2, exist_ok=True)
            await aio.upsert(
                "client-async", [{"id": f"a{i}", "vector": [1.0, float(i)]} for i in range(5)]
            )
            scrolled = [d.id async for d in aio.scroll("client-async", limit=2)]
            found = await aio.search(docs, "a kitten asleep on the sofa", k=1)
            return scrolled, found.ids, await aio.count("client-async")

    scrolled, ids, count = asyncio.run(run())
    assert scrolled == ["a0", "a1", "a2", "a3", "a4"]
    assert ids == ["pets-1"]
    assert count == 5


# -- no server: the dict forms ------------------------------------------------------------


def test_filter_dict_forms() -> None:
    assert cv.filter_message(None) is None
    equals = cv.filter_message({"lang": "en"})
    assert equals == pb.Filter(condition=pb.Condition(key="lang", equals={"string_value": "en"}))
    ranged = cv.filter_message({"year": {"gte": 2020, "lt": 2024}})
    assert ranged is not None
    assert ranged.condition.range == pb.Range(gte=2020, lt=2024)
    assert not ranged.condition.range.HasField("gt")
    listed = cv.filter_message({"tag": {"in": ["a", 2, True]}})
    assert listed is not None
    values = getattr(listed.condition, "in").values
    assert [v.WhichOneof("kind") for v in values] == ["string_value", "number_value", "bool_value"]
    both = cv.filter_message({"lang": "en", "n": {"exists": True}})
    assert both is not None and len(both.all) == 2 and not both.HasField("condition")
    nested = cv.filter_message({"any": [{"a": 1}, {"b": 2}], "none": [{"c": False}], "all": "x"})
    assert nested is not None
    assert len(nested.any) == 2 and len(nested.none) == 1
    # "all" with a value that is not a list is a test on the metadata key "all".
    assert [f.condition.key for f in nested.all] == ["all"]
    assert cv.filter_message({}) == pb.Filter()  # no test: no filter on the server
    message = pb.Filter(condition=pb.Condition(key="k", exists=True))
    assert cv.filter_message(message) is message


@pytest.mark.parametrize(
    ("filter", "problem"),
    [
        ({"tag": ["a", "b"]}, "use {'in': [...]}"),
        ({"tag": None}, "'exists': False"),
        ({"year": {"gte": "2020"}}, "expected a number"),
        ({"year": {"between": 1}}, "unknown test 'between'"),
        ({"year": {}}, "an empty test"),
        ({"tag": {"in": "abc"}}, "a list of values"),
        ({"tag": {"exists": "yes"}}, "True or False"),
        ({"any": ["lang=en"]}, "a filter is a dict"),
        ({"meta": {"in": [{"a": 1}]}}, "a str, number or bool"),
    ],
)
def test_filter_dict_errors(filter: dict[str, object], problem: str) -> None:
    with pytest.raises(
        (TypeError, ValueError), match=problem.replace("[", r"\[").replace("(", r"\(")
    ):
        cv.filter_message(filter)


def test_document_forms() -> None:
    message = cv.document({"id": "a", "text": "t", "vector": [1, 2], "metadata": {"n": 1}})
    assert (message.id, message.text, list(cv.vector(message.vector))) == ("a", "t", [1.0, 2.0])
    assert message.vector.packed == np.array([1, 2], "<f4").tobytes()  # sent packed
    assert dict(message.metadata) == {"n": 1.0}
    bare = cv.document(latent.Document("b", "text only"))
    assert not bare.HasField("vector") and not bare.HasField("metadata")
    with pytest.raises(ValueError, match=r"unknown field 'lang'.*put other values in metadata"):
        cv.document({"id": "a", "text": "t", "lang": "en"}, "documents[4]")
    with pytest.raises(TypeError, match=r"documents\[0\]\.id: expected a str"):
        list(cv.document_batches([{"id": 7, "text": "t"}], 10))
    with pytest.raises(ValueError, match="batch_size"):
        list(cv.document_batches([], 0))
    batches = list(cv.document_batches(({"id": str(i)} for i in range(5)), 2))
    assert [(offset, len(b)) for offset, b in batches] == [(0, 2), (2, 2), (4, 1)]


def test_search_query_forms() -> None:
    assert cv.search_query("text").text == "text"
    assert cv.search_query(latent.Text("t")).text == "t"
    assert cv.search_query(latent.Term(key="doc-1")).id == "doc-1"
    assert list(cv.vector(cv.search_query([0.5, 1.0]).vector)) == [0.5, 1.0]
    recommend = cv.search_query(None, ["a", "b"], latent.Text("c"))
    assert recommend.WhichOneof("query") is None
    assert [t.key for t in recommend.positive] == ["a", "b"]
    assert recommend.negative[0].text == "c"
    with pytest.raises(ValueError, match="no weight"):
        cv.search_query(latent.Term(key="a", weight=2.0))


def test_the_backend_is_reported_and_chosen_per_collection(
    client: latent.Client, collections_backend: str
) -> None:
    default = client.create_collection("where-default", dimension=2)
    assert default.backend == collections_backend  # the server's --collections-backend
    other = "embedded" if collections_backend == "milvus" else "milvus"
    chosen = client.create_collection("where-chosen", dimension=2, backend=other)
    assert chosen.backend == other
    client.upsert("where-chosen", [{"id": "a", "vector": [1.0, 0.0]}])
    assert [h.id for h in client.search("where-chosen", [1.0, 0.0], k=1).hits] == ["a"]
    with pytest.raises(latent.InvalidArgument, match="backend"):
        client.create_collection("where-not", dimension=2, backend="postgres")
    client.delete_collection("where-default")
    client.delete_collection("where-chosen")
