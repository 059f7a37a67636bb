"""Prometheus metrics of one server, and the HTTP endpoint that serves them.

Each server has its own CollectorRegistry (not prometheus_client's global one), so that
several servers in one process (the tests) keep separate counts. Requests are counted by
the ObservingInterceptor (api/observing.py); the sentence models' batching reports
through the BatchObserver protocol (core/encode_observation.py), which this class
implements; index states and collection sizes are read from the registry at each scrape.

Errors are not a separate counter: they are `latent_requests_total{code!="OK"}`."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from latentd.core.documents import CollectionInfo
from latentd.core.registry import Registry
from latentd.core.types import IndexState

# Seconds, from 0.5 ms (a Similarity of two keys) to 30 s (the client's default deadline).
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
# Inputs of one forward pass: up to batch_max_size (default 64).
BATCH_INPUT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# Padded tokens of one forward pass: 1,024 on a CPU, 16,384 on an accelerator by default.
BATCH_TOKEN_BUCKETS = (16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
QUEUE_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """The metrics of one server; a BatchObserver for its sentence models."""

    def __init__(self, registry: Registry) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, CPU, fds
        PlatformCollector(registry=self.registry)  # python_info
        self._requests = Counter(
            "latent_requests",
            "latent.v1 RPCs answered, by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "latent_request_duration_seconds",
            "Time to answer a latent.v1 RPC, from its arrival at the server to its status",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batch_inputs = Histogram(
            "latent_encode_batch_inputs",
            "Texts in one forward pass of a sentence model",
            ["model"],
            buckets=BATCH_INPUT_BUCKETS,
            registry=self.registry,
        )
        self._batch_tokens = Histogram(
            "latent_encode_batch_padded_tokens",
            "Tokens in one forward pass of a sentence model, padding included "
            "(inputs x the longest input)",
            ["model"],
            buckets=BATCH_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self._queue_wait = Histogram(
            "latent_encode_queue_wait_seconds",
            "Time an encode job waited for a sentence model, from its submission to the "
            "start of its first forward pass",
            ["model"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(SpaceCollector(registry))

    def observe_request(self, method: str, code: str, seconds: float) -> None:
        self._requests.labels(method, code).inc()
        self._duration.labels(method).observe(seconds)

    # -- BatchObserver (on a model's thread) ---------------------------------------------

    def forward_pass(self, model: str, inputs: int, padded_tokens: int) -> None:
        self._batch_inputs.labels(model).observe(inputs)
        self._batch_tokens.labels(model).observe(padded_tokens)

    def queue_wait(self, model: str, seconds: float) -> None:
        self._queue_wait.labels(model).observe(seconds)


class SpaceCollector:
    """Index state of each space and size of each collection, read at scrape time."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        states, documents, disk = self._families()
        registry = self._registry
        if not registry.loading:  # a loading registry answers nothing yet
            for space in registry.spaces():
                _add_state(states, space.name, space.index_state)
            for info in self._collections():
                _add_state(states, info.settings.name, info.index_state)
                documents.add_metric([info.settings.name], info.count)
                disk.add_metric([info.settings.name], info.disk_bytes)
        yield from (states, documents, disk)

    def _collections(self) -> list[CollectionInfo]:
        collections = self._registry.collections
        if collections is None:
            return []
        try:
            return collections.list()
        except OSError:  # a collection deleted meanwhile (its files gone): the next scrape
            return []

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        states = ", ".join(state.value for state in IndexState)
        return (
            GaugeMetricFamily(
                "latent_index_state",
                f"1 for the state of each space's index, 0 for the others ({states}): none, "
                "nothing to search (a sentence model); exact, brute force; building, brute "
                "force while an HNSW index is built; hnsw, HNSW reranked exactly",
                labels=["space", "state"],
            ),
            GaugeMetricFamily(
                "latent_collection_documents",
                "Documents in each collection",
                labels=["collection"],
            ),
            GaugeMetricFamily(
                "latent_collection_disk_bytes",
                "Bytes of each collection's files (database, index snapshot)",
                labels=["collection"],
            ),
        )


def _add_state(family: GaugeMetricFamily, space: str, current: IndexState) -> None:
    for state in IndexState:
        family.add_metric([space, state.value], 1.0 if state is current else 0.0)


class MetricsPortUnavailable(OSError):
    """The metrics port cannot be listened on; the message says what to do."""


@dataclass
class MetricsEndpoint:
    """`/metrics` over HTTP on a thread of its own (any path answers the same)."""

    server: WSGIServer
    thread: Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_endpoint(metrics: ServerMetrics, host: str, port: int) -> MetricsEndpoint:
    """Serve `metrics` on host:port (0: any free port)."""
    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            problem = "is in use by another process"
        elif exc.errno == errno.EACCES:
            problem = "needs a permission this process lacks (ports below 1024)"
        else:
            problem = f"cannot be listened on: {exc.strerror or exc}"
        raise MetricsPortUnavailable(
            f"metrics port {port} on {host} {problem}; choose another with --metrics-port "
            "(env LATENT_METRICS_PORT)"
        ) from None
    return MetricsEndpoint(server, thread)
