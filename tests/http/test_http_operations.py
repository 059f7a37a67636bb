"""The HTTP twin's operations: the same API keys as gRPC (401, 403, health and the page
open), TLS and mutual TLS, /health following the server's state, /metrics counting HTTP
calls in the same series, a body over the message limit refused, the OpenAPI document
(a path per RPC, every reference resolved, real requests valid against their schemas)
and /docs served with no CDN."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from google.protobuf import json_format
from pki import Pki, make_pki

from latent.v1 import latent_pb2 as pb
from latentd.config import Settings
from latentd.testing import free_port, start_test_http_server

READ_WRITE = "rw-http-key-0123456789abcdef01"
READ_ONLY = "ro-http-key-0123456789abcdef01"


@pytest.fixture(scope="module")
def keyed_url(tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(
        api_keys=(READ_WRITE,), read_only_api_keys=(READ_ONLY,), metrics_port=free_port()
    )
    cache = tmp_path_factory.mktemp("cache")
    with start_test_http_server(tiny_kv, cache, sentence_model=False, settings=settings) as (
        _,
        url,
    ):
        yield url


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_calls_need_a_key(keyed_url: str) -> None:
    request = {"query": [{"key": "cat"}]}
    missing = httpx.post(f"{keyed_url}/v1/Arithmetic/Nearest", json=request)
    assert missing.status_code == 401
    assert missing.json()["code"] == "UNAUTHENTICATED"
    wrong = httpx.post(f"{keyed_url}/v1/Arithmetic/Nearest", json=request, headers=bearer("x" * 30))
    assert wrong.status_code == 401
    assert "x" * 30 not in wrong.text
    good = httpx.post(f"{keyed_url}/v1/Arithmetic/Nearest", json=request, headers=bearer(READ_ONLY))
    assert good.status_code == 200


def test_a_read_only_key_cannot_write_and_nothing_changes(keyed_url: str) -> None:
    create = {"name": "ro-try", "dimension": 2}
    refused = httpx.post(
        f"{keyed_url}/v1/Collections/CreateCollection", json=create, headers=bearer(READ_ONLY)
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "PERMISSION_DENIED"
    listed = httpx.post(
        f"{keyed_url}/v1/Collections/ListCollections", json={}, headers=bearer(READ_ONLY)
    )
    assert listed.json()["collections"] == []


def test_health_the_page_and_the_docs_need_no_key(keyed_url: str) -> None:
    assert httpx.get(f"{keyed_url}/health").json() == {"status": "SERVING"}
    assert httpx.get(f"{keyed_url}/").status_code == 200
    assert httpx.get(f"{keyed_url}/openapi.json").status_code == 200


def test_openai_with_and_without_the_key(keyed_url: str) -> None:
    wrong = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="wrong", max_retries=0)
    with wrong as client, pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model="tiny", input="king")
    with openai.OpenAI(base_url=f"{keyed_url}/v1", api_key=READ_ONLY, max_retries=0) as client:
        assert len(client.embeddings.create(model="tiny", input="king").data) == 1


def test_metrics_need_a_key_and_count_http_calls(keyed_url: str) -> None:
    assert httpx.get(f"{keyed_url}/metrics").status_code == 401
    httpx.post(f"{keyed_url}/v1/Arithmetic/Analogy", json={}, headers=bearer(READ_ONLY))
    text = httpx.get(f"{keyed_url}/metrics", headers=bearer(READ_ONLY)).text
    assert re.search(
        r'latent_requests_total\{code="INVALID_ARGUMENT",method="latent.v1.Arithmetic/Analogy"\}',
        text,
    )
    assert re.search(r'latent_requests_total\{code="UNAUTHENTICATED",', text)


def test_no_metrics_route_without_metrics(http: httpx.Client) -> None:
    assert http.get("/metrics").status_code == 404


def test_a_body_over_the_message_limit_is_refused(
    tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = Settings(max_message_mb=1)
    cache = tmp_path_factory.mktemp("cache")
    with start_test_http_server(tiny_kv, cache, sentence_model=False, settings=settings) as (
        _,
        url,
    ):
        big = {"inputs": ["word"] * 300_000}  # about 2.4 MB of JSON
        response = httpx.post(f"{url}/v1/Embeddings/Encode", json=big, timeout=30)
        assert response.status_code == 429
        assert response.json()["code"] == "RESOURCE_EXHAUSTED"
        assert "max_message_mb" in response.json()["message"]
        small = {"model": "tiny", "inputs": ["king"]}
        assert httpx.post(f"{url}/v1/Embeddings/Encode", json=small).is_success


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_tls_and_mutual_tls(tiny_kv: Any, pki: Pki, tmp_path: Path) -> None:
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca)
    with start_test_http_server(tiny_kv, tmp_path, sentence_model=False, settings=settings) as (
        _,
        url,
    ):
        assert url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(pki.ca))
        with pytest.raises(httpx.HTTPError):  # no client certificate: the handshake fails
            httpx.get(f"{url}/health", verify=trusted)
        with pytest.raises(httpx.HTTPError):  # a plaintext client gets nowhere either
            httpx.get(url.replace("https://", "http://") + "/health")
        trusted.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        answer = httpx.post(
            f"{url}/v1/Arithmetic/Nearest", json={"query": [{"key": "cat"}]}, verify=trusted
        )
        assert answer.status_code == 200
        assert len(answer.json()["neighbors"]) == 10


def test_openapi_has_every_rpc_with_resolvable_schemas(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for service in pb.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            operation = document["paths"][f"/v1/{service.name}/{method.name}"]["post"]
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{method.input_type.full_name}"}
    for reference in re.findall(r'"#/components/schemas/([^"]+)"', str(document).replace("'", '"')):
        assert reference in schemas, reference
    assert "/v1/embeddings" in document["paths"]


@pytest.mark.parametrize(
    "message",
    [
        pb.AnalogyRequest(positive=[pb.Term(key="king"), pb.Term(text="a woman")], k=3),
        pb.SearchRequest(
            collection="c",
            query=pb.SearchQuery(text="hi"),
            filter=pb.Filter(all=[pb.Filter(condition=pb.Condition(key="n", exists=True))]),
        ),
        pb.UpsertRequest(
            collection="c", documents=[pb.Document(id="a", vector=pb.Vector(packed=b"\0" * 8))]
        ),
        pb.CollectionInfo(name="c", count=12, disk_bytes=2**40),
    ],
)
def test_real_messages_are_valid_against_their_schemas(http: httpx.Client, message: Any) -> None:
    document = http.get("/openapi.json").json()
    name = message.DESCRIPTOR.full_name
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    instance = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"noSuchField": 1}, schema, cls=jsonschema.Draft202012Validator)


def test_docs_need_no_cdn(http: httpx.Client) -> None:
    page = http.get("/docs").text
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == []
    scripts = re.findall(r'src="([^"]+\.js)"', page)
    assert scripts
    for script in scripts:
        assert http.get(script).status_code == 200


def test_health_follows_the_server_state(tiny_kv: Any, tmp_path: Path) -> None:
    from latentd.testing import _running_test_server

    with _running_test_server(tiny_kv, tmp_path, "tiny", False, None, None) as running:
        port = running.start_http("127.0.0.1", 0)
        url = f"http://127.0.0.1:{port}/health"
        assert httpx.get(url).json() == {"status": "SERVING"}
        running.set_serving(False)
        not_serving = httpx.get(url)
        assert (not_serving.status_code, not_serving.json()) == (503, {"status": "NOT_SERVING"})


def test_a_call_whose_client_has_gone_is_stopped(tiny_kv: Any, tmp_path: Path) -> None:
    import threading

    import grpc

    from latentd.http.calls import HttpCallContext, run_call
    from latentd.testing import _running_test_server

    queries = [pb.NearestQuery(query=[pb.Term(key=f"word{i}")]) for i in range(200)]
    request = pb.BatchNearestRequest(queries=queries, options=pb.QueryOptions(exact=True))
    method = "/latent.v1.Arithmetic/BatchNearest"
    with _running_test_server(tiny_kv, tmp_path, "tiny", False, None, None) as running:
        here = HttpCallContext((), "http:test", (threading.Event(),))
        assert run_call(running.pipeline, method, request, here).code is grpc.StatusCode.OK
        disconnected = threading.Event()
        disconnected.set()
        gone = HttpCallContext((), "http:test", (disconnected,))
        outcome = run_call(running.pipeline, method, request, gone)
        assert outcome.code is grpc.StatusCode.CANCELLED
        assert outcome.response is None


def test_a_taken_http_port_fails_with_one_line_naming_the_flag(
    tiny_kv: Any, tmp_path: Path
) -> None:
    import socket

    from latentd.http.server import HttpPortUnavailable
    from latentd.testing import _running_test_server

    with (
        socket.socket() as taken,
        _running_test_server(tiny_kv, tmp_path, "tiny", False, None, None) as running,
    ):
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            HttpPortUnavailable, match=f"http port {port} on 127.0.0.1 is in use"
        ) as raised:
            running.start_http("127.0.0.1", port)
        assert "--http-port (env LATENT_HTTP_PORT)" in str(raised.value)
