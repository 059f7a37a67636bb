"""The gRPC edge over a real server on port 0: status codes, messages, health,
reflection, and that the server keeps serving after bad input."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

Code = grpc.StatusCode


@pytest.fixture(scope="module")
def channel(server_target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server_target) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        yield ch


@pytest.fixture(scope="module")
def arithmetic(channel: grpc.Channel) -> pb_grpc.ArithmeticStub:
    return pb_grpc.ArithmeticStub(channel)


@pytest.fixture(scope="module")
def embeddings(channel: grpc.Channel) -> pb_grpc.EmbeddingsStub:
    return pb_grpc.EmbeddingsStub(channel)


def key(word: str, weight: float | None = None) -> pb.Term:
    return pb.Term(key=word) if weight is None else pb.Term(key=word, weight=weight)


def vector(values: np.ndarray) -> pb.Term:
    return pb.Term(vector=pb.Vector(values=list(values)))


def error_of(call, request) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call(request, timeout=30)
    return err.value


def test_health_serving_for_every_service(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "latent.v1.Models", "latent.v1.Embeddings", "latent.v1.Arithmetic"):
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_services(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [reply] = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    names = {s.name for s in reply.list_services_response.service}
    assert {
        "latent.v1.Models",
        "latent.v1.Embeddings",
        "latent.v1.Arithmetic",
        "grpc.health.v1.Health",
    } <= names


def test_list_models(channel: grpc.Channel) -> None:
    models = {
        m.name: m
        for m in pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=10).models
    }
    tiny, minilm = models["tiny"], models["all-minilm-l6-v2"]
    assert (tiny.kind, tiny.dimension, tiny.num_keys) == (pb.WORD, 16, 214)
    assert tiny.index_state == pb.HNSW and tiny.is_default
    assert (minilm.kind, minilm.dimension, minilm.max_tokens) == (pb.SENTENCE, 384, 256)
    assert minilm.is_default and minilm.num_keys == 0


def test_analogy_over_grpc(arithmetic: pb_grpc.ArithmeticStub) -> None:
    reply = arithmetic.Analogy(
        pb.AnalogyRequest(positive=[key("King"), key("woman")], negative=[key("man")], k=3),
        timeout=10,
    )
    assert reply.space == "tiny"
    assert reply.neighbors[0].key == "queen"
    assert reply.positive[0].input == "King" and reply.positive[0].key == "king"
    assert reply.searched_with == pb.HNSW
    exact = arithmetic.Analogy(
        pb.AnalogyRequest(
            positive=[key("king"), key("woman")],
            negative=[key("man")],
            k=3,
            method=pb.COSMUL,
            options=pb.QueryOptions(exact=True),
        ),
        timeout=10,
    )
    assert exact.neighbors[0].key == "queen" and exact.searched_with == pb.EXACT


def test_batch_forms_answer_each_query_in_order(arithmetic: pb_grpc.ArithmeticStub) -> None:
    queries = [
        pb.AnalogyQuery(positive=[key("king"), key("woman")], negative=[key("man")]),
        pb.AnalogyQuery(positive=[key("cat")]),
    ]
    reply = arithmetic.BatchAnalogy(pb.BatchAnalogyRequest(queries=queries, k=2), timeout=10)
    assert len(reply.results) == 2
    assert reply.results[0].neighbors[0].key == "queen"
    single = arithmetic.Nearest(pb.NearestRequest(query=[key("cat")], k=2), timeout=10)
    assert reply.results[1].neighbors == single.neighbors
    nearest = arithmetic.BatchNearest(
        pb.BatchNearestRequest(
            queries=[pb.NearestQuery(query=[key("cat")]), pb.NearestQuery(query=[key("queen")])],
            k=2,
        ),
        timeout=10,
    )
    assert len(nearest.results) == 2 and nearest.results[0].neighbors == single.neighbors


def test_interpolate_similarity_doesnt_match(arithmetic: pb_grpc.ArithmeticStub) -> None:
    reply = arithmetic.Interpolate(
        pb.InterpolateRequest(start=key("cat"), end=key("dog"), steps=4, path=pb.SLERP, k=2),
        timeout=10,
    )
    assert [round(p.t, 4) for p in reply.points] == [0.0, 0.3333, 0.6667, 1.0]
    assert all(len(p.vector.values) == 16 and len(p.neighbors) == 2 for p in reply.points)
    sim = arithmetic.Similarity(
        pb.SimilarityRequest(a=[key("cat"), key("king")], b=[key("dog"), key("queen"), key("cat")]),
        timeout=10,
    )
    assert (sim.rows, sim.cols, len(sim.scores)) == (2, 3, 6)
    assert sim.scores[2] == pytest.approx(1.0, abs=1e-5)
    odd = arithmetic.DoesntMatch(
        pb.DoesntMatchRequest(terms=[key("cat"), key("dog"), key("kitten"), key("queen")]),
        timeout=10,
    )
    assert (odd.key, odd.index) == ("queen", 3)


def test_sentence_similarity_and_encode(
    arithmetic: pb_grpc.ArithmeticStub, embeddings: pb_grpc.EmbeddingsStub
) -> None:
    sim = arithmetic.Similarity(
        pb.SimilarityRequest(
            space="all-minilm-l6-v2",
            a=[pb.Term(text="a cat sat on the mat")],
            b=[pb.Term(text="a kitten rested on a rug"), pb.Term(text="quarterly tax filing")],
        ),
        timeout=30,
    )
    assert sim.scores[0] > sim.scores[1] + 0.2
    reply = embeddings.Encode(pb.EncodeRequest(inputs=["hello world", "a second one"]), timeout=30)
    assert reply.model == "all-minilm-l6-v2" and reply.dimension == 384
    vectors = np.array([e.vector.values for e in reply.embeddings])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    short = embeddings.Encode(pb.EncodeRequest(inputs=["hello world"], dimensions=64), timeout=30)
    assert len(short.embeddings[0].vector.values) == 64
    np.testing.assert_allclose(np.linalg.norm(short.embeddings[0].vector.values), 1.0, atol=1e-5)
    # all-MiniLM-L6-v2 ends in a Normalize module: only the cut vector is shorter than 1.
    raw = embeddings.Encode(
        pb.EncodeRequest(inputs=["hello world"], dimensions=64, normalize=False), timeout=30
    )
    assert np.linalg.norm(raw.embeddings[0].vector.values) < 0.9


def test_encode_word_model_lists_unknown_tokens(embeddings: pb_grpc.EmbeddingsStub) -> None:
    reply = embeddings.Encode(pb.EncodeRequest(model="tiny", inputs=["cat zzz", "dog"]), timeout=10)
    assert reply.dimension == 16
    assert list(reply.embeddings[0].unknown_tokens) == ["zzz"]
    assert list(reply.embeddings[1].unknown_tokens) == []


def test_encode_too_long_input(embeddings: pb_grpc.EmbeddingsStub) -> None:
    long_text = "word " * 400
    err = error_of(embeddings.Encode, pb.EncodeRequest(inputs=["short", long_text]))
    assert err.code() == Code.INVALID_ARGUMENT
    assert "inputs[1]" in err.details() and "256" in err.details()
    reply = embeddings.Encode(
        pb.EncodeRequest(inputs=["short", long_text], truncate=True), timeout=30
    )
    assert [e.truncated for e in reply.embeddings] == [False, True]


BAD = [
    (
        "Analogy",
        pb.AnalogyRequest(positive=[key("kingg")], negative=[key("mann")]),
        Code.NOT_FOUND,
        ["'kingg'", "'mann'", "did you mean: king"],
    ),
    (
        "Analogy",
        pb.AnalogyRequest(space="nope", positive=[key("king")]),
        Code.NOT_FOUND,
        ["'nope'", "tiny", "all-minilm-l6-v2"],
    ),
    (
        "Analogy",
        pb.AnalogyRequest(positive=[key("king")], k=0),
        Code.INVALID_ARGUMENT,
        ["k", "1 and 1000", "got 0"],
    ),
    (
        "Analogy",
        pb.AnalogyRequest(positive=[key("king")], k=1001),
        Code.INVALID_ARGUMENT,
        ["k", "1000"],
    ),
    (
        "Analogy",
        pb.AnalogyRequest(positive=[]),
        Code.INVALID_ARGUMENT,
        ["positive", "must not be empty"],
    ),
    (
        "Analogy",
        pb.AnalogyRequest(positive=[key("king")], method=7),
        Code.INVALID_ARGUMENT,
        ["method", "7", "COSADD", "COSMUL"],
    ),
    (
        "Interpolate",
        pb.InterpolateRequest(start=key("cat"), end=key("dog"), path=9),
        Code.INVALID_ARGUMENT,
        ["path", "LERP", "SLERP"],
    ),
    (
        "Nearest",
        pb.NearestRequest(query=[vector(np.ones(3))]),
        Code.INVALID_ARGUMENT,
        ["query[0].vector", "expected 16", "got 3"],
    ),
    (
        "Nearest",
        pb.NearestRequest(query=[vector(np.full(16, np.nan))]),
        Code.INVALID_ARGUMENT,
        ["query[0].vector", "NaN"],
    ),
    (
        "Nearest",
        pb.NearestRequest(query=[vector(np.full(16, np.inf))]),
        Code.INVALID_ARGUMENT,
        ["Inf"],
    ),
    (
        "Nearest",
        pb.NearestRequest(query=[vector(np.zeros(16))]),
        Code.INVALID_ARGUMENT,
        ["all zeros"],
    ),
    (
        "Nearest",
        pb.NearestRequest(query=[pb.Term(text="")]),
        Code.INVALID_ARGUMENT,
        ["query[0].text", "empty"],
    ),
    (
        "Nearest",
        pb.NearestRequest(space="all-minilm-l6-v2", query=[pb.Term(text="x")]),
        Code.FAILED_PRECONDITION,
        ["sentence model", "no keys"],
    ),
    (
        "Similarity",
        pb.SimilarityRequest(space="all-minilm-l6-v2", a=[key("cat")], b=[key("dog")]),
        Code.INVALID_ARGUMENT,
        ["a[0].key", "send the text"],
    ),
    ("Encode", pb.EncodeRequest(inputs=[]), Code.INVALID_ARGUMENT, ["inputs", "empty"]),
    (
        "Encode",
        pb.EncodeRequest(inputs=["x"] * 257),
        Code.INVALID_ARGUMENT,
        ["inputs", "at most 256"],
    ),
    (
        "Encode",
        pb.EncodeRequest(inputs=["x" * 10_001]),
        Code.INVALID_ARGUMENT,
        ["inputs[0]", "10000 characters"],
    ),
    ("Encode", pb.EncodeRequest(inputs=["ok", " "]), Code.INVALID_ARGUMENT, ["inputs[1]", "empty"]),
    ("Encode", pb.EncodeRequest(model="nope", inputs=["x"]), Code.NOT_FOUND, ["model", "'nope'"]),
    (
        "Encode",
        pb.EncodeRequest(inputs=["x"], dimensions=1000),
        Code.INVALID_ARGUMENT,
        ["dimensions", "384"],
    ),
    (
        "Encode",
        pb.EncodeRequest(inputs=["x"], prompt_name="no-such-prompt"),
        Code.INVALID_ARGUMENT,
        ["prompt_name", "'no-such-prompt'"],
    ),
    (
        "BatchNearest",
        pb.BatchNearestRequest(
            queries=[pb.NearestQuery(query=[key("cat")]), pb.NearestQuery(query=[key("zzzq")])]
        ),
        Code.NOT_FOUND,
        ["queries[1].query[0]", "'zzzq'"],
    ),
]


@pytest.mark.parametrize(
    ("method", "request_", "code", "parts"), BAD, ids=[f"{m}-{i}" for i, (m, *_) in enumerate(BAD)]
)
def test_bad_input_gets_clear_error_and_server_keeps_serving(
    channel: grpc.Channel, method: str, request_: object, code: grpc.StatusCode, parts: list[str]
) -> None:
    stub = (
        pb_grpc.EmbeddingsStub(channel) if method == "Encode" else pb_grpc.ArithmeticStub(channel)
    )
    err = error_of(getattr(stub, method), request_)
    assert err.code() == code, err.details()
    for part in parts:
        assert part in err.details()
    reply = pb_grpc.ArithmeticStub(channel).Nearest(
        pb.NearestRequest(query=[key("cat")], k=1), timeout=10
    )
    assert reply.neighbors[0].key == "kitten"


def test_k_above_space_size_returns_whole_space(arithmetic: pb_grpc.ArithmeticStub) -> None:
    reply = arithmetic.Nearest(pb.NearestRequest(query=[key("cat")], k=1000), timeout=10)
    assert len(reply.neighbors) == 213
