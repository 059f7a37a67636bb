"""Admission over a real server (create_server, in this process): past
--max-concurrent-rpcs a call is refused at once with RESOURCE_EXHAUSTED; health answers
at once while every admitted call is busy and 1,000 more requests arrive; a client that
reads its responses slowly holds no slot and blocks no one; and everything is served
again afterwards.

The slow calls are exact BatchNearest searches over a word space without an index
(10,000 queries x 50,000 keys: seconds of CPU); the tests cancel them once they have
seen what they need, and the cancellation stops the work at its next checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.server import RunningServer, create_server
from latentd.core.registry import Registry
from latentd.core.word_space import WordSpace
from latentd.testing import wait_for

LIMIT = 2
KEYS = 50_000
DIM = 32
SLOW_QUERIES = 10_000


@pytest.fixture(scope="module")
def registry() -> Registry:
    rng = np.random.default_rng(3)
    registry = Registry()
    keys = [f"w{i}" for i in range(KEYS)]
    registry.add(WordSpace("big", keys, rng.normal(size=(KEYS, DIM)).astype(np.float32)))
    return registry


@pytest.fixture(scope="module")
def server(registry: Registry) -> Iterator[tuple[RunningServer, str]]:
    running = create_server(registry, port=0, workers=LIMIT, max_concurrent_rpcs=LIMIT)
    try:
        yield running, f"127.0.0.1:{running.port}"
    finally:
        running.stop(grace=None)


def slow_request() -> pb.BatchNearestRequest:
    queries = [pb.NearestQuery(query=[pb.Term(key=f"w{i}")]) for i in range(SLOW_QUERIES)]
    return pb.BatchNearestRequest(
        space="big", queries=queries, k=1, options=pb.QueryOptions(exact=True)
    )


def health_check(channel: grpc.Channel) -> int:
    stub: Any = health_pb2_grpc.HealthStub(channel)  # its stubs declare no Check
    return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status)


@pytest.fixture
def busy(server: tuple[RunningServer, str]) -> Iterator[grpc.Channel]:
    """LIMIT slow calls in flight (admitted); cancelled afterwards."""
    running, target = server
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ArithmeticStub(channel)
        calls = [stub.BatchNearest.future(slow_request(), timeout=120) for _ in range(LIMIT)]
        assert wait_for(lambda: running.admission.in_progress == LIMIT, timeout=30)
        try:
            yield channel
        finally:
            for call in calls:
                call.cancel()
            # The cancelled searches stop at their next checkpoint and free their slots.
            assert wait_for(lambda: running.admission.in_progress == 0, timeout=10)


def test_a_call_past_the_limit_is_refused_at_once(
    server: tuple[RunningServer, str], busy: grpc.Channel
) -> None:
    _, target = server
    with grpc.insecure_channel(target) as channel:
        started = time.perf_counter()
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=10)
        took = time.perf_counter() - started
        health = health_check(channel)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "--max-concurrent-rpcs" in refused.value.details()
    assert f"({LIMIT})" in refused.value.details()
    assert took < 1.0, f"the refusal took {took:.2f}s"
    assert health == health_pb2.HealthCheckResponse.SERVING


def test_health_answers_at_once_under_a_flood(
    server: tuple[RunningServer, str], busy: grpc.Channel
) -> None:
    _, target = server
    with (
        grpc.insecure_channel(target) as flood_channel,
        grpc.insecure_channel(target) as probe_channel,
    ):
        stub = pb_grpc.ModelsStub(flood_channel)
        health_check(probe_channel)  # connected before the flood
        flood = [stub.ListModels.future(pb.ListModelsRequest(), timeout=60) for _ in range(1000)]
        started = time.perf_counter()
        status = health_check(probe_channel)
        took = time.perf_counter() - started
        codes = Counter(_code(call) for call in flood)
    assert status == health_pb2.HealthCheckResponse.SERVING
    assert took < 1.0, f"health took {took:.2f}s behind 1,000 requests"
    # Every request of the flood got an answer: refused at once, none left to time out.
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    assert codes[grpc.StatusCode.RESOURCE_EXHAUSTED] > 0


def _code(call: grpc.Future) -> grpc.StatusCode:
    try:
        call.result()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_everything_is_served_again_after_the_slow_calls(
    server: tuple[RunningServer, str],
) -> None:
    running, target = server
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.ModelsStub(channel)
        # More calls than the limit, one after another and at once: all are served.
        for _ in range(LIMIT + 2):
            stub.ListModels(pb.ListModelsRequest(), timeout=10)
        with ThreadPoolExecutor(LIMIT) as pool:
            replies = list(
                pool.map(lambda _: stub.ListModels(pb.ListModelsRequest(), timeout=10), [0, 1])
            )
    assert all(reply.models[0].name == "big" for reply in replies)
    assert running.admission.in_progress == 0


# A client that reads slowly: it sends requests with large responses (100,000
# neighbours, about 1.5 MB each) and is stopped (SIGSTOP) before they come back, so that
# its socket fills. (gRPC reads responses off the socket whatever the application does:
# only a stopped or starved process reads slowly.)
SLOW_READER = textwrap.dedent(
    """
    import sys, grpc
    from latent.v1 import latent_pb2 as pb, latent_pb2_grpc as pb_grpc
    channel = grpc.insecure_channel(sys.argv[1])
    stub = pb_grpc.ArithmeticStub(channel)
    request = pb.BatchNearestRequest(
        space="big", k=200,
        queries=[pb.NearestQuery(query=[pb.Term(key=f"w{i}")]) for i in range(500)],
    )
    stub.BatchNearest(request, timeout=60)  # connected
    calls = [stub.BatchNearest.future(request, timeout=600) for _ in range(12)]
    print("sent", flush=True)
    for call in calls:
        call.result()
    """
)


def test_a_slow_reader_blocks_no_one(registry: Registry) -> None:
    running = create_server(registry, port=0, workers=8, max_concurrent_rpcs=16)
    target = f"127.0.0.1:{running.port}"
    reader = subprocess.Popen(
        [sys.executable, "-c", SLOW_READER, target], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline() == "sent\n"
        assert wait_for(lambda: running.admission.in_progress > 0, timeout=30)
        reader.send_signal(signal.SIGSTOP)
        # Its responses are computed and wait for a reader that does not read: they hold
        # no admission slot and no thread.
        assert wait_for(lambda: running.admission.in_progress == 0, timeout=120)
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.ArithmeticStub(channel)
            for _ in range(5):
                started = time.perf_counter()
                reply = stub.Nearest(
                    pb.NearestRequest(space="big", query=[pb.Term(key="w1")], k=3), timeout=10
                )
                assert time.perf_counter() - started < 1.0
                assert len(reply.neighbors) == 3 and reply.neighbors[0].key != "w1"
            assert health_check(channel) == health_pb2.HealthCheckResponse.SERVING
        reader.send_signal(signal.SIGCONT)
        reader.kill()
        reader.wait(timeout=30)
        # The server is fine once the reader has gone.
        with grpc.insecure_channel(target) as channel:
            models = pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=10)
        assert [m.name for m in models.models] == ["big"]
    finally:
        if reader.poll() is None:
            reader.send_signal(signal.SIGCONT)
            reader.kill()
            reader.wait(timeout=30)
        running.stop(grace=None)
