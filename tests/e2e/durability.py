"""The crash checker of collections, shared by the tests that SIGKILL a real `latentd
serve` during writes (test_collections_durability.py, test_collections_reads_under_kills.py):
a model of what each writer thread had acknowledged (`Writer`, `State`), the server
process over one data directory (`Latentd`), the writers themselves (`write`,
`run_writers`), and the checks after a restart (`check`, `check_search`).

Each writer thread owns its ids, so the order of one id's writes is the order of that
thread's acknowledgements and the model is exact. The one RPC per thread that was in
flight at a kill is "in doubt": it may have landed or not, but all of its documents or
none; `check` settles it to what the restarted server holds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf import json_format

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_port,
    wait_for,
)

DIM = 16
COLLECTION = "durable"
THREADS = 4
IDS_PER_THREAD = 75  # 300 ids in all
MAX_BATCH = 20
RPC_TIMEOUT_S = 20.0
SEED = int(os.environ.get("LATENT_DURABILITY_SEED", str(time.time_ns() % 1_000_000)))


# -- the model of what was acknowledged ----------------------------------------------------


@dataclass(frozen=True)
class State:
    """One document as written: None stands for "absent" (deleted or never written)."""

    text: str
    metadata: dict[str, Any]
    vector: np.ndarray

    def same(self, other: State | None) -> bool:
        return (
            other is not None
            and self.text == other.text
            and self.metadata == other.metadata
            and np.array_equal(self.vector, other.vector)
        )


def same(a: State | None, b: State | None) -> bool:
    return b is None if a is None else a.same(b)


def shown(state: State | None) -> str:
    if state is None:
        return "absent"
    return f"{state.text!r} version {state.metadata.get('version')}"


@dataclass
class Writer:
    """One thread's ids, the latest acknowledged state of each, and the write in flight
    when the server went away (if any)."""

    number: int
    ids: list[str]
    acked: dict[str, State | None] = field(default_factory=dict)
    in_doubt: dict[str, State | None] | None = None
    in_doubt_what: str = ""
    failure: tuple[float, str] | None = None  # (monotonic time, code: details)
    last: dict[str, State] = field(default_factory=dict)  # the last acknowledged upsert
    acks: int = 0
    version: int = 0

    def expected(self, doc_id: str) -> State | None:
        return self.acked.get(doc_id)


# -- the server ----------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[str]
    target: str


class Latentd:
    """Starts `latentd serve` over one data directory, its stderr appended to one log."""

    def __init__(self, tmp_path: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.extra_args = extra_args  # e.g. ("--collections-backend", "milvus")
        self.data = tmp_path / "data"
        self.cache = tmp_path / "cache"
        self.log = tmp_path / "latentd.log"
        self.words = tmp_path / "words.txt"
        rows = [f"w{i} " + " ".join(f"{(i * 7 + j) % 5 - 2}" for j in range(4)) for i in range(8)]
        self.words.write_text(f"{len(rows)} 4\n" + "\n".join(rows) + "\n", encoding="utf-8")
        self.starts = 0

    def spawn(self) -> subprocess.Popen[str]:
        self.starts += 1
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"==== start {self.starts} ====\n")
            log.flush()
            return subprocess.Popen(
                [
                    *latentd_command(),
                    "serve",
                    "--no-default-models",
                    "--no-index",
                    "--port",
                    "0",
                    "--data-dir",
                    str(self.data),
                    "--cache-dir",
                    str(self.cache),
                    "--word-model",
                    f"w={self.words}",
                    *self.extra_args,
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
            )

    def start(self) -> Server:
        process = self.spawn()
        try:
            line = read_serving_line(process, timeout=60)
        except BaseException:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError(f"latentd did not start\n{self.tail()}") from None
        return Server(process, f"127.0.0.1:{serving_port(line)}")

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return "latentd's log ends:\n" + "\n".join(text.splitlines()[-lines:])

    def last_start_log(self) -> str:
        text = self.log.read_text(encoding="utf-8")
        return text.rsplit(f"==== start {self.starts} ====\n", 1)[-1]


def close_stdout(process: subprocess.Popen[str]) -> None:
    if process.stdout is not None:
        process.stdout.close()


# -- writers -------------------------------------------------------------------------------


def new_state(writer: Writer, doc_id: str, rng: random.Random) -> State:
    writer.version += 1
    vector = np.asarray([rng.gauss(0, 1) for _ in range(DIM)], np.float32)
    metadata: dict[str, Any] = {
        "writer": writer.number,
        "version": writer.version,
        "even": writer.version % 2 == 0,
        "weight": rng.random(),
        "tags": rng.sample(["red", "green", "blue", "ünï", "⚙"], rng.randint(0, 3)),
    }
    return State(f"{doc_id} v{writer.version} {'é' * rng.randint(0, 3)}", metadata, vector)


def document(doc_id: str, state: State) -> pb.Document:
    doc = pb.Document(id=doc_id, text=state.text, vector=pb.Vector(values=state.vector))
    doc.metadata.update(state.metadata)
    return doc


def write(writer: Writer, stub: pb_grpc.CollectionsStub, stop: threading.Event, seed: int) -> None:
    """Upserts (70%) and deletes of this writer's ids until an RPC fails or stop is set."""
    rng = random.Random(seed)
    while not stop.is_set():
        ids = rng.sample(writer.ids, rng.randint(1, MAX_BATCH))
        pending: dict[str, State | None]
        if rng.random() < 0.7:
            states = {i: new_state(writer, i, rng) for i in ids}
            pending = dict(states)
            what = f"Upsert of {len(ids)}"
            request: Any = pb.UpsertRequest(
                collection=COLLECTION, documents=[document(i, s) for i, s in states.items()]
            )
            rpc: Any = stub.Upsert
        else:
            ids = ids[: rng.randint(1, 5)]
            pending = dict.fromkeys(ids)
            what = f"Delete of {len(ids)}"
            request = pb.DeleteRequest(collection=COLLECTION, ids=ids)
            rpc = stub.Delete
        try:
            rpc(request, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            writer.failure = (time.monotonic(), f"{exc.code().name}: {exc.details()}")
            writer.in_doubt = pending
            writer.in_doubt_what = what
            return
        writer.acked.update(pending)
        writer.last.update({i: s for i, s in pending.items() if s is not None})
        writer.acks += 1


def run_writers(
    writers: list[Writer], server: Server, ending: str, rng: random.Random
) -> tuple[float, int]:
    """Write until the round's ending stops the server; (the signal's monotonic time,
    the server's exit status)."""
    stop = threading.Event()
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.CollectionsStub(channel)
        threads = [
            threading.Thread(target=write, args=(w, stub, stop, rng.randrange(1 << 30)))
            for w in writers
        ]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.2, 1.5))
        signalled = time.monotonic()
        if ending == "kill":
            server.process.kill()
        else:
            server.process.send_signal(signal.SIGTERM)
            if ending == "term-kill":
                time.sleep(rng.uniform(0.0, 0.15))
                server.process.kill()
        status = server.process.wait(timeout=30)
        close_stdout(server.process)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a writer hung after the server stopped"
    return signalled, status


# -- checks after a restart ----------------------------------------------------------------


def state_of(doc: pb.Document) -> State:
    return State(
        doc.text,
        json_format.MessageToDict(doc.metadata),
        np.asarray(doc.vector.values, np.float32),
    )


def scroll_all(stub: pb_grpc.CollectionsStub) -> list[pb.Document]:
    docs: list[pb.Document] = []
    token = ""
    for _ in range(1000):
        reply = stub.Scroll(
            pb.ScrollRequest(collection=COLLECTION, page_token=token, limit=37, with_vector=True),
            timeout=RPC_TIMEOUT_S,
        )
        docs.extend(reply.documents)
        token = reply.next_page_token
        if not token:
            return docs
    raise AssertionError("Scroll gave a next_page_token 1000 times")


def check(
    writers: list[Writer],
    server: Server,
    latentd: Latentd,
    rng: random.Random,
    when: str,
    outcomes: Counter[str],
) -> int:
    """Check the restarted server against the model, settle the in-doubt writes to what
    was found (counting in `outcomes` those that landed and those that did not), and
    return the number of documents."""
    context = f"after {when} (seed {SEED})"
    everything = [i for w in writers for i in w.ids]
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.CollectionsStub(channel)
        got = stub.Get(
            pb.GetRequest(collection=COLLECTION, ids=everything, with_vector=True),
            timeout=RPC_TIMEOUT_S,
        )
        found = {d.id: state_of(d) for d in got.documents}
        assert len(found) == len(got.documents), f"{context}: Get returned an id twice"
        assert set(found).isdisjoint(got.missing), f"{context}: ids both found and missing"
        assert set(found) | set(got.missing) == set(everything), f"{context}: Get lost ids"

        problems: list[str] = []
        for writer in writers:
            doubt = writer.in_doubt or {}
            landed, not_landed = [], []
            for doc_id in writer.ids:
                actual = found.get(doc_id)
                expected = writer.expected(doc_id)
                if same(expected, actual):
                    if doc_id in doubt and not same(doubt[doc_id], expected):
                        not_landed.append(doc_id)
                    continue
                if doc_id in doubt and same(doubt[doc_id], actual):
                    landed.append(doc_id)
                    continue
                problems.append(
                    f"{doc_id}: acknowledged {shown(expected)}"
                    + (f" (in doubt: {shown(doubt[doc_id])})" if doc_id in doubt else "")
                    + f", found {shown(actual)}"
                )
            if landed or not_landed:
                outcomes["landed" if landed else "not landed"] += 1
            if landed and not_landed:
                problems.append(
                    f"writer {writer.number}: the {writer.in_doubt_what} in flight at the "
                    f"stop landed for {sorted(landed)} but not for {sorted(not_landed)}"
                )
            for doc_id in doubt:  # settled: the state found is the state from now on
                writer.acked[doc_id] = found.get(doc_id)
            writer.in_doubt = None
        assert not problems, (
            f"{context}: {len(problems)} documents differ from what was acknowledged:\n"
            + "\n".join(problems[:30])
            + f"\n{latentd.tail()}"
        )

        count = stub.Count(pb.CountRequest(collection=COLLECTION), timeout=RPC_TIMEOUT_S).count
        scrolled = scroll_all(stub)
        ids = [d.id for d in scrolled]
        assert len(set(ids)) == len(ids), f"{context}: Scroll repeated ids"
        assert ids == sorted(ids), f"{context}: Scroll not in id order"
        assert count == len(scrolled) == len(found), (
            f"{context}: Count {count}, Scroll {len(scrolled)}, Get found {len(found)}"
        )
        assert set(ids) == set(found), f"{context}: Scroll and Get disagree"
        for doc in scrolled:
            assert same(state_of(doc), found[doc.id]), f"{context}: Scroll differs on {doc.id}"
        info = stub.GetCollection(pb.GetCollectionRequest(name=COLLECTION), timeout=RPC_TIMEOUT_S)
        assert info.count == count, f"{context}: GetCollection count {info.count} != {count}"

        check_search(stub, found, writers, rng, context, latentd)
    return len(found)


def check_search(
    stub: pb_grpc.CollectionsStub,
    found: dict[str, State],
    writers: list[Writer],
    rng: random.Random,
    context: str,
    latentd: Latentd,
) -> None:
    """Every present document is its own nearest neighbour on the HNSW path; random
    queries get the exact answer; a deleted document's last vector never finds it."""

    def hnsw_ready() -> bool:
        request = pb.GetCollectionRequest(name=COLLECTION)
        return stub.GetCollection(request, timeout=RPC_TIMEOUT_S).index_state == pb.HNSW

    # A snapshot a crash left untrusted is rebuilt, possibly in the background.
    assert wait_for(hnsw_ready, timeout=60), f"{context}: no HNSW index\n{latentd.tail()}"
    present = sorted(found)
    if present:
        reply = stub.BatchSearch(
            pb.BatchSearchRequest(
                collection=COLLECTION,
                queries=[pb.SearchQuery(vector=pb.Vector(values=found[i].vector)) for i in present],
                k=1,
            ),
            timeout=RPC_TIMEOUT_S,
        )
        with_hnsw = {r.searched_with for r in reply.results}
        assert with_hnsw == {pb.HNSW}, f"{context}: searched with {with_hnsw}, not HNSW only"
        first_misses = [
            i for i, r in zip(present, reply.results, strict=True) if [h.id for h in r.hits] != [i]
        ]
        # HNSW is approximate: a document the graph walk missed at the default breadth is
        # found with a wide one, while a stale or missing index entry is missed still. (A
        # document the graph lost altogether, which hnswlib's in-place updates can leave
        # after a replay rewrote most of the collection, is re-added by the indexer's
        # check before the index reports HNSW: see core/collection.py, RELINK_*.)
        wide = (
            stub.BatchSearch(
                pb.BatchSearchRequest(
                    collection=COLLECTION,
                    queries=[
                        pb.SearchQuery(vector=pb.Vector(values=found[i].vector))
                        for i in first_misses
                    ],
                    k=1,
                    options=pb.QueryOptions(ef=2000),
                ),
                timeout=RPC_TIMEOUT_S,
            )
            if first_misses
            else None
        )
        missed = [
            f"{i} -> {[h.id for h in r.hits]}"
            for i, r in zip(first_misses, wide.results if wide else [], strict=True)
            if [h.id for h in r.hits] != [i]
        ]
        assert not missed, (
            f"{context}: {len(missed)} of {len(present)} documents are not their own "
            f"nearest neighbour on the HNSW index (stale or missing index entries "
            f"after replay): {missed[:20]}\n{latentd.tail()}"
        )

    queries = [np.asarray([rng.gauss(0, 1) for _ in range(DIM)], np.float32) for _ in range(20)]
    answers = {}
    for exact in (False, True):
        reply = stub.BatchSearch(
            pb.BatchSearchRequest(
                collection=COLLECTION,
                queries=[pb.SearchQuery(vector=pb.Vector(values=q)) for q in queries],
                k=10,
                options=pb.QueryOptions(exact=exact),
            ),
            timeout=RPC_TIMEOUT_S,
        )
        answers[exact] = [[h.id for h in r.hits] for r in reply.results]
        for r in reply.results:
            assert {h.id for h in r.hits} <= set(found), f"{context}: a hit is not a document"
    recall = np.mean(
        [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(*answers.values(), strict=True)]
    )
    assert recall >= 0.95, f"{context}: HNSW recall@10 against exact search is {recall:.3f}"

    deleted = [(i, w.last[i]) for w in writers for i in w.ids if i not in found and i in w.last]
    for doc_id, state in deleted[:20]:
        query = pb.SearchQuery(vector=pb.Vector(values=state.vector))
        reply = stub.Search(
            pb.SearchRequest(collection=COLLECTION, query=query, k=3), timeout=RPC_TIMEOUT_S
        )
        hits = [h.id for h in reply.hits]
        assert doc_id not in hits, f"{context}: deleted {doc_id} found by its last vector"
