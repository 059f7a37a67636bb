"""Prometheus metrics of a real in-process server, scraped over HTTP: requests by method
and code, latency histograms, Encode batching, index states, collection sizes, RSS; and
the code of a call an inner interceptor refused."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

import latent
from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.metrics import ServerMetrics, start_metrics_endpoint
from latentd.api.observing import REQUEST_ID, TOTAL_TIME, ObservingInterceptor
from latentd.api.servicers import ModelsServicer
from latentd.config import Settings
from latentd.core.registry import Registry
from latentd.testing import free_port, start_test_server

SENTENCE = "all-minilm-l6-v2"
SIMILARITY = "latent.v1.Arithmetic/Similarity"
NEAREST = "latent.v1.Arithmetic/Nearest"
ENCODE = "latent.v1.Embeddings/Encode"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def observed(tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(gRPC target, metrics URL) of a server with its metrics endpoint on."""
    port = free_port()
    settings = Settings(metrics_port=port)
    cache = tmp_path_factory.mktemp("metrics-cache")
    with start_test_server(tiny_kv, cache_dir=cache, settings=settings) as target:
        yield target, f"http://127.0.0.1:{port}/metrics"


def test_requests_are_counted_by_method_and_code(observed: tuple[str, str]) -> None:
    target, url = observed
    before = scrape(url)
    with latent.Client(target, timeout=60) as client:
        for _ in range(3):
            client.similarity("king", "queen")
        for _ in range(2):
            with pytest.raises(latent.NotFound):
                client.nearest("nosuchwordatall")
        with pytest.raises(latent.InvalidArgument):
            client.nearest("king", k=10**6)  # over max_k
    after = scrape(url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("latent_requests_total", method=SIMILARITY, code="OK") == 3
    assert moved("latent_requests_total", method=NEAREST, code="NOT_FOUND") == 2
    assert moved("latent_requests_total", method=NEAREST, code="INVALID_ARGUMENT") == 1
    assert moved("latent_requests_total", method=NEAREST, code="OK") == 0
    assert moved("latent_request_duration_seconds_count", method=SIMILARITY) == 3
    assert moved("latent_request_duration_seconds_count", method=NEAREST) == 3
    assert moved("latent_request_duration_seconds_sum", method=SIMILARITY) > 0
    # Every call took more than nothing and less than 30 s: the buckets' ends.
    assert moved("latent_request_duration_seconds_bucket", method=SIMILARITY, le="0.0005") < 3
    assert moved("latent_request_duration_seconds_bucket", method=SIMILARITY, le="30.0") == 3


def test_encode_batches_and_queue_wait_are_observed(observed: tuple[str, str]) -> None:
    target, url = observed
    before = scrape(url)
    with latent.Client(target, timeout=60) as client:
        client.encode(["one sentence", "a second sentence", "and a third one"], SENTENCE)
    after = scrape(url)

    def moved(name: str) -> float:
        return value(after, name, model=SENTENCE) - value(before, name, model=SENTENCE)

    passes = moved("latent_encode_batch_inputs_count")
    assert passes >= 1
    assert moved("latent_encode_batch_inputs_sum") == 3  # each input in one pass
    assert moved("latent_encode_batch_padded_tokens_count") == passes
    assert moved("latent_encode_batch_padded_tokens_sum") >= 3 * 3  # >= 3 tokens each
    assert moved("latent_encode_queue_wait_seconds_count") == 1  # one job
    assert moved("latent_encode_queue_wait_seconds_sum") >= 0


def test_index_states_collection_sizes_and_memory(observed: tuple[str, str]) -> None:
    target, url = observed
    rng = np.random.default_rng(3)
    with latent.Client(target, timeout=60) as client:
        client.create_collection("measured", dimension=4)
        client.upsert(
            "measured",
            [
                latent.Document(f"d{i}", vector=rng.normal(size=4).astype(np.float32))
                for i in range(5)
            ],
        )
        samples = scrape(url)
        client.delete("measured", ["d0", "d1"])
        after_delete = scrape(url)

    assert value(samples, "latent_index_state", space="tiny", state="hnsw") == 1
    assert value(samples, "latent_index_state", space="tiny", state="exact") == 0
    assert value(samples, "latent_index_state", space=SENTENCE, state="none") == 1
    states = [
        value(samples, "latent_index_state", space="measured", state=s)
        for s in ("none", "exact", "building", "hnsw")
    ]
    assert sorted(states) == [0, 0, 0, 1]
    assert value(samples, "latent_collection_documents", collection="measured") == 5
    assert value(after_delete, "latent_collection_documents", collection="measured") == 3
    assert value(samples, "latent_collection_disk_bytes", collection="measured") > 0
    assert value(samples, "process_resident_memory_bytes") > 0


def test_a_taken_metrics_port_fails_with_one_line() -> None:
    metrics = ServerMetrics(Registry())
    first = start_metrics_endpoint(metrics, "127.0.0.1", 0)
    try:
        with pytest.raises(OSError) as raised:
            start_metrics_endpoint(metrics, "127.0.0.1", first.port)
    finally:
        first.stop()
    message = str(raised.value)
    assert "\n" not in message
    assert f"metrics port {first.port} on 127.0.0.1 is in use" in message
    assert "--metrics-port" in message


class Refusing(grpc.ServerInterceptor):
    """An inner interceptor that refuses every call, as authentication or admission do."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "not for you")

        return grpc.unary_unary_rpc_method_handler(
            refuse,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def test_a_call_an_inner_interceptor_refused_is_counted_with_its_code() -> None:
    registry = Registry()
    metrics = ServerMetrics(registry)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=2),
        interceptors=[ObservingInterceptor(metrics), Refusing()],
    )
    pb_grpc.add_ModelsServicer_to_server(ModelsServicer(registry), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    endpoint = start_metrics_endpoint(metrics, "127.0.0.1", 0)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ModelsStub(channel)
            with pytest.raises(grpc.RpcError) as raised:
                stub.ListModels(
                    pb.ListModelsRequest(), metadata=[(REQUEST_ID, "refused-1")], timeout=10
                )
        samples = scrape(f"http://127.0.0.1:{endpoint.port}/metrics")
    finally:
        endpoint.stop()
        server.stop(None)
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "not for you"
    trailing = dict(error.trailing_metadata())
    assert trailing[REQUEST_ID] == "refused-1"
    assert float(trailing[TOTAL_TIME]) > 0
    method = "latent.v1.Models/ListModels"
    assert value(samples, "latent_requests_total", method=method, code="PERMISSION_DENIED") == 1
    assert value(samples, "latent_requests_total", method=method, code="OK") == 0
