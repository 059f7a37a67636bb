"""Stress: mixed Encode, Analogy, Nearest, Search and Upsert traffic from many threads for
a bounded time against one latentd, on loopback.

Each thread is a closed-loop caller on one shared channel (raw gRPC stubs: no client
retries hide an error): it picks an RPC by the mix's weights, sends it with a 30 s
deadline and records the status code and the latency. The requests: Encode of 1 to 4
short sentences; Analogy (3CosAdd, k=10) and Nearest (k=10) on GloVe words of gensim's
questions-words.txt; Search (k=10, by text, a third of them with a metadata filter) and
Upsert (1 to 8 documents with text and metadata, ids drawn from a fixed range so the
collection stops growing) on a collection of the sentence model, filled first.

It reports requests/s per RPC and in all, p50/p99 latency per RPC, errors by status
code, and the server's resident memory (VmRSS of /proc/PID/status) before the traffic,
after the first minute (after the warm-up, a fifth of the run, for runs under two
minutes) and at the end. It exits 1 when any call was answered UNKNOWN or INTERNAL, or
when a run of 5 minutes or more ends with RSS more than 5% above its first-minute RSS
(memory that grows under a steady load).

    .venv/bin/python bench/stress.py [--duration 600] [--threads 16] [--target HOST:PORT]
        [--server-pid PID] [--cache-dir DIR] [--seed 1]

Without --target it starts `latentd serve` with the default models (data in a temporary
directory; the GloVe index cached under --cache-dir, else built, about a minute). With
--target, RSS is read only when --server-pid names the server's process.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import fmt, print_table, proc_status_kib, tail_stats

MIX: dict[str, int] = {"Encode": 25, "Analogy": 20, "Nearest": 20, "Search": 20, "Upsert": 15}
COLLECTION = "stress"
ID_RANGE = 5_000  # Upsert ids: the collection holds at most this many documents
PREFILL = 500
CALL_TIMEOUT_S = 30.0
LEAK_CHECK_MIN_S = 300.0  # the RSS growth verdict applies to runs at least this long
LEAK_TOLERANCE = 0.05  # end RSS at most 5% above the first-minute RSS
FIRST_MINUTE_S = 60.0
FAILING_CODES = ("UNKNOWN", "INTERNAL")

SUBJECTS = (
    "the committee", "a small cat", "my neighbour", "the new engine", "our team",
    "the old library", "a quiet student", "the city council", "this recipe", "the weather",
)  # fmt: skip
VERBS = (
    "postponed", "described", "improved", "ignored", "celebrated",
    "measured", "rebuilt", "questioned", "painted", "explained",
)  # fmt: skip
OBJECTS = (
    "the budget for next year", "a long walk by the river", "the results of the test",
    "every song on the album", "the history of the bridge", "a plan to save energy",
    "the rules of the game", "a map of the mountains", "the price of fresh bread",
    "the noise from the street",
)  # fmt: skip
TAGS = ("news", "food", "travel", "science", "music")


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"


@dataclass
class Traffic:
    """What the requests are made of: analogy questions and words of the word model."""

    questions: list[tuple[str, str, str]]
    words: list[str]
    space: str = common.WORD_SPACE
    model: str = common.SENTENCE_MODEL

    @classmethod
    def load(cls) -> Traffic:
        questions = common.read_questions()
        triples = [(q.a, q.b, q.c) for q in questions]
        words = sorted({w for q in questions for w in q.words})
        return cls(triples, words)


# -- requests ----------------------------------------------------------------------------


def build_request(kind: str, traffic: Traffic, rng: random.Random) -> Any:
    from google.protobuf import struct_pb2

    from latent.v1 import latent_pb2 as pb

    if kind == "Encode":
        texts = [sentence(rng) for _ in range(rng.randint(1, 4))]
        return pb.EncodeRequest(model=traffic.model, inputs=texts, vector_format=pb.PACKED)
    if kind == "Analogy":
        a, b, c = rng.choice(traffic.questions)
        return pb.AnalogyRequest(
            space=traffic.space,
            positive=[pb.Term(key=b), pb.Term(key=c)],
            negative=[pb.Term(key=a)],
            k=10,
        )
    if kind == "Nearest":
        return pb.NearestRequest(
            space=traffic.space, query=[pb.Term(key=rng.choice(traffic.words))], k=10
        )
    if kind == "Search":
        request = pb.SearchRequest(
            collection=COLLECTION,
            query=pb.SearchQuery(text=sentence(rng)),
            k=10,
            with_metadata=True,
        )
        if rng.random() < 0.33:
            tag = struct_pb2.Value(string_value=rng.choice(TAGS))
            request.filter.condition.key = "tag"
            request.filter.condition.equals.CopyFrom(tag)
        return request
    if kind == "Upsert":
        return pb.UpsertRequest(collection=COLLECTION, documents=documents(rng, rng.randint(1, 8)))
    raise ValueError(f"no request for {kind}")


def documents(rng: random.Random, count: int) -> list[Any]:
    from latent.v1 import latent_pb2 as pb

    ids = rng.sample(range(ID_RANGE), count)
    docs = []
    for i in ids:
        doc = pb.Document(id=f"doc-{i}", text=sentence(rng))
        doc.metadata.update({"tag": rng.choice(TAGS), "n": rng.randint(0, 1000)})
        docs.append(doc)
    return docs


def calls(channel: Any) -> dict[str, Callable[..., Any]]:
    from latent.v1 import latent_pb2_grpc as pb_grpc

    arithmetic = pb_grpc.ArithmeticStub(channel)
    collections = pb_grpc.CollectionsStub(channel)
    return {
        "Encode": pb_grpc.EmbeddingsStub(channel).Encode,
        "Analogy": arithmetic.Analogy,
        "Nearest": arithmetic.Nearest,
        "Search": collections.Search,
        "Upsert": collections.Upsert,
    }


def prepare_collection(channel: Any, rng: random.Random, model: str) -> bool:
    """The collection, filled with PREFILL documents; True when this call created it."""
    from latent.v1 import latent_pb2 as pb
    from latent.v1 import latent_pb2_grpc as pb_grpc

    stub = pb_grpc.CollectionsStub(channel)
    listed = stub.ListCollections(pb.ListCollectionsRequest(), timeout=CALL_TIMEOUT_S)
    existed = any(c.name == COLLECTION for c in listed.collections)
    stub.CreateCollection(
        pb.CreateCollectionRequest(name=COLLECTION, model=model, exist_ok=True),
        timeout=CALL_TIMEOUT_S,
    )
    for start in range(0, PREFILL, 64):
        batch = documents(rng, min(64, PREFILL - start))
        stub.Upsert(pb.UpsertRequest(collection=COLLECTION, documents=batch), timeout=120)
    return not existed


def delete_collection(channel: Any) -> None:
    from latent.v1 import latent_pb2 as pb
    from latent.v1 import latent_pb2_grpc as pb_grpc

    pb_grpc.CollectionsStub(channel).DeleteCollection(
        pb.DeleteCollectionRequest(name=COLLECTION), timeout=CALL_TIMEOUT_S
    )


# -- the run -----------------------------------------------------------------------------


@dataclass
class Tally:
    """One thread's calls: latencies of OK calls by RPC, codes by RPC, an example message
    per (RPC, code)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    codes: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.codes.update(other.codes)
        for key, text in other.examples.items():
            self.examples.setdefault(key, text)


@dataclass
class StressResult:
    duration_s: float
    threads: int
    tally: Tally
    rss_mib: dict[str, float | None]  # "start", "first minute" (or "warm-up"), "end"
    rss_series: list[tuple[float, float]]  # (seconds into the run, MiB)

    def requests(self, kind: str | None = None) -> int:
        return sum(n for (k, _), n in self.tally.codes.items() if kind is None or k == kind)

    def codes(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (_, code), n in self.tally.codes.items():
            out[code] += n
        return out

    def failing(self) -> int:
        """Calls answered UNKNOWN or INTERNAL: bugs."""
        codes = self.codes()
        return sum(codes[c] for c in FAILING_CODES)

    def rss_growth(self) -> float | None:
        first, end = self.rss_mib.get(self.first_label), self.rss_mib.get("end")
        return None if not first or end is None else end / first - 1.0

    @property
    def first_label(self) -> str:
        return "first minute" if self.duration_s >= 2 * FIRST_MINUTE_S else "warm-up"

    def leaked(self) -> bool:
        growth = self.rss_growth()
        return (
            self.duration_s >= LEAK_CHECK_MIN_S and growth is not None and growth > LEAK_TOLERANCE
        )


def worker(
    call: dict[str, Callable[..., Any]],
    traffic: Traffic,
    seed: int,
    until: float,
    tally: Tally,
) -> None:
    import grpc

    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        request = build_request(kind, traffic, rng)
        started = time.perf_counter()
        try:
            call[kind](request, timeout=CALL_TIMEOUT_S)
            code = "OK"
        except grpc.RpcError as exc:
            code = exc.code().name
            tally.examples.setdefault((kind, code), exc.details() or "")
        if code == "OK":
            tally.latencies.setdefault(kind, []).append(time.perf_counter() - started)
        tally.codes[(kind, code)] += 1


def run_stress(
    target: str,
    duration_s: float,
    threads: int = 16,
    *,
    pid: int | None = None,
    seed: int = 1,
    traffic: Traffic | None = None,
    keep_collection: bool = False,
) -> StressResult:
    """`threads` closed-loop callers of the mix against `target` for `duration_s`; RSS
    of process `pid` (when given) before, after the first minute (or the warm-up) and at
    the end. The collection is deleted afterwards if this run created it."""
    import grpc

    traffic = traffic or Traffic.load()
    rng = random.Random(seed)
    first_at = FIRST_MINUTE_S if duration_s >= 2 * FIRST_MINUTE_S else duration_s / 5
    first_label = "first minute" if duration_s >= 2 * FIRST_MINUTE_S else "warm-up"
    options = [("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(target, options=options) as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
        created = prepare_collection(channel, rng, traffic.model)
        rss: dict[str, float | None] = {"start": rss_mib(pid)}
        series: list[tuple[float, float]] = []
        call = calls(channel)
        tallies = [Tally() for _ in range(threads)]
        started = time.monotonic()
        until = started + duration_s
        workers = [
            threading.Thread(
                target=worker,
                args=(call, traffic, rng.randrange(1 << 30), until, tallies[i]),
                name=f"stress-{i}",
            )
            for i in range(threads)
        ]
        for thread in workers:
            thread.start()
        with sampling_rss(pid, started, series):
            wait_until(started + first_at)
            rss[first_label] = rss_mib(pid)
            for thread in workers:
                thread.join()
        elapsed = time.monotonic() - started
        rss["end"] = rss_mib(pid)
        if created and not keep_collection:
            delete_collection(channel)
    tally = Tally()
    for part in tallies:
        tally.add(part)
    return StressResult(elapsed, threads, tally, rss, series)


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    kib = proc_status_kib(pid, "VmRSS")
    return None if kib is None else kib / 1024.0


def wait_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))


@contextlib.contextmanager
def sampling_rss(
    pid: int | None, started: float, series: list[tuple[float, float]], every_s: float = 10.0
) -> Iterator[None]:
    """RSS of `pid` every `every_s` seconds into `series`, while the block runs."""
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            value = rss_mib(pid)
            if value is not None:
                series.append((round(time.monotonic() - started, 1), round(value, 1)))

    thread = threading.Thread(target=sample, daemon=True)
    if pid is not None:
        thread.start()
    try:
        yield
    finally:
        stop.set()


# -- the report --------------------------------------------------------------------------


def examples(result: StressResult, code: str) -> str:
    """The first message of each RPC answered `code`, shortened."""
    found = result.tally.examples
    return "; ".join(f"{k}: {found[(k, code)][:80]}" for k in MIX if (k, code) in found)


def report(result: StressResult) -> dict[str, Any]:
    rows = []
    summary: dict[str, Any] = {"rpcs": {}}
    for kind in MIX:
        stats = tail_stats(result.tally.latencies.get(kind, []))
        total = result.requests(kind)
        errors = total - stats["n"]
        rate = total / result.duration_s
        rows.append(
            [
                kind,
                fmt(total),
                fmt(errors),
                fmt(rate, 1),
                fmt(stats["p50_ms"]),
                fmt(stats["p99_ms"]),
            ]
        )
        summary["rpcs"][kind] = {"requests": total, "errors": errors, "per_s": rate, **stats}
    total = result.requests()
    ok = sum(len(v) for v in result.tally.latencies.values())
    rows.append(["all", fmt(total), fmt(total - ok), fmt(total / result.duration_s, 1), "", ""])
    print_table(
        f"Stress: {result.threads} threads, {result.duration_s:.0f} s",
        ["RPC", "requests", "errors", "requests/s", "p50 ms (OK)", "p99 ms (OK)"],
        rows,
    )
    codes = result.codes()
    code_rows = [[code, fmt(n), examples(result, code)] for code, n in codes.most_common()]
    print_table("Answers by status code", ["code", "calls", "example message"], code_rows)
    growth = result.rss_growth()
    rss_rows = [[label, fmt(value, 1)] for label, value in result.rss_mib.items()]
    print_table("Server RSS (MiB)", ["when", "VmRSS"], rss_rows)
    failing = result.failing()
    print(f"UNKNOWN or INTERNAL answers: {failing}")
    if growth is not None:
        verdict = (
            "checked: at most 5% allowed"
            if result.duration_s >= LEAK_CHECK_MIN_S
            else f"not checked: runs under {LEAK_CHECK_MIN_S:.0f} s"
        )
        print(f"RSS end vs {result.first_label}: {growth * 100:+.1f}% ({verdict})")
    summary.update(
        duration_s=result.duration_s,
        threads=result.threads,
        requests=total,
        per_s=total / result.duration_s,
        codes=dict(codes),
        examples={f"{k} {c}": t for (k, c), t in result.tally.examples.items()},
        rss_mib=result.rss_mib,
        rss_series=result.rss_series,
        rss_growth=growth,
        failing=failing,
        leaked=result.leaked(),
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--target", help="HOST:PORT of a running latentd (default: spawn one)")
    parser.add_argument("--server-pid", type=int, help="with --target: its process, for RSS")
    parser.add_argument("--cache-dir", help="index cache of the spawned server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()
    with contextlib.ExitStack() as stack:
        pid = args.server_pid
        target = args.target
        if not target:
            cache = stack.enter_context(common.cache_directory(args.cache_dir))
            data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="latent-stress-")))
            server = stack.enter_context(
                common.latentd_server(
                    cache, args.out / "latentd-stress.log", ["--data-dir", str(data)]
                )
            )
            server.wait_serving()
            target, pid = server.target, server.pid
        common.wait_hnsw(target, timeout=900)
        print(f"stress: {args.threads} threads for {args.duration:.0f} s against {target}")
        result = run_stress(target, args.duration, args.threads, pid=pid, seed=args.seed)
    summary = report(result)
    common.write_json("stress", summary, args.out)
    if result.failing():
        print("FAIL: calls answered UNKNOWN or INTERNAL (see the server log)")
        return 1
    if result.leaked():
        print("FAIL: RSS grew more than 5% after the first minute under a steady load")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
