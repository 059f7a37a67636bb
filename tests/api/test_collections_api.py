"""The Collections service at the gRPC edge, over a real server on port 0: status codes,
field paths in messages, unset options, Struct metadata and the proto forms of filters
and queries. Each test uses collections of its own (the server is session-wide)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

Code = grpc.StatusCode
SENTENCE = "all-minilm-l6-v2"
TIMEOUT = 60


@pytest.fixture(scope="module")
def channel(collections_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(collections_target) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.CollectionsStub:
    return pb_grpc.CollectionsStub(channel)


def error_of(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(request, timeout=TIMEOUT)
    return err.value


def struct(**values: object) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def vec(*values: float) -> pb.Vector:
    return pb.Vector(values=list(values))


def equals(key: str, value: str | float | bool) -> pb.Filter:
    value_message = struct_pb2.Value()
    if isinstance(value, bool):
        value_message.bool_value = value
    elif isinstance(value, str):
        value_message.string_value = value
    else:
        value_message.number_value = value
    return pb.Filter(condition=pb.Condition(key=key, equals=value_message))


@pytest.fixture(scope="module")
def vectors(stub: pb_grpc.CollectionsStub) -> str:
    """A 3-dimensional collection of own vectors: a, b, c along the axes, d between a and b."""
    name = "api-vectors"
    stub.CreateCollection(pb.CreateCollectionRequest(name=name, dimension=3), timeout=TIMEOUT)
    documents = [
        pb.Document(id="a", text="x axis", vector=vec(1, 0, 0), metadata=struct(n=1, tag="x")),
        pb.Document(id="b", text="y axis", vector=vec(0, 1, 0), metadata=struct(n=2, tag="y")),
        pb.Document(id="c", text="z axis", vector=vec(0, 0, 1), metadata=struct(n=3)),
        pb.Document(id="d", text="x and y", vector=vec(1, 1, 0), metadata=struct(n=4, tag="x")),
    ]
    reply = stub.Upsert(pb.UpsertRequest(collection=name, documents=documents), timeout=TIMEOUT)
    assert reply.upserted == 4
    return name


def test_health_and_reflection_know_the_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service="latent.v1.Collections"), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [answer] = list(reflection.ServerReflectionInfo(iter([request]), timeout=10))
    assert "latent.v1.Collections" in {s.name for s in answer.list_services_response.service}


def test_create_with_a_model_and_server_defaults(stub: pb_grpc.CollectionsStub) -> None:
    info = stub.CreateCollection(
        pb.CreateCollectionRequest(name="api-texts", model=SENTENCE), timeout=TIMEOUT
    )
    assert (info.name, info.model, info.dimension) == ("api-texts", SENTENCE, 384)
    assert info.metric == pb.COSINE
    # HnswConfig left unset: the server's defaults, reported back.
    assert (info.hnsw.m, info.hnsw.ef_construction) == (16, 200)
    assert info.count == 0
    assert stub.GetCollection(pb.GetCollectionRequest(name="api-texts"), timeout=TIMEOUT) == info
    listed = stub.ListCollections(pb.ListCollectionsRequest(), timeout=TIMEOUT).collections
    assert "api-texts" in [c.name for c in listed]


def test_create_with_settings(stub: pb_grpc.CollectionsStub) -> None:
    info = stub.CreateCollection(
        pb.CreateCollectionRequest(
            name="api-settings",
            dimension=8,
            metric=pb.L2,
            hnsw=pb.HnswConfig(m=8, ef_construction=50),
        ),
        timeout=TIMEOUT,
    )
    assert (info.model, info.dimension, info.metric) == ("", 8, pb.L2)
    assert (info.hnsw.m, info.hnsw.ef_construction) == (8, 50)


def test_create_twice_is_already_exists_unless_exist_ok(stub: pb_grpc.CollectionsStub) -> None:
    request = pb.CreateCollectionRequest(name="api-twice", dimension=4, metric=pb.DOT)
    first = stub.CreateCollection(request, timeout=TIMEOUT)
    err = error_of(stub.CreateCollection, request)
    assert err.code() == Code.ALREADY_EXISTS
    assert "api-twice" in err.details() and "exist_ok" in err.details()
    request.exist_ok = True
    assert stub.CreateCollection(request, timeout=TIMEOUT) == first
    # exist_ok accepts only the same settings.
    other = pb.CreateCollectionRequest(name="api-twice", dimension=4, exist_ok=True)
    assert error_of(stub.CreateCollection, other).code() == Code.ALREADY_EXISTS


def test_bad_collection_settings_are_invalid_argument(stub: pb_grpc.CollectionsStub) -> None:
    err = error_of(stub.CreateCollection, pb.CreateCollectionRequest(name="api-bad", metric=7))
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details().startswith("metric: unknown value 7")
    err = error_of(stub.CreateCollection, pb.CreateCollectionRequest(name="api-bad"))
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details().startswith("dimension:")
    err = error_of(stub.CreateCollection, pb.CreateCollectionRequest(name="../x", dimension=2))
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details().startswith("name:")


def test_unknown_collection_is_not_found(stub: pb_grpc.CollectionsStub) -> None:
    calls = [
        (stub.GetCollection, pb.GetCollectionRequest(name="api-nope")),
        (stub.DeleteCollection, pb.DeleteCollectionRequest(name="api-nope")),
        (stub.Upsert, pb.UpsertRequest(collection="api-nope", documents=[pb.Document(id="a")])),
        (stub.Get, pb.GetRequest(collection="api-nope", ids=["a"])),
        (stub.Delete, pb.DeleteRequest(collection="api-nope", ids=["a"])),
        (stub.Count, pb.CountRequest(collection="api-nope")),
        (stub.Scroll, pb.ScrollRequest(collection="api-nope")),
        (stub.Search, pb.SearchRequest(collection="api-nope", query=pb.SearchQuery(text="x"))),
        (stub.BatchSearch, pb.BatchSearchRequest(collection="api-nope")),
    ]
    for call, request in calls:
        err = error_of(call, request)
        assert err.code() == Code.NOT_FOUND, call
        assert "'api-nope'" in err.details()


def test_a_bad_document_is_named_by_position_and_nothing_is_written(
    stub: pb_grpc.CollectionsStub,
) -> None:
    stub.CreateCollection(
        pb.CreateCollectionRequest(name="api-all-or-nothing", model=SENTENCE), timeout=TIMEOUT
    )
    documents = [
        pb.Document(id="one", text="a first text"),
        pb.Document(id="two", text="a second text"),
        pb.Document(id="three", vector=vec(1, 2, 3)),
    ]
    err = error_of(
        stub.Upsert, pb.UpsertRequest(collection="api-all-or-nothing", documents=documents)
    )
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details() == "documents[2].vector: expected 384 values, got 3"
    count = stub.Count(pb.CountRequest(collection="api-all-or-nothing"), timeout=TIMEOUT)
    assert count.count == 0


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
@pytest.mark.parametrize("container", ["list", "struct"])
def test_a_non_finite_number_inside_metadata_is_invalid_argument(
    stub: pb_grpc.CollectionsStub, vectors: str, number: float, container: str
) -> None:
    # Found by the fuzz: JSON has no NaN, and reading such metadata was INTERNAL.
    inner = struct_pb2.Value(number_value=number)
    value = (
        struct_pb2.Value(list_value=struct_pb2.ListValue(values=[inner]))
        if container == "list"
        else struct_pb2.Value(struct_value=struct_pb2.Struct(fields={"x": inner}))
    )
    document = pb.Document(id="a", vector=vec(5, 5, 5), metadata={"fields": {"odd": value}})
    err = error_of(stub.Upsert, pb.UpsertRequest(collection=vectors, documents=[document]))
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details() == (
        "documents[0].metadata.odd: numbers must be finite, in lists and structs too"
    )
    unchanged = stub.Get(pb.GetRequest(collection=vectors, ids=["a"], with_vector=True))
    assert list(unchanged.documents[0].vector.values) == [1.0, 0.0, 0.0]


def test_struct_metadata_round_trip(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    reply = stub.Get(pb.GetRequest(collection=vectors, ids=["a", "zz", "c"]), timeout=TIMEOUT)
    assert [d.id for d in reply.documents] == ["a", "c"]
    assert list(reply.missing) == ["zz"]
    first = reply.documents[0]
    assert first.text == "x axis"
    assert dict(first.metadata) == {"n": 1.0, "tag": "x"}  # Struct numbers are doubles
    assert not first.HasField("vector")  # with_vector not set
    with_vector = stub.Get(
        pb.GetRequest(collection=vectors, ids=["d"], with_vector=True), timeout=TIMEOUT
    )
    assert list(with_vector.documents[0].vector.values) == [1.0, 1.0, 0.0]


def test_search_by_vector_id_and_recommend(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    by_vector = stub.Search(
        pb.SearchRequest(
            collection=vectors,
            query=pb.SearchQuery(vector=vec(1, 0.1, 0)),
            k=2,
            with_text=True,
            with_metadata=True,
        ),
        timeout=TIMEOUT,
    )
    assert by_vector.collection == vectors
    assert [h.id for h in by_vector.hits] == ["a", "d"]
    assert by_vector.hits[0].text == "x axis"
    assert dict(by_vector.hits[0].metadata) == {"n": 1.0, "tag": "x"}
    assert by_vector.searched_with in (pb.EXACT, pb.HNSW)
    # A stored document as the query: left out of its own hits.
    by_id = stub.Search(
        pb.SearchRequest(collection=vectors, query=pb.SearchQuery(id="a"), k=1), timeout=TIMEOUT
    )
    assert [h.id for h in by_id.hits] == ["d"]
    assert by_id.hits[0].text == "" and len(by_id.hits[0].metadata) == 0  # not asked for
    like_b_not_d = stub.Search(
        pb.SearchRequest(
            collection=vectors,
            query=pb.SearchQuery(
                positive=[pb.Term(key="b")], negative=[pb.Term(key="d", weight=-1.0)]
            ),
            k=1,
            with_vector=True,
        ),
        timeout=TIMEOUT,
    )
    # b - d points away from a (which scores below 0); c is orthogonal (0).
    assert [h.id for h in like_b_not_d.hits] == ["c"]
    assert list(like_b_not_d.hits[0].vector.values) == [0.0, 0.0, 1.0]


def test_search_filter_and_threshold(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    request = pb.SearchRequest(
        collection=vectors,
        query=pb.SearchQuery(vector=vec(1, 0, 0)),
        k=4,
        filter=pb.Filter(
            all=[
                equals("tag", "x"),
                pb.Filter(condition=pb.Condition(key="n", range=pb.Range(gte=2))),
            ]
        ),
    )
    assert [h.id for h in stub.Search(request, timeout=TIMEOUT).hits] == ["d"]
    request = pb.SearchRequest(
        collection=vectors,
        query=pb.SearchQuery(vector=vec(1, 0, 0)),
        k=4,
        score_threshold=0.5,
    )
    assert [h.id for h in stub.Search(request, timeout=TIMEOUT).hits] == ["a", "d"]


def test_a_nan_score_threshold_is_invalid_argument(
    stub: pb_grpc.CollectionsStub, vectors: str
) -> None:
    # Found by probing after the fuzz: NaN compared false with every score, and Search
    # answered OK with no hits.
    request = pb.SearchRequest(
        collection=vectors,
        query=pb.SearchQuery(vector=vec(1, 0, 0)),
        score_threshold=float("nan"),
    )
    err = error_of(stub.Search, request)
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details() == "score_threshold: must be a number, got NaN"


def test_batch_search_one_result_per_query(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    reply = stub.BatchSearch(
        pb.BatchSearchRequest(
            collection=vectors,
            queries=[pb.SearchQuery(vector=vec(0, 0, 1)), pb.SearchQuery(id="b")],
            k=1,
        ),
        timeout=TIMEOUT,
    )
    assert [[h.id for h in r.hits] for r in reply.results] == [["c"], ["d"]]
    err = error_of(
        stub.BatchSearch,
        pb.BatchSearchRequest(
            collection=vectors, queries=[pb.SearchQuery(id="a"), pb.SearchQuery()]
        ),
    )
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details().startswith("queries[1].query")


def test_filters_in_proto_form(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    def count(filter: pb.Filter | None = None) -> int:
        request = pb.CountRequest(collection=vectors, filter=filter)
        return int(stub.Count(request, timeout=TIMEOUT).count)

    assert count() == 4
    assert count(pb.Filter()) == 4  # an empty filter is no filter
    assert count(equals("tag", "x")) == 2
    assert count(pb.Filter(condition=pb.Condition(key="tag", exists=False))) == 1
    listed = pb.Condition(key="tag")
    getattr(listed, "in").values.add().string_value = "y"
    getattr(listed, "in").values.add().string_value = "z"
    assert count(pb.Filter(condition=listed)) == 1
    assert count(pb.Filter(any=[equals("n", 1), equals("n", 3)])) == 2
    assert count(pb.Filter(none=[equals("tag", "x")])) == 2


def test_malformed_filters_name_their_field(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    def problem(filter: pb.Filter) -> str:
        err = error_of(stub.Count, pb.CountRequest(collection=vectors, filter=filter))
        assert err.code() == Code.INVALID_ARGUMENT
        return str(err.details())

    no_test = pb.Filter(all=[equals("tag", "x"), pb.Filter(condition=pb.Condition(key="n"))])
    assert problem(no_test).startswith("filter.all[1].condition: no test")
    null = pb.Filter(
        condition=pb.Condition(key="n", equals=struct_pb2.Value(null_value=struct_pb2.NULL_VALUE))
    )
    assert problem(null).startswith("filter.condition.equals: expected a string, number or bool")
    no_key = pb.Filter(any=[pb.Filter(condition=pb.Condition(exists=True))])
    assert problem(no_key).startswith("filter.any[0].condition.key")
    # The core's own checks, reached through Search.
    no_bounds = pb.Filter(condition=pb.Condition(key="n", range=pb.Range()))
    request = pb.SearchRequest(collection=vectors, query=pb.SearchQuery(id="a"), filter=no_bounds)
    err = error_of(stub.Search, request)
    assert err.code() == Code.INVALID_ARGUMENT
    assert err.details().startswith("filter.condition.range")


def test_scroll_pages_and_limit(stub: pb_grpc.CollectionsStub, vectors: str) -> None:
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        reply = stub.Scroll(
            pb.ScrollRequest(collection=vectors, page_token=token, limit=3), timeout=TIMEOUT
        )
        assert len(reply.documents) <= 3
        seen += [d.id for d in reply.documents]
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert seen == ["a", "b", "c", "d"] and pages == 2
    # limit left unset: the server's default page, which holds all four.
    reply = stub.Scroll(pb.ScrollRequest(collection=vectors), timeout=TIMEOUT)
    assert [d.id for d in reply.documents] == ["a", "b", "c", "d"]
    assert reply.next_page_token == ""


def test_delete_by_ids_and_filter(stub: pb_grpc.CollectionsStub) -> None:
    name = "api-delete"
    stub.CreateCollection(pb.CreateCollectionRequest(name=name, dimension=2), timeout=TIMEOUT)
    documents = [
        pb.Document(id=str(i), vector=vec(1, i), metadata=struct(even=i % 2 == 0)) for i in range(6)
    ]
    stub.Upsert(pb.UpsertRequest(collection=name, documents=documents), timeout=TIMEOUT)
    deleted = stub.Delete(pb.DeleteRequest(collection=name, ids=["0", "1", "nope"]))
    assert deleted.deleted == 2
    deleted = stub.Delete(pb.DeleteRequest(collection=name, filter=equals("even", True)))
    assert deleted.deleted == 2  # 2 and 4
    assert stub.Count(pb.CountRequest(collection=name), timeout=TIMEOUT).count == 2
    stub.DeleteCollection(pb.DeleteCollectionRequest(name=name), timeout=TIMEOUT)
    err = error_of(stub.GetCollection, pb.GetCollectionRequest(name=name))
    assert err.code() == Code.NOT_FOUND


def test_a_collection_is_a_space_for_arithmetic(channel: grpc.Channel, vectors: str) -> None:
    arithmetic = pb_grpc.ArithmeticStub(channel)
    reply = arithmetic.Nearest(
        pb.NearestRequest(space=vectors, query=[pb.Term(key="a")], k=1), timeout=TIMEOUT
    )
    assert [n.key for n in reply.neighbors] == ["d"]
