"""The encode batcher's rules, over an encoder that records what it is asked and can be
held: a full queue refuses at once, a caller whose deadline passed or who cancelled is
dropped before the forward pass, a large job does not hold up the small ones behind it,
a failed forward pass fails only the jobs in it. (Vector equality over the real model is
in test_sentence_model.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from latentd.core.batch_params import BatchParams
from latentd.core.encode_batcher import EncodeBatcher
from latentd.core.errors import Cancelled, DeadlineExceeded, InvalidArgument, Overloaded


class HeldEncoder:
    """Tokens: one per word. Vector of a text: [its length, 1]. `hold` stops the next
    forward pass until `release`."""

    def __init__(self) -> None:
        self.passes: list[list[str]] = []
        self.counted: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_on: str | None = None

    def hold(self) -> None:
        self.gate.clear()
        self.entered.clear()

    def release(self) -> None:
        self.gate.set()

    def count_tokens(self, texts: list[str], prompt: str) -> list[int]:
        self.counted += texts
        return [len(t.split()) for t in texts]

    def forward(self, texts: list[str], prompt: str, truncate: bool) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(10), "held forward pass never released"
        self.passes.append(list(texts))
        if self.fail_on in texts:
            raise RuntimeError("the device failed")
        return np.array([[float(len(t)), 1.0] for t in texts], np.float32)


def keep(counts: list[int]) -> list[int]:
    return counts


def never() -> None:
    return None


@pytest.fixture
def encoder() -> HeldEncoder:
    return HeldEncoder()


@pytest.fixture
def batcher(encoder: HeldEncoder) -> Iterator[EncodeBatcher]:
    b = EncodeBatcher("fake", encoder, BatchParams(max_size=4, max_wait_ms=0, queue=6), 1000)
    yield b
    encoder.release()
    b.close()


def submit(
    pool: ThreadPoolExecutor, batcher: EncodeBatcher, texts: list[str], stop: object = never
) -> Future[tuple[np.ndarray, list[int]]]:
    return pool.submit(batcher.encode, texts, "", keep, stop)  # type: ignore[arg-type]


def wait_until_queued(batcher: EncodeBatcher, inputs: int) -> None:
    deadline = time.monotonic() + 10
    while batcher._waiting < inputs:
        assert time.monotonic() < deadline, "the job never reached the queue"
        time.sleep(0.001)


def test_each_job_gets_its_own_vectors_and_counts(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    with ThreadPoolExecutor(3) as pool:
        futures = [submit(pool, batcher, texts) for texts in (["a b c"], ["dd", "e"], ["fff"])]
        results = [f.result(10) for f in futures]
    assert [r[0][:, 0].tolist() for r in results] == [[5.0], [2.0, 1.0], [3.0]]
    assert [r[1] for r in results] == [[3], [1, 1], [1]]


def test_a_full_queue_refuses_at_once(batcher: EncodeBatcher, encoder: HeldEncoder) -> None:
    encoder.hold()
    with ThreadPoolExecutor(4) as pool:
        running = submit(pool, batcher, ["first"])
        assert encoder.entered.wait(10)  # the model's thread is busy with it
        queued = submit(pool, batcher, ["w1", "w2", "w3", "w4", "w5"])
        wait_until_queued(batcher, 5)
        # 5 inputs wait, the queue holds 6: two more are refused while the model is still
        # held (were the caller made to wait, this would not return).
        with pytest.raises(Overloaded, match=r"5 inputs wait for it \(batch_queue 6\)"):
            batcher.encode(["x", "y"], "", keep, never)
        encoder.release()
        assert running.result(10)[0].shape == (1, 2)
        assert queued.result(10)[0].shape == (5, 2)
    assert ["x", "y"] not in encoder.passes and "x" not in encoder.counted
    # And the model serves again.
    assert batcher.encode(["again"], "", keep, never)[0][0, 0] == 5.0


@pytest.mark.parametrize("error", [DeadlineExceeded, Cancelled])
def test_a_caller_gone_is_dropped_before_the_forward_pass(
    batcher: EncodeBatcher, encoder: HeldEncoder, error: type[Exception]
) -> None:
    gone = threading.Event()

    def stop() -> None:
        if gone.is_set():
            raise error("the caller has gone")

    encoder.hold()
    with ThreadPoolExecutor(3) as pool:
        running = submit(pool, batcher, ["first"])
        assert encoder.entered.wait(10)
        dropped = submit(pool, batcher, ["abandoned"], stop)
        kept = submit(pool, batcher, ["kept"])
        wait_until_queued(batcher, 2)
        gone.set()
        encoder.release()
        with pytest.raises(error):
            dropped.result(10)
        assert kept.result(10)[0][0, 0] == 4.0
        running.result(10)
    assert all("abandoned" not in p for p in encoder.passes)


def test_a_large_job_does_not_hold_up_the_small_ones_behind_it(encoder: HeldEncoder) -> None:
    """max_size 4: a round takes 16 inputs, each waiting job first getting up to 4."""
    big = [f"big{i}" for i in range(40)]
    batcher = EncodeBatcher("fake", encoder, BatchParams(max_size=4, max_wait_ms=0), 1000)
    encoder.hold()
    with ThreadPoolExecutor(3) as pool:
        blocker = submit(pool, batcher, ["first"])
        assert encoder.entered.wait(10)
        large = pool.submit(batcher.encode, big, "", keep, never)
        wait_until_queued(batcher, 40)
        small = submit(pool, batcher, ["small"])
        wait_until_queued(batcher, 41)
        encoder.release()
        assert small.result(10)[0][0, 0] == 5.0
        np.testing.assert_array_equal(large.result(10)[0][:, 0], [len(t) for t in big])
        blocker.result(10)
    batcher.close()
    flat = [t for p in encoder.passes for t in p]
    # The small job ran in the big job's first round, not after its 40 inputs.
    assert flat.index("small") < flat.index("big16")
    assert all(len(p) <= 4 for p in encoder.passes)


def test_a_failed_forward_pass_fails_its_jobs_only(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    encoder.fail_on = "poison"
    with pytest.raises(RuntimeError, match="the device failed"):
        batcher.encode(["poison"], "", keep, never)
    assert batcher.encode(["fine"], "", keep, never)[0][0, 0] == 4.0


def test_a_job_over_a_limit_fails_before_any_forward_pass(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    def at_most_two_tokens(counts: list[int]) -> list[int]:
        if max(counts) > 2:
            raise InvalidArgument("inputs[0]: too long")
        return counts

    with pytest.raises(InvalidArgument, match="too long"):
        batcher.encode(["one two three"], "", at_most_two_tokens, never)
    assert encoder.passes == []
    assert encoder.counted == ["one two three"]


def test_jobs_waiting_when_the_model_closes_are_answered(encoder: HeldEncoder) -> None:
    batcher = EncodeBatcher("fake", encoder, BatchParams(max_size=4), 1000)
    encoder.hold()
    with ThreadPoolExecutor(3) as pool:
        running = submit(pool, batcher, ["first"])
        assert encoder.entered.wait(10)
        waiting = submit(pool, batcher, ["second"])
        wait_until_queued(batcher, 1)
        closing = pool.submit(batcher.close)
        while not batcher._closing:
            time.sleep(0.001)
        encoder.release()
        closing.result(10)
        running.result(10)
        with pytest.raises(Exception, match="shutting down"):
            waiting.result(10)


def test_callers_answered_and_callers_queued_meanwhile_share_the_next_round(
    encoder: HeldEncoder,
) -> None:
    """Round 1 answers A while B, C, D queue: round 2 waits for A's next request too,
    rather than leaving A to a round of its own while B, C and D take another."""
    batcher = EncodeBatcher("fake", encoder, BatchParams(max_size=8, max_wait_ms=5000), 1000)
    encoder.hold()
    with ThreadPoolExecutor(4) as pool:
        a = submit(pool, batcher, ["a1"])
        assert encoder.entered.wait(10)
        others = [submit(pool, batcher, [name]) for name in ("b", "c", "d")]
        wait_until_queued(batcher, 3)
        encoder.release()
        a.result(10)
        again = submit(pool, batcher, ["a2"])
        again.result(10)
        for other in others:
            other.result(10)
    batcher.close()
    assert encoder.passes[0] == ["a1"]
    assert sorted(encoder.passes[1]) == ["a2", "b", "c", "d"]


def test_a_caller_that_goes_while_it_waits_leaves_at_once(
    batcher: EncodeBatcher, encoder: HeldEncoder
) -> None:
    """Its deadline passes while the model is busy with another job: it is answered
    within a poll, not when the model gets to it, and its inputs leave the queue."""
    gone = threading.Event()

    def stop() -> None:
        if gone.is_set():
            raise DeadlineExceeded("the deadline passed")

    encoder.hold()
    with ThreadPoolExecutor(2) as pool:
        running = submit(pool, batcher, ["first"])
        assert encoder.entered.wait(10)
        waiting = submit(pool, batcher, ["late", "later"], stop)
        wait_until_queued(batcher, 2)
        gone.set()
        with pytest.raises(DeadlineExceeded):
            waiting.result(2)  # while the model is still held
        assert batcher._waiting == 0 and [j.texts for j in batcher._jobs] == [["first"]]
        encoder.release()
        running.result(10)
    assert encoder.passes == [["first"]]
    assert "late" not in encoder.counted


def test_a_caller_that_goes_during_its_round_gets_no_more_forward_passes(
    encoder: HeldEncoder,
) -> None:
    """max_size 2: a round of 8 inputs is 4 forward passes; the caller goes during the
    first, and the other three are not run."""
    batcher = EncodeBatcher("fake", encoder, BatchParams(max_size=2, max_wait_ms=0), 1000)
    gone = threading.Event()

    def stop() -> None:
        if gone.is_set():
            raise Cancelled("the caller cancelled")

    texts = [f"t{i}" for i in range(8)]
    encoder.hold()
    with ThreadPoolExecutor(1) as pool:
        job = pool.submit(batcher.encode, texts, "", keep, stop)
        assert encoder.entered.wait(10)  # the first pass of its round is running
        gone.set()
        encoder.release()
        with pytest.raises(Cancelled):
            job.result(10)
    assert wait_for_idle(batcher)
    batcher.close()
    assert len(encoder.passes) == 1 and len(encoder.passes[0]) == 2


def wait_for_idle(batcher: EncodeBatcher) -> bool:
    deadline = time.monotonic() + 10
    while not batcher.idle():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True
