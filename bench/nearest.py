"""Nearest: recall@10 against exact and queries/s, through latentd's BatchNearest and
in-process, for several HNSW search breadths (ef).

Queries: words drawn (seeded) from all 400,000 GloVe words, each asking for its 10
nearest other words (cosine). The truth is an exact numpy product over the unit vectors
in this process (the word itself dropped), timed as "numpy exact".

- latentd BatchNearest by key, k=10, in requests of --batch queries, at the server's
  default ef and at each --ef; recall@10 and queries/s.
- hnswlib alone, knn_query over the same queries' unit vectors (k=11, the word itself
  dropped) on the server's own index file (the one latentd cached: same M,
  ef_construction and graph), or, without it, an index built here with latentd's
  defaults (M=16, ef_construction=200); recall@10 and queries/s at the same ef values.
- gensim KeyedVectors.most_similar (exact) one query at a time over a subset.

    .venv/bin/python bench/nearest.py [--target HOST:PORT --cache-dir DIR] [--queries 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import fmt, fmt_ratio, print_table, ratio

K = 10
EFS = (10, 20, 40, 80, 160, 320)
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
FALLBACK_EF = 200  # when `latentd serve --help` gives no --hnsw-ef default


def server_default_ef() -> int:
    """latentd's default search breadth, as `latentd serve --help` gives it: hnswlib runs
    at it beside the service's requests that send no ef."""
    value = common.serve_default("--hnsw-ef")
    return int(value) if value and value.isdigit() else FALLBACK_EF


def pick_rows(n_keys: int, count: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_keys, size=count, replace=False))


def exact_truth(unit: np.ndarray, rows: np.ndarray, chunk: int = 256) -> tuple[np.ndarray, float]:
    """The exact K nearest rows of each query row (itself dropped), and the seconds taken."""
    started = time.perf_counter()
    truth = np.empty((len(rows), K), dtype=np.int64)
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        scores = unit[part] @ unit.T
        scores[np.arange(len(part)), part] = -np.inf
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        truth[start : start + len(part)] = np.take_along_axis(top, order, axis=1)
    return truth, time.perf_counter() - started


def recall_at_k(found: Sequence[Sequence[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f[:K]) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (len(truth) * K)


def service_run(
    client: Any,
    words: list[str],
    vocab: dict[str, int],
    ef: int | None,
    batch: int,
    exact: bool = False,
) -> tuple[list[list[int]], float]:
    """All queries through batch_nearest; the neighbours' rows per query, and the seconds."""
    found: list[list[int]] = []
    started = time.perf_counter()
    for start in range(0, len(words), batch):
        results = client.batch_nearest(
            words[start : start + batch],
            k=K,
            space=common.WORD_SPACE,
            ef=ef,
            exact=exact,
            timeout=600,
        )
        found.extend([vocab[n.key] for n in r.neighbors] for r in results)
    return found, time.perf_counter() - started


def server_index_file(cache_dir: Path | None) -> Path | None:
    """The GloVe index file latentd cached (`<cache>/glove-6b-50d-<digest>.hnsw`)."""
    if cache_dir is None:
        return None
    files = sorted(cache_dir.glob(f"{common.WORD_SPACE}-*.hnsw"))
    return files[-1] if files else None


def hnswlib_index(
    unit: np.ndarray, cache_dir: Path | None, build_ok: bool, ef: int
) -> tuple[Any, str]:
    """hnswlib over the unit vectors with inner product: the server's cached file when it
    loads and answers each probed word with itself, else a build here (if build_ok)."""
    import hnswlib

    path = server_index_file(cache_dir)
    if path is not None:
        index = hnswlib.Index(space="ip", dim=unit.shape[1])
        try:
            index.load_index(str(path), max_elements=len(unit))
            index.set_ef(ef)
            probe = np.arange(0, len(unit), len(unit) // 50)
            labels, _ = index.knn_query(unit[probe], k=1)
            if float(np.mean(labels[:, 0] == probe)) >= 0.9:
                return index, f"latentd's cached index ({path.name})"
        except RuntimeError as error:
            print(f"  cannot use {path}: {error}", flush=True)
    if not build_ok:
        return None, "none"
    print("  building an hnswlib index here (no usable cache file) ...", flush=True)
    index = hnswlib.Index(space="ip", dim=unit.shape[1])
    index.init_index(max_elements=len(unit), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    index.add_items(unit, np.arange(len(unit)))
    return index, f"built here (M={HNSW_M}, ef_construction={HNSW_EF_CONSTRUCTION})"


def hnswlib_run(
    index: Any, queries: np.ndarray, rows: np.ndarray, ef: int
) -> tuple[list[list[int]], float]:
    index.set_ef(max(ef, K + 1))
    started = time.perf_counter()
    labels, _ = index.knn_query(queries, k=K + 1)
    seconds = time.perf_counter() - started
    found = []
    for row, labels_row in zip(rows.tolist(), labels.tolist(), strict=True):
        others = [label for label in labels_row if label != row]
        found.append(others[:K])
    return found, seconds


def interleaved(
    runs: dict[str, Callable[[], tuple[list[list[int]], float]]],
    queries: int,
    truth: np.ndarray,
    min_seconds: float,
    rounds: int,
) -> dict[str, dict[str, Any]]:
    """Each run (a pass over all the queries) in turn, for `rounds` rounds; within a
    round a run is repeated until min_seconds are spent. queries/s: the best round's,
    since other processes on the machine only ever slow a round down (every round's rate
    is kept); recall@10 of the first pass."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    recall: dict[str, float] = {}
    for _ in range(rounds):
        for name, once in runs.items():
            found, seconds = once()
            recall.setdefault(name, recall_at_k(found, truth))
            passes = 1
            while seconds < min_seconds:
                seconds += once()[1]
                passes += 1
            rates[name].append(queries * passes / seconds)
    return {
        name: {
            "queries_per_s": max(rates[name]),
            "round_queries_per_s": rates[name],
            "recall": recall[name],
        }
        for name in runs
    }


def gensim_run(kv: Any, words: list[str]) -> tuple[list[list[int]], float]:
    vocab = kv.key_to_index
    found: list[list[int]] = []
    started = time.perf_counter()
    for word in words:
        found.append([vocab[w] for w, _ in kv.most_similar(word, topn=K)])
    return found, time.perf_counter() - started


def run(
    target: str,
    kv: Any,
    cache_dir: Path | None,
    *,
    queries: int = 5000,
    gensim_queries: int = 500,
    efs: Sequence[int] = EFS,
    batch: int = 1000,
    build_ok: bool = True,
    min_seconds: float = 1.0,
    rounds: int = 3,
    seed: int = 7,
) -> dict[str, Any]:
    import latent

    unit = kv.get_normed_vectors()
    vocab = kv.key_to_index
    rows = pick_rows(len(unit), queries, seed)
    words = [kv.index_to_key[int(r)] for r in rows]
    print(f"Nearest: {len(rows):,} query words; numpy exact truth ...", flush=True)
    truth, numpy_s = exact_truth(unit, rows)
    results: dict[str, Any] = {
        "queries": len(rows),
        "k": K,
        "batch": batch,
        "rounds": rounds,
        "numpy_exact": {"seconds": numpy_s, "queries_per_s": len(rows) / numpy_s, "recall": 1.0},
    }

    default_ef = server_default_ef()
    results["default_ef"] = default_ef
    index, source = hnswlib_index(unit, cache_dir, build_ok, default_ef)
    results["hnswlib_source"] = source
    queries_unit = unit[rows]
    service: list[dict[str, Any]] = []
    hnsw: list[dict[str, Any]] = []
    with latent.Client(target, timeout=600.0) as client:
        service_run(client, words[:batch], vocab, None, batch)  # warm-up
        if index is not None:
            hnswlib_run(index, queries_unit[:batch], rows[:batch], default_ef)  # warm-up
        # Each ef: the service and hnswlib on the same queries, in turn, for `rounds`
        # rounds; a round repeats a run for at least min_seconds.
        for ef in (None, *efs):
            hnsw_ef = ef or default_ef
            contenders = {"service": lambda e=ef: service_run(client, words, vocab, e, batch)}
            if index is not None:
                contenders["hnswlib"] = lambda e=hnsw_ef: hnswlib_run(index, queries_unit, rows, e)
            measured = interleaved(contenders, len(rows), truth, min_seconds, rounds)
            service.append({"ef": ef, **measured["service"]})
            line = (
                f"  ef={ef or 'default'}: BatchNearest {service[-1]['queries_per_s']:,.0f} q/s, "
                f"recall@10 {service[-1]['recall']:.4f}"
            )
            if index is not None:
                hnsw.append({"ef": hnsw_ef, **measured["hnswlib"]})
                line += f"; hnswlib {hnsw[-1]['queries_per_s']:,.0f} q/s"
            print(line, flush=True)
        # exact=True over a subset: the server's exact answer against this truth.
        subset = min(len(rows), batch)
        found, seconds = service_run(client, words[:subset], vocab, None, batch, exact=True)
    results["service"] = service
    results["hnswlib"] = hnsw
    results["service_exact"] = {
        "queries": subset,
        "seconds": seconds,
        "queries_per_s": subset / seconds,
        "recall": recall_at_k(found, truth[:subset]),
    }

    subset = min(gensim_queries, len(rows))
    found, seconds = gensim_run(kv, words[:subset])
    results["gensim_exact"] = {
        "queries": subset,
        "seconds": seconds,
        "queries_per_s": subset / seconds,
        "recall": recall_at_k(found, truth[:subset]),
    }
    print_tables(results)
    return results


def print_tables(r: dict[str, Any]) -> None:
    hnsw_by_ef = {m["ef"]: m for m in r["hnswlib"]}
    rows: list[list[str]] = []
    for m in r["service"]:
        ef = m["ef"] if m["ef"] is not None else r["default_ef"]
        alone = hnsw_by_ef.get(ef)
        rows.append(
            [
                f"{ef}" + (" (server default)" if m["ef"] is None else ""),
                fmt(m["recall"], 4),
                fmt(m["queries_per_s"], 0),
                fmt(alone["recall"], 4) if alone else "–",
                fmt(alone["queries_per_s"], 0) if alone else "–",
                fmt_ratio(ratio(m["queries_per_s"], alone["queries_per_s"])) if alone else "–",
            ]
        )
    print_table(
        f"Nearest, k={r['k']}, {r['queries']:,} words of GloVe's 400,000 (itself excluded); "
        f"latentd BatchNearest by key in requests of {r['batch']:,}, next to hnswlib alone "
        f"({r['hnswlib_source']}); recall@10 against numpy exact; queries/s: the best of "
        f"{r['rounds']} interleaved rounds",
        [
            "ef",
            "latentd recall@10",
            "latentd queries/s",
            "hnswlib recall@10",
            "hnswlib queries/s",
            "latentd / hnswlib q/s",
        ],
        rows,
    )
    g, n, e = r["gensim_exact"], r["numpy_exact"], r["service_exact"]
    print_table(
        "Exact search (latentd through the client; the others in-process)",
        ["run", "queries", "queries/s", "recall@10"],
        [
            [
                "latentd BatchNearest exact=True",
                fmt(e["queries"]),
                fmt(e["queries_per_s"], 0),
                fmt(e["recall"], 4),
            ],
            [
                "gensim most_similar, one at a time",
                fmt(g["queries"]),
                fmt(g["queries_per_s"], 0),
                fmt(g["recall"], 4),
            ],
            [
                "numpy, unit vectors @ all (chunks of 256)",
                fmt(r["queries"]),
                fmt(n["queries_per_s"], 0),
                "1.0000",
            ],
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT of a running latentd (default: spawn one)")
    parser.add_argument("--cache-dir", help="index cache of the server (hnswlib reads its file)")
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--ef", type=int, nargs="*", default=list(EFS))
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()
    kv, _ = common.load_glove_kv()
    with contextlib.ExitStack() as stack:
        target, cache_dir = common.target_or_server(
            stack, args.target, args.cache_dir, args.out / "latentd-nearest.log"
        )
        results = run(target, kv, cache_dir, queries=args.queries, efs=args.ef, batch=args.batch)
    common.write_json("nearest", results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
