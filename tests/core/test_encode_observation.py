"""What the encode batcher reports: each forward pass and each job's queue wait to the
observer of the request that queued it, and the request's model time to its caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_encode_batcher import HeldEncoder, keep, never

from latentd.core.batch_params import BatchParams
from latentd.core.encode_batcher import EncodeBatcher
from latentd.core.encode_observation import ModelTime, current_observation, observing


class Recorder:
    """A BatchObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.passes: list[tuple[str, int, int]] = []
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def forward_pass(self, model: str, inputs: int, padded_tokens: int) -> None:
        with self._lock:
            self.passes.append((model, inputs, padded_tokens))

    def queue_wait(self, model: str, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


@pytest.fixture
def encoder() -> HeldEncoder:
    return HeldEncoder()


@pytest.fixture
def batcher(encoder: HeldEncoder) -> Iterator[EncodeBatcher]:
    b = EncodeBatcher("fake", encoder, BatchParams(max_size=4, max_wait_ms=0), 1000)
    yield b
    encoder.release()
    b.close()


def test_passes_and_queue_wait_go_to_the_requests_observer(batcher: EncodeBatcher) -> None:
    recorder = Recorder()
    texts = ["one", "two words", "three words here", "a", "b c", "d e f g h"]
    with observing(recorder) as model_time:
        batcher.encode(texts, "", keep, never)
    # Six inputs at most four a pass, longest first, each pass padded to its longest.
    assert recorder.passes == [("fake", 4, 4 * 5), ("fake", 2, 2 * 1)]
    assert len(recorder.waits) == 1 and recorder.waits[0] >= 0  # one job
    assert model_time.jobs == 1
    assert model_time.queue_s >= 0 and model_time.inference_s > 0
    assert current_observation() is None  # the block left no observation behind


def test_without_an_observation_nothing_is_reported(batcher: EncodeBatcher) -> None:
    vectors, counts = batcher.encode(["no observer here"], "", keep, never)
    assert counts == [3] and vectors.shape == (1, 2)


def test_queue_wait_counts_the_time_behind_a_busy_model(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    recorder = Recorder()
    encoder.hold()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher.encode, ["holds the model"], "", keep, never)
        assert encoder.entered.wait(10)

        def observed() -> ModelTime:
            with observing(recorder) as model_time:
                batcher.encode(["waits behind it"], "", keep, never)
            return model_time

        second = pool.submit(observed)
        time.sleep(0.2)  # the second job is queued behind the held pass meanwhile
        encoder.release()
        first.result(timeout=10)
        model_time = second.result(timeout=10)
    (wait,) = recorder.waits
    assert wait >= 0.2 - 0.05  # it could not start before the release
    assert model_time.queue_s == pytest.approx(wait)


def test_a_shared_pass_is_reported_once_to_each_observer(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    a, b = Recorder(), Recorder()
    encoder.hold()

    def call(recorder: Recorder, text: str) -> ModelTime:
        with observing(recorder) as model_time:
            batcher.encode([text], "", keep, never)
        return model_time

    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.encode, ["holds the model"], "", keep, never)
        assert encoder.entered.wait(10)
        jobs = [pool.submit(call, a, "from a"), pool.submit(call, b, "from b")]
        deadline = time.monotonic() + 10
        while len(batcher._jobs) < 3 and time.monotonic() < deadline:  # both queued
            time.sleep(0.01)
        encoder.release()
        first.result(timeout=10)
        times = [job.result(timeout=10) for job in jobs]
    assert a.passes == b.passes == [("fake", 2, 2 * 2)]  # one pass held both
    assert all(t.jobs == 1 for t in times)
