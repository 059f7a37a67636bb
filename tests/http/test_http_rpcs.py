"""The HTTP/JSON twin over a real server: every RPC of the proto is a route, answers
equal the gRPC answers, errors carry the gRPC code's HTTP status and `{code, message}`
and change nothing, the timing metadata comes back as headers, and collections work end
to end in proto3 JSON (Struct metadata, 64-bit counts as strings)."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from google.protobuf import json_format

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.http.routes import rpc_routes
from latentd.http.status import HTTP_STATUS_OF, http_status

KING_QUEEN = {
    "positive": [{"key": "king"}, {"key": "woman"}],
    "negative": [{"key": "man"}],
    "k": 3,
}


def proto_methods() -> set[str]:
    return {
        f"/v1/{service.name}/{method.name}"
        for service in pb.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


def test_every_rpc_of_the_proto_is_a_route_that_answers_in_json(http: httpx.Client) -> None:
    assert {route.path for route in rpc_routes()} == proto_methods()
    for path in sorted(proto_methods()):
        response = http.post(path, json={})
        body = response.json()
        # An answer of the method itself: a response message, or its status (an empty
        # request is invalid for most); never the router's 404/405 nor an internal error.
        if response.status_code == 200:
            assert "detail" not in body, path
        else:
            assert set(body) == {"code", "message"}, (path, body)
            assert body["code"] in {"INVALID_ARGUMENT", "NOT_FOUND"}, (path, body)
            assert response.status_code == http_status(grpc.StatusCode[body["code"]])


def grpc_answer(target: str, call: str, request: Any) -> dict[str, Any]:
    with grpc.insecure_channel(target) as channel:
        stub = {
            "Analogy": pb_grpc.ArithmeticStub(channel).Analogy,
            "Nearest": pb_grpc.ArithmeticStub(channel).Nearest,
            "Similarity": pb_grpc.ArithmeticStub(channel).Similarity,
            "Encode": pb_grpc.EmbeddingsStub(channel).Encode,
            "ListModels": pb_grpc.ModelsStub(channel).ListModels,
        }[call]
        response = stub(request, timeout=60)
    return json_format.MessageToDict(response, always_print_fields_with_no_presence=True)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/Arithmetic/Analogy", KING_QUEEN, pb.AnalogyRequest),
        ("/v1/Arithmetic/Nearest", {"query": [{"key": "cat"}], "k": 4}, pb.NearestRequest),
        (
            "/v1/Arithmetic/Similarity",
            {"a": [{"key": "king"}], "b": [{"key": "queen"}, {"key": "dog"}]},
            pb.SimilarityRequest,
        ),
        ("/v1/Embeddings/Encode", {"inputs": ["a cat sat", "the king"]}, pb.EncodeRequest),
        ("/v1/Models/ListModels", {}, pb.ListModelsRequest),
    ],
)
def test_answers_equal_the_grpc_answers(
    http: httpx.Client, http_servers: tuple[str, str], path: str, body: Any, message: Any
) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    request = json_format.ParseDict(body, message())
    expected = grpc_answer(http_servers[0], path.rsplit("/", 1)[1], request)
    if "embeddings" in expected:  # the same model, the same floats; compare closely
        got = [e["vector"]["values"] for e in response.json()["embeddings"]]
        want = [e["vector"]["values"] for e in expected["embeddings"]]
        assert np.allclose(got, want, atol=1e-5)
        return
    assert response.json() == expected


def test_king_minus_man_plus_woman_is_queen(http: httpx.Client) -> None:
    body = http.post("/v1/Arithmetic/Analogy", json=KING_QUEEN).json()
    assert body["neighbors"][0]["key"] == "queen"
    assert body["space"] == "tiny"


def test_an_unknown_key_is_404_naming_it_and_the_server_keeps_serving(http: httpx.Client) -> None:
    response = http.post("/v1/Arithmetic/Analogy", json={"positive": [{"key": "qwertyzz"}]})
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert "qwertyzz" in body["message"]
    assert http.post("/v1/Arithmetic/Analogy", json=KING_QUEEN).status_code == 200


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"positiv": []}', "positiv"),
        (b'{"k": "many"}', "k"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_body_that_is_not_the_request_message_is_400(
    http: httpx.Client, content: bytes, named: str
) -> None:
    response = http.post(
        "/v1/Arithmetic/Analogy", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert named in body["message"]
    assert "latent.v1.AnalogyRequest" in body["message"]


def test_an_invalid_argument_of_the_core_is_400_naming_the_field(http: httpx.Client) -> None:
    response = http.post("/v1/Arithmetic/Nearest", json={"query": [{"key": "cat"}], "k": 100000})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_ARGUMENT"
    assert "k" in response.json()["message"]


def test_snake_case_names_are_read_too(http: httpx.Client) -> None:
    body = {"query": [{"key": "cat"}], "k": 2, "options": {"include_inputs": True}}
    keys = [n["key"] for n in http.post("/v1/Arithmetic/Nearest", json=body).json()["neighbors"]]
    assert keys[0] == "cat"


def test_the_status_mapping_covers_every_grpc_code() -> None:
    assert set(HTTP_STATUS_OF) == set(grpc.StatusCode)
    assert HTTP_STATUS_OF[grpc.StatusCode.INVALID_ARGUMENT] == 400
    assert HTTP_STATUS_OF[grpc.StatusCode.NOT_FOUND] == 404
    assert HTTP_STATUS_OF[grpc.StatusCode.UNAUTHENTICATED] == 401
    assert HTTP_STATUS_OF[grpc.StatusCode.PERMISSION_DENIED] == 403
    assert HTTP_STATUS_OF[grpc.StatusCode.RESOURCE_EXHAUSTED] == 429
    assert HTTP_STATUS_OF[grpc.StatusCode.UNAVAILABLE] == 503


def test_request_id_and_timing_come_back_as_headers(http: httpx.Client) -> None:
    response = http.post(
        "/v1/Embeddings/Encode", json={"inputs": ["hello there"]}, headers={"x-request-id": "abc-1"}
    )
    assert response.headers["x-request-id"] == "abc-1"
    assert float(response.headers["x-total-time"]) > 0
    assert float(response.headers["x-inference-time"]) > 0
    assert int(response.headers["x-compute-tokens"]) >= 4  # [CLS] hello there [SEP]
    failed = http.post("/v1/Arithmetic/Analogy", json={"positive": [{"key": "qwertyzz"}]})
    assert len(failed.headers["x-request-id"]) == 32  # made by the server: uuid4 hex


def test_packed_vectors_are_base64_in_json(http: httpx.Client) -> None:
    import base64

    floats = http.post("/v1/Embeddings/Encode", json={"inputs": ["tea"]}).json()
    packed = http.post(
        "/v1/Embeddings/Encode", json={"inputs": ["tea"], "vectorFormat": "PACKED"}
    ).json()
    raw = base64.b64decode(packed["embeddings"][0]["vector"]["packed"])
    values = np.frombuffer(raw, dtype="<f4")
    assert values.tolist() == pytest.approx(floats["embeddings"][0]["vector"]["values"], abs=1e-6)


def test_a_collection_over_http_from_create_to_delete(http: httpx.Client) -> None:
    create = {"name": "http-notes", "dimension": 3, "metric": "COSINE"}
    assert http.post("/v1/Collections/CreateCollection", json=create).status_code == 200
    documents = [
        {"id": "a", "vector": {"values": [1, 0, 0]}, "metadata": {"lang": "en", "year": 2020}},
        {"id": "b", "vector": {"values": [0.9, 0.1, 0]}, "metadata": {"lang": "fr", "year": 2021}},
        {"id": "c", "vector": {"values": [0, 0, 1]}, "metadata": {"lang": "en", "year": 2022}},
    ]
    upserted = http.post(
        "/v1/Collections/Upsert", json={"collection": "http-notes", "documents": documents}
    )
    assert upserted.json() == {"upserted": 3}
    info = http.post("/v1/Collections/GetCollection", json={"name": "http-notes"}).json()
    assert info["count"] == "3"  # proto3 JSON: 64-bit integers are strings
    search = {
        "collection": "http-notes",
        "query": {"vector": {"values": [1, 0, 0]}},
        "k": 3,
        "filter": {"condition": {"key": "lang", "equals": "en"}},
        "withMetadata": True,
    }
    hits = http.post("/v1/Collections/Search", json=search).json()["hits"]
    assert [hit["id"] for hit in hits] == ["a", "c"]
    assert hits[0]["metadata"] == {"lang": "en", "year": 2020}
    again = http.post("/v1/Collections/CreateCollection", json=create)
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_EXISTS")
    assert http.post("/v1/Collections/DeleteCollection", json={"name": "http-notes"}).json() == {}
    gone = http.post("/v1/Collections/GetCollection", json={"name": "http-notes"})
    assert gone.status_code == 404
