"""Message sizes are limited both ways (--max-message-mb): a request over the limit is
refused with RESOURCE_EXHAUSTED before it is read, an answer over it is not sent (the
caller gets RESOURCE_EXHAUSTED), and the server goes on serving."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.config import Settings
from latentd.testing import health_status, start_test_server

LIMIT_MB = 1


@pytest.fixture(scope="module")
def target(tiny_kv) -> Iterator[str]:
    with start_test_server(
        tiny_kv, sentence_model=False, settings=Settings(max_message_mb=LIMIT_MB)
    ) as running:
        yield running


def unlimited_channel(target: str) -> grpc.Channel:
    """A client that would send and take anything: the server's limits are under test."""
    return grpc.insecure_channel(
        target,
        options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)],
    )


def serves(target: str) -> bool:
    with unlimited_channel(target) as channel:
        reply = pb_grpc.ArithmeticStub(channel).Nearest(
            pb.NearestRequest(query=[pb.Term(key="king")], k=1), timeout=10
        )
    serving = health_pb2.HealthCheckResponse.SERVING
    return len(reply.neighbors) == 1 and health_status(target) == serving


def test_a_request_over_the_limit_is_resource_exhausted(target: str) -> None:
    big = "x" * (LIMIT_MB * 1024 * 1024 + 1)
    with unlimited_channel(target) as channel, pytest.raises(grpc.RpcError) as error:
        pb_grpc.ArithmeticStub(channel).Nearest(
            pb.NearestRequest(query=[pb.Term(key=big)], k=1), timeout=10
        )
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (error.value.details() or "")
    assert serves(target)


def test_an_answer_over_the_limit_is_not_sent(target: str) -> None:
    # 600 queries x 200 neighbours: about 3 MB of answer for a small request.
    request = pb.BatchNearestRequest(
        queries=[pb.NearestQuery(query=[pb.Term(key="king")]) for _ in range(600)], k=200
    )
    assert request.ByteSize() < LIMIT_MB * 1024 * 1024
    with unlimited_channel(target) as channel, pytest.raises(grpc.RpcError) as error:
        pb_grpc.ArithmeticStub(channel).BatchNearest(request, timeout=30)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert serves(target)
