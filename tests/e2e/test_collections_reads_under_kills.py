"""Reads beside writes across SIGKILLs: a real `latentd serve` is killed again and again
while four threads stream upserts and deletes (the writers of durability.py) and five
threads read (Search, Get, Scroll, Count, BatchSearch), then restarted and checked with
durability.check.

Each round first upserts ten "anchor" documents, acknowledged before the readers start
and never written again, so a read of an anchor has one right answer: Get returns it as
written, an exact Search and BatchSearch by its vector find it first, a whole Scroll
holds it, Count is at least the number of anchors. Reads must never fail while the
server is up (a failure must come after the round's signal), and never with UNKNOWN or
INTERNAL: once the server is gone, UNAVAILABLE (or a deadline). The anchors join the
model as one more writer, so the restart's check covers them too: anchors written in a
round are in the write-ahead log at that round's kill, and are replayed."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from durability import (
    COLLECTION,
    DIM,
    IDS_PER_THREAD,
    RPC_TIMEOUT_S,
    SEED,
    THREADS,
    Latentd,
    Server,
    State,
    Writer,
    check,
    close_stdout,
    document,
    new_state,
    run_writers,
    same,
    state_of,
)

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.testing import stop_process

Code = grpc.StatusCode

# How each round ends (as in test_collections_durability.py): "kill" is SIGKILL during
# the writes and reads, "term-kill" SIGTERM then SIGKILL during the stop, "term" a
# graceful stop; True also SIGKILLs the next start-up.
ROUNDS: list[tuple[str, bool]] = [
    ("kill", False),
    ("kill", False),
    ("term", False),
    ("kill", True),
    ("term-kill", False),
    ("kill", False),
    ("kill", False),
    ("term", False),
]
ANCHORS_PER_ROUND = 10
READ_KINDS = ("Search", "Get", "Scroll", "Count", "BatchSearch")
# What a read may answer once the server is going or gone.
GONE = {Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.CANCELLED}
READ_TIMEOUT_S = 10.0


@dataclass
class Reads:
    """What the readers saw, all rounds together."""

    ok: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)  # "Get UNAVAILABLE"
    failures: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, what)
    wrong: list[str] = field(default_factory=list)  # answers that were not right
    lock: threading.Lock = field(default_factory=threading.Lock)

    def problem(self, text: str) -> None:
        with self.lock:
            self.wrong.append(text)


def anchor_vectors(anchors: Writer, ids: list[str]) -> list[pb.SearchQuery]:
    return [
        pb.SearchQuery(vector=pb.Vector(values=_acked(anchors, i).vector.tolist())) for i in ids
    ]


def _acked(anchors: Writer, doc_id: str) -> State:
    state = anchors.acked[doc_id]
    assert state is not None  # anchors are never deleted
    return state


def read_get(stub: pb_grpc.CollectionsStub, anchors: Writer, rng: random.Random) -> str | None:
    ids = rng.sample(anchors.ids, min(8, len(anchors.ids)))
    reply = stub.Get(
        pb.GetRequest(collection=COLLECTION, ids=ids, with_vector=True), timeout=READ_TIMEOUT_S
    )
    found = {d.id: state_of(d) for d in reply.documents}
    if list(reply.missing) or set(found) != set(ids):
        return f"Get of anchors {ids}: missing {list(reply.missing)}"
    changed = [i for i in ids if not same(_acked(anchors, i), found[i])]
    return f"Get: anchors {changed} differ from what was acknowledged" if changed else None


def read_search(stub: pb_grpc.CollectionsStub, anchors: Writer, rng: random.Random) -> str | None:
    doc_id = rng.choice(anchors.ids)
    [query] = anchor_vectors(anchors, [doc_id])
    reply = stub.Search(
        pb.SearchRequest(
            collection=COLLECTION, query=query, k=1, options=pb.QueryOptions(exact=True)
        ),
        timeout=READ_TIMEOUT_S,
    )
    hits = [h.id for h in reply.hits]
    return None if hits == [doc_id] else f"Search by anchor {doc_id}'s vector found {hits}"


def read_batch_search(
    stub: pb_grpc.CollectionsStub, anchors: Writer, rng: random.Random
) -> str | None:
    ids = rng.sample(anchors.ids, min(3, len(anchors.ids)))
    reply = stub.BatchSearch(
        pb.BatchSearchRequest(
            collection=COLLECTION,
            queries=anchor_vectors(anchors, ids),
            k=1,
            options=pb.QueryOptions(exact=True),
        ),
        timeout=READ_TIMEOUT_S,
    )
    tops = [[h.id for h in r.hits] for r in reply.results]
    wanted = [[i] for i in ids]
    return None if tops == wanted else f"BatchSearch by anchors {ids} found {tops}"


def read_scroll(stub: pb_grpc.CollectionsStub, anchors: Writer, rng: random.Random) -> str | None:
    ids: list[str] = []
    token = ""
    for _ in range(1000):
        reply = stub.Scroll(
            pb.ScrollRequest(collection=COLLECTION, page_token=token, limit=rng.randint(20, 80)),
            timeout=READ_TIMEOUT_S,
        )
        ids += [d.id for d in reply.documents]
        token = reply.next_page_token
        if not token:
            break
    # Writers' documents come and go between pages; anchors stay, each once, in order.
    if ids != sorted(set(ids)):
        return "Scroll: ids repeated or out of order"
    lost = sorted(set(anchors.ids) - set(ids))
    return f"Scroll lost anchors {lost[:10]}" if lost else None


def read_count(stub: pb_grpc.CollectionsStub, anchors: Writer, rng: random.Random) -> str | None:
    count = stub.Count(pb.CountRequest(collection=COLLECTION), timeout=READ_TIMEOUT_S).count
    least = len(anchors.ids)
    return None if count >= least else f"Count {count} is below the {least} anchors"


READERS: dict[str, Callable[[pb_grpc.CollectionsStub, Writer, random.Random], str | None]] = {
    "Search": read_search,
    "Get": read_get,
    "Scroll": read_scroll,
    "Count": read_count,
    "BatchSearch": read_batch_search,
}


def read(
    kind: str, target: str, anchors: Writer, reads: Reads, stop: threading.Event, seed: int
) -> None:
    """Read until stop is set: every answer checked, every failure recorded (and the
    reads go on: the server may come back, as a stopping one answers UNAVAILABLE)."""
    rng = random.Random(seed)
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.CollectionsStub(channel)
        while not stop.is_set():
            try:
                problem = READERS[kind](stub, anchors, rng)
            except grpc.RpcError as exc:
                code: Code = exc.code()
                with reads.lock:
                    reads.failed[f"{kind} {code.name}"] += 1
                    what = f"{kind}: {code.name}: {exc.details()}"
                    reads.failures.append((time.monotonic(), what))
                if code not in GONE:
                    reads.problem(f"{kind} answered {code.name}: {exc.details()}")
                time.sleep(0.05)
                continue
            with reads.lock:
                reads.ok[kind] += 1
            if problem:
                reads.problem(problem)


def add_anchors(server: Server, anchors: Writer, number: int, rng: random.Random) -> None:
    """ANCHORS_PER_ROUND new documents, acknowledged before the round's reads start."""
    ids = [f"anchor-{number:02d}-{i}" for i in range(ANCHORS_PER_ROUND)]
    states = {i: new_state(anchors, i, rng) for i in ids}
    with grpc.insecure_channel(server.target) as channel:
        pb_grpc.CollectionsStub(channel).Upsert(
            pb.UpsertRequest(
                collection=COLLECTION, documents=[document(i, s) for i, s in states.items()]
            ),
            timeout=RPC_TIMEOUT_S,
        )
    anchors.ids += ids
    anchors.acked.update(states)
    anchors.last.update(states)
    anchors.acks += 1


def run_round(
    writers: list[Writer],
    anchors: Writer,
    server: Server,
    ending: str,
    rng: random.Random,
    reads: Reads,
) -> tuple[float, int]:
    """Readers of every kind beside the writers until the round's ending stops the
    server; (the signal's monotonic time, the server's exit status)."""
    stop = threading.Event()
    readers = [
        threading.Thread(
            target=read, args=(kind, server.target, anchors, reads, stop, rng.randrange(1 << 30))
        )
        for kind in READ_KINDS
    ]
    for thread in readers:
        thread.start()
    time.sleep(0.2)  # the readers are reading before the writers start
    try:
        return run_writers(writers, server, ending, rng)
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a reader hung after the server stopped"


@pytest.fixture
def latentd(tmp_path: Path) -> Latentd:
    return Latentd(tmp_path)


def test_reads_beside_writes_across_sigkill(latentd: Latentd) -> None:
    rng = random.Random(SEED)
    print(f"seed {SEED} (LATENT_DURABILITY_SEED repeats the kill timings)")
    started = time.perf_counter()
    writers = [Writer(t, [f"t{t}-{i:03d}" for i in range(IDS_PER_THREAD)]) for t in range(THREADS)]
    anchors = Writer(THREADS, [])  # written by add_anchors, never by a writer thread
    reads = Reads()

    server = latentd.start()
    with grpc.insecure_channel(server.target) as channel:
        pb_grpc.CollectionsStub(channel).CreateCollection(
            pb.CreateCollectionRequest(name=COLLECTION, dimension=DIM), timeout=RPC_TIMEOUT_S
        )
    outcomes: Counter[str] = Counter()
    try:
        for number, (ending, kill_at_start) in enumerate(ROUNDS, 1):
            add_anchors(server, anchors, number, rng)
            reads.failures.clear()
            signalled, status = run_round(writers, anchors, server, ending, rng, reads)
            early = [what for at, what in reads.failures if at < signalled]
            assert not early, f"round {number}: reads failed while the server was up: {early[:5]}"
            for writer in writers:
                if writer.failure is not None:
                    at, why = writer.failure
                    assert at >= signalled, f"round {number}: writer failed early: {why}"
                writer.failure = None
            assert not reads.wrong, (
                f"round {number} ({ending}): {len(reads.wrong)} wrong reads: {reads.wrong[:10]}"
                f"\n{latentd.tail()}"
            )
            if ending == "term":
                assert status == 0, f"round {number}: exit status {status} after SIGTERM"
            if kill_at_start:
                process = latentd.spawn()
                time.sleep(rng.uniform(0.3, 2.0))
                process.kill()
                process.wait(timeout=30)
                close_stdout(process)
            server = latentd.start()
            size = check(
                [*writers, anchors], server, latentd, rng, f"round {number} ({ending})", outcomes
            )
            print(
                f"round {number}: {ending}{' + kill at start-up' if kill_at_start else ''}, "
                f"{size} documents ({len(anchors.ids)} anchors), "
                f"{time.perf_counter() - started:.1f}s"
            )
        assert stop_process(server.process) == 0, f"exit status after SIGTERM\n{latentd.tail()}"
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
        close_stdout(server.process)
    print(
        f"{len(ROUNDS)} rounds, {sum(w.acks for w in writers)} writes acknowledged; reads "
        f"answered: {dict(reads.ok)}; failed (after a signal): {dict(reads.failed)}; "
        f"{time.perf_counter() - started:.1f}s"
    )
    assert all(reads.ok[kind] > 0 for kind in READ_KINDS), f"a kind never read: {reads.ok}"
