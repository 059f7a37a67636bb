"""Encode's batcher over the wire, on a real server on port 0: a full queue answers
RESOURCE_EXHAUSTED at once, naming the setting, and the server goes on serving; Encode
calls waiting for the model do not hold up other calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.config import Settings
from latentd.core.batch_params import BatchParams
from latentd.core.sentence_model import SentenceModel
from latentd.testing import start_test_server


class Held:
    """The forward pass of the text "hold" waits for `release`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.model: SentenceModel | None = None

    def wait_for_queued(self, inputs: int) -> None:
        assert self.model is not None
        deadline = time.monotonic() + 30
        while self.model._batcher._waiting < inputs:
            assert time.monotonic() < deadline, "the request never reached the model's queue"
            time.sleep(0.001)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    state = Held()
    forward = SentenceModel.forward

    def held_forward(self: SentenceModel, texts: list[str], prompt: str, cut: bool) -> np.ndarray:
        if "hold" in texts:
            state.model = self
            state.entered.set()
            assert state.release.wait(30)
        return forward(self, texts, prompt, cut)

    monkeypatch.setattr(SentenceModel, "forward", held_forward)
    yield state
    state.release.set()


def test_a_full_queue_answers_resource_exhausted_at_once(
    tmp_path: Path, tiny_kv: object, held: Held
) -> None:
    settings = Settings(batch=BatchParams(queue=2))
    with (
        start_test_server(tiny_kv, tmp_path, settings=settings) as target,
        grpc.insecure_channel(target) as channel,
        ThreadPoolExecutor(2) as pool,
    ):
        stub = pb_grpc.EmbeddingsStub(channel)
        first = pool.submit(stub.Encode, pb.EncodeRequest(inputs=["hold"]), timeout=60)
        assert held.entered.wait(30)
        queued = pool.submit(stub.Encode, pb.EncodeRequest(inputs=["a cat", "a dog"]), timeout=60)
        held.wait_for_queued(2)
        # Two inputs wait: the queue of 2 is full. The answer comes while the model is
        # still held (a caller made to wait would time out after 10 s instead).
        with pytest.raises(grpc.RpcError) as refused:
            stub.Encode(pb.EncodeRequest(inputs=["one more"]), timeout=10)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "batch_queue 2" in (refused.value.details() or "")
        held.release.set()
        assert len(first.result(30).embeddings) == 1
        assert len(queued.result(30).embeddings) == 2
        assert len(stub.Encode(pb.EncodeRequest(inputs=["again"]), timeout=30).embeddings) == 1


def test_encode_calls_waiting_for_the_model_leave_workers_for_other_calls(
    tmp_path: Path, tiny_kv: object, held: Held
) -> None:
    """Each waiting Encode call holds a gRPC worker thread: with the default pool, 24 of
    them waiting leave room for an Analogy (with 16 workers it waited for the batch)."""
    with (
        start_test_server(tiny_kv, tmp_path) as target,
        grpc.insecure_channel(target) as channel,
        ThreadPoolExecutor(24) as pool,
    ):
        embeddings = pb_grpc.EmbeddingsStub(channel)
        first = pool.submit(embeddings.Encode, pb.EncodeRequest(inputs=["hold"]), timeout=60)
        assert held.entered.wait(30)
        waiting = [
            pool.submit(embeddings.Encode, pb.EncodeRequest(inputs=[f"text {i}"]), timeout=60)
            for i in range(23)
        ]
        held.wait_for_queued(23)
        analogy = pb_grpc.ArithmeticStub(channel).Analogy(
            pb.AnalogyRequest(
                positive=[pb.Term(key="king"), pb.Term(key="woman")], negative=[pb.Term(key="man")]
            ),
            timeout=10,
        )
        assert analogy.neighbors[0].key == "queen"
        held.release.set()
        assert len(first.result(30).embeddings) == 1
        assert all(len(w.result(30).embeddings) == 1 for w in waiting)
