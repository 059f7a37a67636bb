"""Dynamic batching for a sentence model: the inputs of concurrent requests run through
the model together.

Callers (RPC threads) queue jobs and wait; one thread, the model's own, gathers the
queued jobs into rounds, runs each round as forward passes of inputs of similar length,
and hands every job its vectors. Many callers of one sentence each thus share one
forward pass instead of queueing for sixteen, and the model's tokenizer and torch's
intra-op threads stay on the one thread that owns them (see core/sentence_model.py).

- Bounded: past `queue` waiting inputs a job is refused at once (Overloaded, which the
  edge answers RESOURCE_EXHAUSTED) rather than left to time out.
- Short waits: a round waits at most `max_wait_ms` for more callers, and only while
  fewer jobs wait than the callers the previous round answered plus those that queued
  meanwhile: a lone caller never waits, and a crowd that was just answered is given the
  moment it needs to send its next requests, so that it stays in one round.
- Fair: a round takes at most ROUND_BATCHES forward passes' worth of inputs, each waiting
  job first getting up to one pass's worth in arrival order; a large job (an Upsert of
  1,000 texts) is encoded over several rounds, and the small jobs queued behind it are
  served in the next round, not after it.
- Caller gone: each job carries its request's stop check; a job whose caller cancelled
  or whose deadline passed is dropped before each of its rounds and each forward pass,
  and its caller, which checks every STOP_POLL_S while it waits, takes it off the queue
  and leaves at once: a burst of calls that time out costs no forward pass.
- Equal vectors: each input is tokenised with the inputs of its forward pass, padded to
  the longest, and the attention mask keeps padding out of the result; a vector equals
  the one the input gets alone (cosine >= 0.9999, tested).
- Observed: each forward pass (inputs, padded tokens) and each job's queue wait go to
  the BatchObserver of the request that queued it, and its caller learns the job's
  queue and inference time (core/encode_observation.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from latentd.core.batch_params import BatchParams
from latentd.core.cancellation import StopCheck
from latentd.core.encode_observation import Observation, current_observation
from latentd.core.errors import NotReady, Overloaded

# A round holds at most this many forward passes' worth of inputs (by count and by
# padded tokens), which bounds how long the jobs queued behind a large one wait.
ROUND_BATCHES = 4
# Inputs tokenised at a time to count a new job's tokens (its stop check runs between).
COUNT_CHUNK = 256
# How often a waiting caller checks whether its own caller has gone (deadline, cancel).
STOP_POLL_S = 0.05


class Encoder(Protocol):
    """What the batcher drives, on its own thread only."""

    def count_tokens(self, texts: list[str], prompt: str) -> list[int]:
        """Tokens of each text, untruncated."""
        ...

    def forward(self, texts: list[str], prompt: str, truncate: bool) -> np.ndarray:
        """Raw vectors of `texts` in one forward pass (cut to the model's limit when
        `truncate`)."""
        ...


# Given a job's token counts, the tokens each input keeps (after truncation); raises
# when the job breaks a limit. Runs before any forward pass is spent on the job.
TokenCheck = Callable[[list[int]], list[int]]


@dataclass(eq=False)
class Job:
    texts: list[str]
    prompt: str
    check_tokens: TokenCheck
    stop: StopCheck
    future: Future[tuple[np.ndarray, list[int]]] = field(default_factory=Future)
    counted: bool = False
    counts: list[int] = field(default_factory=list)  # untruncated
    kept: list[int] = field(default_factory=list)  # after truncation
    vectors: np.ndarray | None = None
    taken: int = 0  # inputs already in a round
    left: int = 0  # inputs not yet encoded
    observation: Observation | None = None  # of the request that queued it
    queued_at: float = field(default_factory=time.perf_counter)
    started_at: float | None = None  # its first forward pass began
    finished_at: float = 0.0

    @property
    def waiting(self) -> int:
        return len(self.texts) - self.taken


def plan_batches(tokens: Sequence[int], max_size: int, max_tokens: int) -> list[list[int]]:
    """Indices of inputs (given their token counts) in batches of similar length, longest
    first: at most `max_size` inputs and `max_tokens` padded tokens each (one input longer
    than that goes alone), so that short inputs are not padded to the length of long ones."""
    order = sorted(range(len(tokens)), key=lambda i: -tokens[i])
    batches: list[list[int]] = []
    for i in order:
        batch = batches[-1] if batches else None
        # Sorted longest first, so a batch's first input sets its padded length.
        if (
            batch is None
            or len(batch) >= max_size
            or (len(batch) + 1) * tokens[batch[0]] > max_tokens
        ):
            batches.append([i])
        else:
            batch.append(i)
    return batches


class EncodeBatcher:
    def __init__(self, name: str, encoder: Encoder, params: BatchParams, max_tokens: int) -> None:
        self.name = name
        self.params = params
        self.max_tokens = max_tokens  # padded tokens a forward pass (resolved by device)
        self._encoder = encoder
        self._jobs: deque[Job] = deque()  # in arrival order; the head may be part done
        self._waiting = 0  # inputs of queued jobs not yet in a round
        self._expected = 1  # jobs the next round waits for (see _next_round)
        self._closing = False
        self._busy = False  # the model's thread is serving a round
        self._changed = threading.Condition()
        # "model-" marks the thread that may tokenise (core/sentence_model.py).
        self._thread = threading.Thread(target=self._run, name=f"model-{name}", daemon=True)
        self._thread.start()

    def encode(
        self, texts: list[str], prompt: str, check_tokens: TokenCheck, stop: StopCheck
    ) -> tuple[np.ndarray, list[int]]:
        """Raw vectors of `texts` and their untruncated token counts, once the model's
        thread has run them."""
        job = Job(
            texts, prompt, check_tokens, stop, left=len(texts), observation=current_observation()
        )
        with self._changed:
            if self._closing:
                raise NotReady(f"model {self.name!r} is shutting down")
            if self._waiting and self._waiting + len(texts) > self.params.queue:
                raise Overloaded(
                    f"model {self.name!r} is busy: {self._waiting} inputs wait for it "
                    f"(batch_queue {self.params.queue}); retry later"
                )
            self._jobs.append(job)
            self._waiting += len(texts)
            self._changed.notify()
        while True:
            try:
                result = job.future.result(timeout=STOP_POLL_S)
            except TimeoutError:
                pass
            else:
                self._observed(job)
                return result
            try:
                stop()
            except Exception as exc:
                self._finish(job, exc)  # off the queue; a round that holds it drops it
                raise

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout=30)

    def idle(self) -> bool:
        """No job waits or runs."""
        with self._changed:
            return not self._jobs and not self._busy

    # -- on the model's thread ---------------------------------------------------------

    def _run(self) -> None:
        while True:
            jobs = self._next_round()
            if jobs is None:
                return
            try:
                self._serve(jobs)
            finally:
                with self._changed:
                    self._busy = False

    def _next_round(self) -> list[Job] | None:
        """The jobs queued for the next round, once it is gathered (None when closing)."""
        wait = self.params.max_wait_ms / 1000
        round_inputs = ROUND_BATCHES * self.params.max_size
        with self._changed:
            while not self._jobs and not self._closing:
                self._changed.wait()
            if self._closing:
                for job in self._jobs:
                    job.future.set_exception(NotReady(f"model {self.name!r} is shutting down"))
                self._jobs.clear()
                return None
            # Give the callers the previous round answered a moment to come back.
            deadline = time.monotonic() + wait
            while (
                len(self._jobs) < self._expected
                and self._waiting < round_inputs
                and (remaining := deadline - time.monotonic()) > 0
            ):
                self._changed.wait(remaining)
            self._busy = True
            return list(self._jobs)

    def _serve(self, queued: list[Job]) -> None:
        live: list[Job] = []
        for job in queued:
            try:
                job.stop()
                if not job.counted:
                    self._count(job)
            except Exception as exc:
                self._finish(job, exc)
                continue
            live.append(job)
        with self._changed:  # a caller that has gone may finish its job meanwhile
            taken = self._take([job for job in live if not job.future.done()])
            self._waiting -= len(taken)
        round_jobs = list(dict.fromkeys(job for job, _ in taken))
        try:
            self._forward(taken)
        except Exception as exc:
            for job in round_jobs:
                self._finish(job, exc)
            return
        answered = [job for job in round_jobs if job.left == 0]
        for job in answered:
            self._finish(job, None)
        with self._changed:
            # The callers just answered come back soon; the jobs that queued during the
            # round are other callers. Waiting for both keeps callers in one round: with
            # only the former, 4 callers split into rounds of 1 and 3 that took turns,
            # each caller waiting two forward passes.
            self._expected = max(1, len(answered) + len(self._jobs))

    def _take(self, jobs: list[Job]) -> list[tuple[Job, int]]:
        """The inputs of this round, as (job, index). Each job first gets up to one forward
        pass's worth, in arrival order; what budget remains goes to the jobs in order, so
        a large job never holds up the small ones queued behind it for long."""
        budget_inputs = ROUND_BATCHES * self.params.max_size
        budget_tokens = ROUND_BATCHES * self.max_tokens
        taken: list[tuple[Job, int]] = []
        tokens = 0
        shares = (self.params.max_size, budget_inputs) if len(jobs) > 1 else (budget_inputs,)
        for share in shares:
            for job in jobs:
                mine = 0
                while (
                    job.waiting
                    and mine < share
                    and len(taken) < budget_inputs
                    and tokens < budget_tokens
                ):
                    taken.append((job, job.taken))
                    tokens += job.kept[job.taken]
                    job.taken += 1
                    mine += 1
        return taken

    def _count(self, job: Job) -> None:
        counts: list[int] = []
        for start in range(0, len(job.texts), COUNT_CHUNK):
            job.stop()
            counts += self._encoder.count_tokens(job.texts[start : start + COUNT_CHUNK], job.prompt)
        job.kept = job.check_tokens(counts)
        job.counts = counts
        job.counted = True

    def _forward(self, taken: list[tuple[Job, int]]) -> None:
        by_prompt: dict[str, list[tuple[Job, int]]] = {}
        for item in taken:
            by_prompt.setdefault(item[0].prompt, []).append(item)
        for prompt, items in by_prompt.items():
            lengths = [job.kept[i] for job, i in items]
            for batch in plan_batches(lengths, self.params.max_size, self.max_tokens):
                if self._closing:
                    raise NotReady(f"model {self.name!r} is shutting down")
                wanted = {
                    job for job in dict.fromkeys(items[b][0] for b in batch) if self._wanted(job)
                }
                chosen = [items[b] for b in batch if items[b][0] in wanted]
                if not chosen:
                    continue
                cut = any(job.kept[i] < job.counts[i] for job, i in chosen)
                self._starting([job for job, _ in chosen])
                vectors = self._encoder.forward([job.texts[i] for job, i in chosen], prompt, cut)
                # Every input is padded to the batch's longest.
                self._observe_pass(chosen, len(chosen) * max(job.kept[i] for job, i in chosen))
                for (job, i), vector in zip(chosen, vectors, strict=True):
                    if job.vectors is None:
                        job.vectors = np.zeros((len(job.texts), vectors.shape[1]), np.float32)
                    job.vectors[i] = vector
                    job.left -= 1

    def _wanted(self, job: Job) -> bool:
        """Whether the job's caller is still there; a job whose caller has gone is
        answered with its stop check's error and gets no more forward passes."""
        if job.future.done():
            return False
        try:
            job.stop()
        except Exception as exc:
            self._finish(job, exc)
            return False
        return True

    def _starting(self, jobs: list[Job]) -> None:
        now = time.perf_counter()
        for job in jobs:
            if job.started_at is None:
                job.started_at = now
                if job.observation is not None and job.observation.observer is not None:
                    job.observation.observer.queue_wait(self.name, now - job.queued_at)

    def _observe_pass(self, chosen: list[tuple[Job, int]], padded_tokens: int) -> None:
        observers = {
            id(job.observation.observer): job.observation.observer
            for job, _ in chosen
            if job.observation is not None and job.observation.observer is not None
        }
        for observer in observers.values():
            observer.forward_pass(self.name, len(chosen), padded_tokens)

    @staticmethod
    def _observed(job: Job) -> None:
        """On the caller's thread, once its job is done: the request's model time."""
        if job.observation is not None and job.started_at is not None:
            job.observation.model_time.add(
                job.started_at - job.queued_at, job.finished_at - job.started_at, sum(job.kept)
            )

    def _finish(self, job: Job, error: BaseException | None) -> None:
        with self._changed:
            if job in self._jobs:
                self._jobs.remove(job)
                self._waiting -= job.waiting
            # Under the lock: the caller (on a stop) and the model's thread may both
            # finish a job; the first one answers it.
            if job.future.done():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                assert job.vectors is not None
                job.finished_at = time.perf_counter()
                job.future.set_result((job.vectors, job.counts))
