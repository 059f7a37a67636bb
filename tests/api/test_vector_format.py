"""Vectors packed as little-endian float32 bytes, both ways, over a real server on port 0:
a request may send `Vector.packed` instead of `values`; a response packs its vectors when
the request's `vector_format` is PACKED, with the very floats FLOATS gives; bad packed
bytes and an unknown format are INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import numpy as np
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

TEXTS = ["a kitten sleeps", "the central bank raised interest rates", "Hi"]


@pytest.fixture(scope="module")
def channel(server_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server_target) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


def packed(values: np.ndarray) -> pb.Vector:
    return pb.Vector(packed=np.asarray(values, "<f4").tobytes())


def unpacked(vector: pb.Vector) -> np.ndarray:
    assert not vector.values
    return np.frombuffer(vector.packed, "<f4")


def error_of(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call(request)
    return caught.value


def test_encode_packs_the_same_floats(channel: grpc.Channel) -> None:
    stub = pb_grpc.EmbeddingsStub(channel)
    floats = stub.Encode(pb.EncodeRequest(inputs=TEXTS))
    packs = stub.Encode(pb.EncodeRequest(inputs=TEXTS, vector_format=pb.PACKED))
    assert all(e.vector.values and not e.vector.packed for e in floats.embeddings)  # default
    for f, p in zip(floats.embeddings, packs.embeddings, strict=True):
        np.testing.assert_array_equal(unpacked(p.vector), np.asarray(f.vector.values, "<f4"))
        assert len(p.vector.packed) == 4 * floats.dimension


def test_interpolate_packs_its_points(channel: grpc.Channel) -> None:
    stub = pb_grpc.ArithmeticStub(channel)
    request = pb.InterpolateRequest(start=pb.Term(key="king"), end=pb.Term(key="queen"), steps=4)
    floats = stub.Interpolate(request)
    request.vector_format = pb.PACKED
    packs = stub.Interpolate(request)
    for f, p in zip(floats.points, packs.points, strict=True):
        np.testing.assert_array_equal(unpacked(p.vector), np.asarray(f.vector.values, "<f4"))


def test_packed_request_vectors_equal_float_ones(channel: grpc.Channel) -> None:
    arithmetic = pb_grpc.ArithmeticStub(channel)
    query = np.random.default_rng(3).standard_normal(16).astype(np.float32)
    by_floats = arithmetic.Nearest(
        pb.NearestRequest(query=[pb.Term(vector=pb.Vector(values=query))])
    )
    by_packed = arithmetic.Nearest(pb.NearestRequest(query=[pb.Term(vector=packed(query))]))
    assert [(n.key, n.score) for n in by_packed.neighbors] == [
        (n.key, n.score) for n in by_floats.neighbors
    ]


def test_collections_take_and_give_packed_vectors(channel: grpc.Channel) -> None:
    stub = pb_grpc.CollectionsStub(channel)
    name = f"packed-{uuid.uuid4().hex[:8]}"
    stub.CreateCollection(pb.CreateCollectionRequest(name=name, dimension=4))
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3, 4)).astype(np.float32)
    stub.Upsert(
        pb.UpsertRequest(
            collection=name,
            documents=[pb.Document(id=f"d{i}", vector=packed(v)) for i, v in enumerate(vectors)],
        )
    )
    got = stub.Get(
        pb.GetRequest(collection=name, ids=["d1"], with_vector=True, vector_format=pb.PACKED)
    )
    stored = unpacked(got.documents[0].vector)
    # Stored as given (cosine collections keep the raw vector; the index has unit ones).
    np.testing.assert_allclose(stored, vectors[1], rtol=1e-6)
    page = stub.Scroll(pb.ScrollRequest(collection=name, with_vector=True, vector_format=pb.PACKED))
    assert [d.id for d in page.documents] == ["d0", "d1", "d2"]
    assert all(len(d.vector.packed) == 16 for d in page.documents)
    hits = stub.Search(
        pb.SearchRequest(
            collection=name,
            query=pb.SearchQuery(vector=packed(vectors[2])),
            k=1,
            with_vector=True,
            vector_format=pb.PACKED,
        )
    )
    assert hits.hits[0].id == "d2"
    np.testing.assert_allclose(unpacked(hits.hits[0].vector), vectors[2], rtol=1e-6)
    batch = stub.BatchSearch(
        pb.BatchSearchRequest(
            collection=name,
            queries=[pb.SearchQuery(vector=packed(v)) for v in vectors],
            k=1,
            with_vector=True,
            vector_format=pb.PACKED,
        )
    )
    assert [r.hits[0].id for r in batch.results] == ["d0", "d1", "d2"]
    assert all(r.hits[0].vector.packed for r in batch.results)
    stub.DeleteCollection(pb.DeleteCollectionRequest(name=name))


def test_bad_packed_bytes_name_the_field(channel: grpc.Channel) -> None:
    arithmetic = pb_grpc.ArithmeticStub(channel)
    bad = pb.Vector(packed=b"\x00" * 7)
    error = error_of(
        arithmetic.Analogy,
        pb.AnalogyRequest(positive=[pb.Term(key="king"), pb.Term(vector=bad)]),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("positive[1].vector.packed: 7 bytes")
    both = pb.Vector(values=[1.0] * 16, packed=b"\x00" * 64)
    error = error_of(
        arithmetic.BatchNearest,
        pb.BatchNearestRequest(
            queries=[
                pb.NearestQuery(query=[pb.Term(key="king")]),
                pb.NearestQuery(query=[pb.Term(vector=both)]),
            ]
        ),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("queries[1].query[0].vector: set values or packed")
    collections = pb_grpc.CollectionsStub(channel)
    name = f"bad-packed-{uuid.uuid4().hex[:8]}"
    collections.CreateCollection(pb.CreateCollectionRequest(name=name, dimension=4))
    error = error_of(
        collections.Upsert,
        pb.UpsertRequest(
            collection=name, documents=[pb.Document(id="x", vector=pb.Vector(packed=b"\x01"))]
        ),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("documents[0].vector.packed: 1 bytes")
    assert collections.Count(pb.CountRequest(collection=name)).count == 0
    collections.DeleteCollection(pb.DeleteCollectionRequest(name=name))


def test_an_unknown_vector_format_is_invalid_argument(channel: grpc.Channel) -> None:
    stub = pb_grpc.EmbeddingsStub(channel)
    error = error_of(stub.Encode, pb.EncodeRequest(inputs=["x"], vector_format=7))  # type: ignore[arg-type]
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("vector_format: unknown value 7")
