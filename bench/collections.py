"""Collections: import throughput, Search latency and recall, disk size and restart time
of `latentd serve` over a real English corpus (the Debian package descriptions of
bench/corpus.py) and over 100,000 random 384-d vectors.

Every number comes from a `latentd serve` child (the all-MiniLM-L6-v2 sentence model
only, no GloVe: nothing else competes for the CPU) with a fresh data directory, called
through the Python client on loopback, one call at a time:

- import with encoding: N documents (text + section/priority/size metadata) upserted in
  batches of 64, docs/s; next to SentenceTransformer.encode(texts, batch_size=64)
  in this process on the same texts (sorted by length over all of them, as encode does),
  and encode() of each batch of 64 alone (what the server can do with one request);
- import with vectors given: the same documents with the vectors encoded here, docs/s;
- Search p50/p99 over 200 queries (descriptions of packages not imported), by text and
  by vector, HNSW and exact, without a filter, with a selective one (a section holding
  about 2% of the documents) and a broad one (the largest section); recall@10 of the
  HNSW answer against exact=True (and counting ties at the 10th score as found);
- hnswlib alone in this process on the same vectors (add_items on one thread, as the
  indexer adds; knn_query one at a time), beside the rate until the index is HNSW and
  the Search latency;
- the collection's directory on disk; restart time (spawn until Search answers) with
  the snapshot valid and after deleting index*.hnsw*;
- 100,000 seeded random 384-d vectors given: import rate (acknowledged, and until the
  indexer has put them all into HNSW), Search p50/p99 by vector right after the import
  and once indexed, recall@10 at the server's ef and at --ef (random Gaussian vectors
  have no neighbourhood structure: hnswlib alone, M=16, ef_construction=200, ef=200,
  finds about 20% of the true top 10 at 100,000), restart times.

    .venv/bin/python bench/collections.py [--quick] [--docs N] [--vectors N] [--queries N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    OUT_DIR,
    SENTENCE_MODEL,
    ServerRun,
    fmt,
    fmt_ratio,
    latentd_server,
    machine_info,
    percentile,
    print_table,
    ratio,
    warn_if_busy,
    write_json,
)
from corpus import load_corpus

from latentd.testing import health_status, stop_process

TEXT_COLLECTION = "debian"
VECTOR_COLLECTION = "debian-vectors"
SYNOPSIS_COLLECTION = "debian-synopsis"
RANDOM_COLLECTION = "random"
DIMENSION = 384
K = 10
SEED = 0
TIE_EPS = 1e-5
# How each Search was answered (the response's searched_with), counted per case.
SEARCHED_WITH: Counter[str] = Counter()

TARGET_ENCODE_DOCS_S = 250.0
TARGET_VECTOR_DOCS_S = 20_000.0
TARGET_P99_MS = 5.0
# What the issue measured for SentenceTransformer.encode(batch_size=64) on this machine.
ISSUE_INPROCESS_SENTENCES_S = 270.0


# ---------------------------------------------------------------------------
# The client calls, in one place


def create_text_collection(client: Any, name: str) -> None:
    client.create_collection(name, model=SENTENCE_MODEL)


def create_vector_collection(client: Any, name: str) -> None:
    client.create_collection(name, dimension=DIMENSION)


def upsert(client: Any, name: str, documents: list[dict[str, Any]]) -> None:
    client.upsert(name, documents, batch_size=len(documents))


def search(
    client: Any,
    name: str,
    query: str | np.ndarray,
    *,
    filter: dict[str, Any] | None = None,
    exact: bool = False,
    ef: int | None = None,
    timeout: float | None = None,
) -> list[tuple[str, float]]:
    result = client.search(name, query, k=K, filter=filter, exact=exact, ef=ef, timeout=timeout)
    searched_with = getattr(result, "searched_with", None)
    SEARCHED_WITH[str(getattr(searched_with, "name", searched_with))] += 1
    return [(hit.id, float(hit.score)) for hit in result.hits]


# ---------------------------------------------------------------------------
# The server


@contextlib.contextmanager
def collections_server(
    cache_dir: Path, data_dir: Path, log_path: Path, sentence_dir: str
) -> Iterator[ServerRun]:
    """common.latentd_server with the data directory, no default models and only the
    sentence model (the LATENT_* environment reaches the child through child_env)."""
    env = {
        "LATENT_DATA_DIR": str(data_dir),
        "LATENT_DEFAULT_MODELS": "false",
        "LATENT_SENTENCE_MODELS": f"{SENTENCE_MODEL}={sentence_dir}",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with latentd_server(cache_dir, log_path) as run:
            yield run
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_stop(run: ServerRun) -> float:
    started = time.perf_counter()
    stop_process(run.proc, timeout=300.0)
    return time.perf_counter() - started


COLLECTION_LINE = re.compile(r"collection (\S+): (\d+) documents, index (.*?), in ([\d.]+)s")


def collection_log_lines(log_path: Path) -> list[str]:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    return [m.group(0) for m in COLLECTION_LINE.finditer(text)]


def directory_bytes(path: Path) -> dict[str, int]:
    """Bytes of each file under `path` (relative names) and "total"."""
    sizes: dict[str, int] = {}
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                sizes[str(file.relative_to(path))] = file.stat().st_size
    sizes["total"] = sum(sizes.values())
    return sizes


def delete_snapshots(collection_dir: Path) -> list[str]:
    removed = sorted(p.name for p in collection_dir.glob("index*.hnsw*"))
    for name in removed:
        (collection_dir / name).unlink()
    return removed


def restart(
    label: str,
    cache_dir: Path,
    data_dir: Path,
    sentence_dir: str,
    collection: str,
    query: str | np.ndarray,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Spawn latentd on `data_dir`; seconds until health SERVING and until `collection`
    answers a Search; then the time SIGTERM takes to stop it."""
    from latent import Client

    log_path = OUT_DIR / f"latentd-collections-{label}.log"
    with collections_server(cache_dir, data_dir, log_path, sentence_dir) as run:
        serving_s = answered_s = None
        with Client(run.target, timeout=5.0) as client:
            while time.perf_counter() - run.spawned_at < timeout:
                if run.proc.poll() is not None:
                    raise RuntimeError(f"latentd exited with {run.proc.returncode}: {log_path}")
                if serving_s is None and health_status(run.target, 1.0) == 1:
                    serving_s = time.perf_counter() - run.spawned_at
                if serving_s is not None:
                    try:
                        search(client, collection, query, timeout=5.0)
                    except Exception:  # not answering yet
                        pass
                    else:
                        answered_s = time.perf_counter() - run.spawned_at
                        break
                time.sleep(0.02)
            state_at_answer = index_state(client, collection)
            hnsw_s = None
            if wait_indexed(client, collection, timeout) is not None:
                hnsw_s = time.perf_counter() - run.spawned_at
        stop_s = timed_stop(run)
    return {
        "serving_s": serving_s,
        "search_answers_s": answered_s,
        "index_state_at_answer": state_at_answer,
        "hnsw_s": hnsw_s,
        "stop_s": stop_s,
        "log": collection_log_lines(log_path),
    }


# ---------------------------------------------------------------------------
# Measurements


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def timed_import(
    client: Any,
    name: str,
    documents: list[dict[str, Any]],
    batch: int,
    pid: int,
    while_indexing: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Upsert in batches (one RPC each), timing each; docs/s until the last is
    acknowledged and until the index state is HNSW, and the CPU seconds of this process
    (the client) and of the server. `while_indexing` runs between the two."""
    client_cpu0, server_cpu0 = time.process_time(), cpu_seconds(pid)
    per_batch: list[float] = []
    started = time.perf_counter()
    for chunk in batches(documents, batch):
        t0 = time.perf_counter()
        upsert(client, name, list(chunk))
        per_batch.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    server_cpu1 = cpu_seconds(pid)
    count = client.count(name)
    state_after = index_state(client, name)
    during = while_indexing() if while_indexing is not None else None
    indexed = wait_indexed(client, name)
    indexed_s = None if indexed is None else time.perf_counter() - started
    server_cpu2 = cpu_seconds(pid)
    return {
        "documents": len(documents),
        "count_after": int(getattr(count, "count", count)),
        "batch": batch,
        "seconds": seconds,
        "docs_per_s": len(documents) / seconds,
        "index_state_after": state_after,
        "while_indexing": during,
        "indexed_s": indexed_s,
        "docs_per_s_indexed": None if indexed_s is None else len(documents) / indexed_s,
        "server_cpu_indexed_s": None
        if server_cpu0 is None or server_cpu2 is None
        else server_cpu2 - server_cpu0,
        "batch_ms_p50": percentile(per_batch, 50) * 1000,
        "batch_ms_p99": percentile(per_batch, 99) * 1000,
        "client_cpu_s": time.process_time() - client_cpu0,
        "server_cpu_s": None
        if server_cpu0 is None or server_cpu1 is None
        else server_cpu1 - server_cpu0,
        "batch_seconds": per_batch,
    }


def index_state(client: Any, name: str) -> str:
    return str(client.get_collection(name, timeout=5.0).index_state)


def wait_indexed(client: Any, name: str, timeout: float = 1800.0) -> float | None:
    """Seconds until the collection's index state is HNSW (every acknowledged document
    in the HNSW index: the indexer runs after the acknowledgement); None on timeout."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if index_state(client, name) == "hnsw":
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def encode_baseline(
    model: Any, texts: list[str], batch: int = 64, per_batch_texts: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """SentenceTransformer.encode(texts, batch_size=64) in this process: one call over all
    texts (encode sorts them by length first, so its batches hold texts of about one
    length); then, over the first `per_batch_texts`, one call per batch of `batch` in
    corpus order (what one Upsert request of that many lets the server do)."""
    model.encode(texts[:batch], batch_size=batch)  # warm-up
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=batch, convert_to_numpy=True)
    whole = time.perf_counter() - started
    result: dict[str, Any] = {
        "texts": len(texts),
        "batch_size": batch,
        "one_call_s": whole,
        "one_call_sentences_per_s": len(texts) / whole,
    }
    if per_batch_texts:
        subset = texts[:per_batch_texts]
        started = time.perf_counter()
        for chunk in batches(subset, batch):
            model.encode(list(chunk), batch_size=batch)
        chunked = time.perf_counter() - started
        result.update(
            per_batch_texts=len(subset),
            per_batch_s=chunked,
            per_batch_sentences_per_s=len(subset) / chunked,
        )
    return np.asarray(vectors, np.float32), result


def time_searches(
    client: Any,
    name: str,
    queries: Sequence[str | np.ndarray],
    *,
    filter: dict[str, Any] | None = None,
    exact: bool = False,
    ef: int | None = None,
) -> tuple[list[float], list[list[tuple[str, float]]]]:
    for query in queries[:5]:  # warm-up
        search(client, name, query, filter=filter, exact=exact, ef=ef)
    seconds: list[float] = []
    answers: list[list[tuple[str, float]]] = []
    for query in queries:
        t0 = time.perf_counter()
        hits = search(client, name, query, filter=filter, exact=exact, ef=ef)
        seconds.append(time.perf_counter() - t0)
        answers.append(hits)
    return seconds, answers


def recall(
    approx: list[list[tuple[str, float]]], exact: list[list[tuple[str, float]]]
) -> dict[str, float]:
    """Mean recall@k of `approx` against `exact` by id, and with ties: a hit whose score
    reaches the exact k-th score (within TIE_EPS) counts as found (duplicate texts)."""
    strict: list[float] = []
    tied: list[float] = []
    for found, truth in zip(approx, exact, strict=True):
        if not truth:
            continue
        truth_ids = {doc_id for doc_id, _ in truth}
        kth = truth[-1][1]
        strict.append(sum(doc_id in truth_ids for doc_id, _ in found) / len(truth))
        tied.append(
            min(len(truth), sum(d in truth_ids or s >= kth - TIE_EPS for d, s in found))
            / len(truth)
        )
    return {
        "recall_at_10": float(np.mean(strict)) if strict else float("nan"),
        "recall_at_10_ties": float(np.mean(tied)) if tied else float("nan"),
        "queries_with_answers": len(strict),
    }


def search_case(
    client: Any,
    name: str,
    queries: Sequence[str | np.ndarray],
    filter: dict[str, Any] | None,
) -> dict[str, Any]:
    SEARCHED_WITH.clear()
    hnsw_s, hnsw_answers = time_searches(client, name, queries, filter=filter)
    searched_with = dict(SEARCHED_WITH)
    SEARCHED_WITH.clear()
    exact_s, exact_answers = time_searches(client, name, queries, filter=filter, exact=True)
    exact_searched_with = dict(SEARCHED_WITH)
    return {
        "queries": len(queries),
        "p50_ms": percentile(hnsw_s, 50) * 1000,
        "p99_ms": percentile(hnsw_s, 99) * 1000,
        "exact_p50_ms": percentile(exact_s, 50) * 1000,
        "exact_p99_ms": percentile(exact_s, 99) * 1000,
        "mean_hits": float(np.mean([len(a) for a in hnsw_answers])),
        "searched_with": searched_with,
        "exact_searched_with": exact_searched_with,
        **recall(hnsw_answers, exact_answers),
        "_exact_answers": exact_answers,
    }


def pick_sections(documents: list[dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """The section whose share is nearest 2% (between 1% and 5%) and the largest one."""
    counts: dict[str, int] = {}
    for doc in documents:
        section = doc["metadata"]["section"]
        counts[section] = counts.get(section, 0) + 1
    shares = {s: c / len(documents) for s, c in counts.items()}
    selective = min(
        (s for s, share in shares.items() if 0.01 <= share <= 0.05),
        key=lambda s: abs(shares[s] - 0.02),
    )
    broad = max(shares, key=lambda s: shares[s])
    return {"selective": (selective, shares[selective]), "broad": (broad, shares[broad])}


def numpy_exact_agreement(
    vectors: np.ndarray,
    ids: list[str],
    queries: np.ndarray,
    server_exact: list[list[tuple[str, float]]],
) -> float:
    """Share of the server's exact top-10 ids that a numpy cosine top-10 also holds."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = q @ unit.T
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    agree = [
        len({ids[i] for i in row} & {d for d, _ in answer}) / K
        for row, answer in zip(top, server_exact, strict=True)
    ]
    return float(np.mean(agree))


def strip_private(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_private(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_private(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# The runs


def hnswlib_alone(vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """hnswlib in this process on the same vectors, with the collection's settings
    (cosine, M=16, ef_construction=200, ef=200): add_items on one thread, as latentd's
    indexer adds, and one knn_query(k=10) at a time."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=vectors.shape[1])
    index.init_index(max_elements=len(vectors), M=16, ef_construction=200)
    started = time.perf_counter()
    index.add_items(vectors, np.arange(len(vectors)), num_threads=1)
    add_s = time.perf_counter() - started
    index.set_ef(200)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        index.knn_query(query, k=K, num_threads=1)
        seconds.append(time.perf_counter() - started)
    return {
        "vectors": len(vectors),
        "add_s": add_s,
        "add_per_s": len(vectors) / add_s,
        "query_p50_ms": percentile(seconds, 50) * 1000,
        "query_p99_ms": percentile(seconds, 99) * 1000,
    }


def run_documents(
    args: argparse.Namespace,
    cache_dir: Path,
    data_dir: Path,
    sentence_dir: str,
    results: dict[str, Any],
) -> None:
    from sentence_transformers import SentenceTransformer

    from latent import Client

    corpus = load_corpus(args.docs + args.queries)
    documents, query_docs = corpus[: args.docs], corpus[args.docs :]
    texts = [d["text"] for d in documents]
    query_texts = [d["text"] for d in query_docs]
    synopsis_docs = [
        {"id": d["id"], "text": d["text"].split(". ", 1)[0], "metadata": d["metadata"]}
        for d in documents[: args.synopsis_docs]
    ]
    lengths = [len(t) for t in texts]
    results["corpus"] = {
        "documents": len(documents),
        "queries": len(query_texts),
        "text_chars_median": float(np.median(lengths)),
        "text_chars_mean": float(np.mean(lengths)),
    }

    print(f"encoding {len(texts):,} texts in this process (batch_size=64) ...", flush=True)
    model = SentenceTransformer(sentence_dir, device="cpu")
    vectors, baseline = encode_baseline(model, texts, args.text_batch, args.per_batch_docs)
    _, synopsis_baseline = encode_baseline(model, [d["text"] for d in synopsis_docs])
    query_vectors = np.asarray(model.encode(query_texts, batch_size=64), np.float32)
    results["inprocess_encode"] = baseline
    results["inprocess_encode_synopsis"] = synopsis_baseline
    print("hnswlib alone on the same vectors ...", flush=True)
    results["hnswlib_documents"] = hnswlib_alone(vectors, query_vectors)
    print(
        f"  {baseline['one_call_sentences_per_s']:.1f} sentences/s in one call, "
        f"{baseline['per_batch_sentences_per_s']:.1f} batch by batch; synopses "
        f"{synopsis_baseline['one_call_sentences_per_s']:.1f} sentences/s",
        flush=True,
    )
    del model

    log_path = OUT_DIR / "latentd-collections.log"
    with collections_server(cache_dir, data_dir, log_path, sentence_dir) as run:
        results["first_start_serving_s"] = run.wait_serving(timeout=600)
        with Client(run.target, timeout=600.0) as client:
            print(f"importing {len(documents):,} documents with encoding ...", flush=True)
            create_text_collection(client, TEXT_COLLECTION)
            text_docs = [
                {"id": d["id"], "text": d["text"], "metadata": d["metadata"]} for d in documents
            ]
            results["import_encoding"] = timed_import(
                client, TEXT_COLLECTION, text_docs, args.text_batch, run.pid
            )
            first = results["import_encoding"]["batch_seconds"][: -(-args.per_batch_docs // 64)]
            results["import_encoding"]["first_docs_per_s"] = min(
                args.per_batch_docs, len(documents)
            ) / sum(first)
            print(f"  {results['import_encoding']['docs_per_s']:.1f} docs/s", flush=True)

            create_text_collection(client, SYNOPSIS_COLLECTION)
            results["import_encoding_synopsis"] = timed_import(
                client, SYNOPSIS_COLLECTION, synopsis_docs, args.text_batch, run.pid
            )
            client.delete_collection(SYNOPSIS_COLLECTION)

            print("importing the same documents with their vectors given ...", flush=True)
            create_text_collection(client, VECTOR_COLLECTION)
            given = [
                {**doc, "vector": vector} for doc, vector in zip(text_docs, vectors, strict=True)
            ]
            results["import_vectors"] = timed_import(
                client, VECTOR_COLLECTION, given, args.vector_batch, run.pid
            )
            print(f"  {results['import_vectors']['docs_per_s']:.1f} docs/s", flush=True)
            client.delete_collection(VECTOR_COLLECTION)

            sections = pick_sections(documents)
            results["filters"] = {k: {"section": s, "share": v} for k, (s, v) in sections.items()}
            cases: dict[str, Any] = {}
            for filter_name, filter_value in (
                ("none", None),
                ("selective", {"section": sections["selective"][0]}),
                ("broad", {"section": sections["broad"][0]}),
            ):
                for query_kind, queries in (
                    ("text", query_texts),
                    ("vector", list(query_vectors)),
                ):
                    print(f"searching: filter {filter_name}, by {query_kind} ...", flush=True)
                    cases[f"{query_kind}/{filter_name}"] = search_case(
                        client, TEXT_COLLECTION, queries, filter_value
                    )
            results["search_10k"] = cases
            results["server_rss_mib"] = run.rss_mib()
            results["server_peak_rss_mib"] = run.peak_rss_mib()
        results["stop_s"] = timed_stop(run)

    collection_dir = data_dir / TEXT_COLLECTION
    results["disk_10k"] = directory_bytes(collection_dir)
    if args.no_restart:
        return
    query = query_texts[0]
    print("restarting with a valid snapshot ...", flush=True)
    results["restart_10k_snapshot"] = restart(
        "10k-snapshot", cache_dir, data_dir, sentence_dir, TEXT_COLLECTION, query
    )
    removed = delete_snapshots(collection_dir)
    print(f"restarting without the snapshot (deleted {removed}) ...", flush=True)
    results["restart_10k_rebuild"] = restart(
        "10k-rebuild", cache_dir, data_dir, sentence_dir, TEXT_COLLECTION, query
    )
    results["restart_10k_rebuild"]["deleted"] = removed


def run_vectors(
    args: argparse.Namespace,
    cache_dir: Path,
    data_dir: Path,
    sentence_dir: str,
    results: dict[str, Any],
) -> None:
    from latent import Client

    rng = np.random.default_rng(SEED)
    vectors = rng.standard_normal((args.vectors, DIMENSION), dtype=np.float32)
    queries = rng.standard_normal((args.queries, DIMENSION), dtype=np.float32)
    ids = [f"v{i:06d}" for i in range(args.vectors)]
    documents = [{"id": i, "vector": v} for i, v in zip(ids, vectors, strict=True)]

    print(f"hnswlib alone on {args.vectors:,} random vectors ...", flush=True)
    results["hnswlib_random"] = hnswlib_alone(vectors, queries)
    log_path = OUT_DIR / "latentd-collections-vectors.log"
    with collections_server(cache_dir, data_dir, log_path, sentence_dir) as run:
        run.wait_serving(timeout=600)
        with Client(run.target, timeout=600.0) as client:
            with contextlib.suppress(Exception):
                client.delete_collection(TEXT_COLLECTION)  # restarts below: this one only
            create_vector_collection(client, RANDOM_COLLECTION)
            print(f"importing {args.vectors:,} random vectors ...", flush=True)

            def searches_while_indexing() -> dict[str, Any]:
                SEARCHED_WITH.clear()
                seconds, _ = time_searches(client, RANDOM_COLLECTION, list(queries))
                return {
                    "queries": len(seconds),
                    "p50_ms": percentile(seconds, 50) * 1000,
                    "p99_ms": percentile(seconds, 99) * 1000,
                    "searched_with": dict(SEARCHED_WITH),
                }

            results["import_random"] = timed_import(
                client,
                RANDOM_COLLECTION,
                documents,
                args.vector_batch,
                run.pid,
                searches_while_indexing,
            )
            print(f"  {results['import_random']['docs_per_s']:.1f} docs/s", flush=True)
            print("searching by vector ...", flush=True)
            case = search_case(client, RANDOM_COLLECTION, list(queries), None)
            case["numpy_agrees_with_exact"] = numpy_exact_agreement(
                vectors, ids, queries, case["_exact_answers"]
            )
            results["search_random"] = case
            sweep = {}
            for ef in args.ef:
                print(f"searching by vector with ef={ef} ...", flush=True)
                seconds, answers = time_searches(client, RANDOM_COLLECTION, list(queries), ef=ef)
                sweep[str(ef)] = {
                    "p50_ms": percentile(seconds, 50) * 1000,
                    "p99_ms": percentile(seconds, 99) * 1000,
                    **recall(answers, case["_exact_answers"]),
                }
            results["search_random_ef"] = sweep
            results["server_rss_mib_random"] = run.rss_mib()
        results["stop_random_s"] = timed_stop(run)

    collection_dir = data_dir / RANDOM_COLLECTION
    results["disk_random"] = directory_bytes(collection_dir)
    if args.no_restart:
        return
    query = queries[0]
    print("restarting with a valid snapshot ...", flush=True)
    results["restart_random_snapshot"] = restart(
        "random-snapshot", cache_dir, data_dir, sentence_dir, RANDOM_COLLECTION, query
    )
    removed = delete_snapshots(collection_dir)
    print(f"restarting without the snapshot (deleted {removed}) ...", flush=True)
    results["restart_random_rebuild"] = restart(
        "random-rebuild", cache_dir, data_dir, sentence_dir, RANDOM_COLLECTION, query
    )
    results["restart_random_rebuild"]["deleted"] = removed


# ---------------------------------------------------------------------------
# Tables


def mib(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.1f} MiB"


def print_tables(r: dict[str, Any], args: argparse.Namespace) -> None:
    enc, vec = r.get("import_encoding"), r.get("import_vectors")
    base = r.get("inprocess_encode")
    rnd = r.get("import_random")
    rows: list[list[Any]] = []
    if enc and base:
        rows += [
            [
                f"import with encoding ({enc['documents']:,} docs)",
                f"{enc['docs_per_s']:,.1f} docs/s",
                f">= {TARGET_ENCODE_DOCS_S:,.0f}",
                fmt_ratio(ratio(enc["docs_per_s"], TARGET_ENCODE_DOCS_S)),
            ],
            [
                "  in-process encode, one call (batch_size=64)",
                f"{base['one_call_sentences_per_s']:,.1f} sentences/s",
                f"issue: ~{ISSUE_INPROCESS_SENTENCES_S:.0f}",
                "import / in-process: "
                + fmt_ratio(ratio(enc["docs_per_s"], base["one_call_sentences_per_s"])),
            ],
            [
                f"  in-process encode, batch by batch (first {base['per_batch_texts']:,})",
                f"{base['per_batch_sentences_per_s']:,.1f} sentences/s",
                "",
                "import of those / in-process: "
                + fmt_ratio(ratio(enc["first_docs_per_s"], base["per_batch_sentences_per_s"])),
            ],
        ]
    syn, syn_base = r.get("import_encoding_synopsis"), r.get("inprocess_encode_synopsis")
    if syn and syn_base:
        rows.append(
            [
                f"import with encoding, synopsis only ({syn['documents']:,} docs)",
                f"{syn['docs_per_s']:,.1f} docs/s "
                f"(in-process {syn_base['one_call_sentences_per_s']:,.1f})",
                f">= {TARGET_ENCODE_DOCS_S:,.0f}",
                fmt_ratio(ratio(syn["docs_per_s"], TARGET_ENCODE_DOCS_S))
                + " (import / in-process: "
                + fmt_ratio(ratio(syn["docs_per_s"], syn_base["one_call_sentences_per_s"]))
                + ")",
            ]
        )
    for m, title, alone in (
        (vec, "import with vectors given", r.get("hnswlib_documents")),
        (rnd, "import random 384-d vectors", r.get("hnswlib_random")),
    ):
        if not m:
            continue
        rows.append(
            [
                f"{title} ({m['documents']:,} docs), acknowledged",
                f"{m['docs_per_s']:,.0f} docs/s",
                f">= {TARGET_VECTOR_DOCS_S:,.0f}",
                fmt_ratio(ratio(m["docs_per_s"], TARGET_VECTOR_DOCS_S)),
            ]
        )
        rows.append(
            [
                "  until the index is HNSW",
                f"{fmt(m['docs_per_s_indexed'], 0)} docs/s",
                "",
                fmt_ratio(ratio(m["docs_per_s_indexed"], TARGET_VECTOR_DOCS_S)),
            ]
        )
        if alone:
            rows.append(
                [
                    "  hnswlib alone, add_items on one thread",
                    f"{fmt(alone['add_per_s'], 0)} vectors/s",
                    "",
                    "until HNSW / hnswlib: "
                    + fmt_ratio(ratio(m["docs_per_s_indexed"], alone["add_per_s"])),
                ]
            )
    sr = r.get("search_random")
    if sr:
        rows.append(
            [
                f"Search p99 at {args.vectors:,} vectors (by vector)",
                f"{sr['p99_ms']:.2f} ms",
                f"<= {TARGET_P99_MS:.0f} ms",
                fmt_ratio(ratio(sr["p99_ms"], TARGET_P99_MS)),
            ]
        )
    for key, title, case in (
        ("hnswlib_documents", "documents", (r.get("search_10k") or {}).get("vector/none")),
        ("hnswlib_random", "random", sr),
    ):
        alone = r.get(key)
        if alone and case:
            rows.append(
                [
                    f"  hnswlib alone, knn_query p50 / p99 ({title})",
                    f"{alone['query_p50_ms']:.2f} / {alone['query_p99_ms']:.2f} ms",
                    "",
                    "Search p50 / hnswlib: "
                    + fmt_ratio(ratio(case["p50_ms"], alone["query_p50_ms"])),
                ]
            )
    print_table(
        "Targets of the collections issue", ["measure", "value", "target", "value / target"], rows
    )

    import_rows = []
    for key, title in (
        ("import_encoding", "with encoding"),
        ("import_encoding_synopsis", "with encoding, synopsis only"),
        ("import_vectors", "vectors given"),
        ("import_random", "random vectors given"),
    ):
        m = r.get(key)
        if m:
            import_rows.append(
                [
                    title,
                    m["documents"],
                    m["count_after"],
                    m["batch"],
                    fmt(m["seconds"]),
                    fmt(m["docs_per_s"], 1),
                    fmt(m["indexed_s"]),
                    fmt(m["docs_per_s_indexed"], 1),
                    fmt(m["batch_ms_p50"], 1),
                    fmt(m["batch_ms_p99"], 1),
                    fmt(m["client_cpu_s"]),
                    fmt(m["server_cpu_s"]),
                    fmt(m["server_cpu_indexed_s"]),
                ]
            )
    print_table(
        "Import",
        [
            "import",
            "docs",
            "Count after",
            "batch",
            "s (acknowledged)",
            "docs/s",
            "s until HNSW",
            "docs/s until HNSW",
            "batch p50 ms",
            "batch p99 ms",
            "client CPU s",
            "server CPU s",
            "server CPU s until HNSW",
        ],
        import_rows,
    )

    search_rows = []
    filters = r.get("filters", {})
    for name, case in r.get("search_10k", {}).items():
        kind, filter_name = name.split("/")
        described = "none"
        if filter_name != "none":
            chosen = filters[filter_name]
            described = f"section={chosen['section']} ({chosen['share']:.1%})"
        search_rows.append(search_row(f"{r['corpus']['documents']:,} docs", kind, described, case))
    if sr:
        search_rows.append(search_row(f"{args.vectors:,} random", "vector", "none", sr))
    for ef, m in r.get("search_random_ef", {}).items():
        search_rows.append(
            [
                f"{args.vectors:,} random, ef={ef}",
                "vector",
                "none",
                fmt(m["p50_ms"]),
                fmt(m["p99_ms"]),
                "",
                "",
                fmt(m["recall_at_10"], 3),
                fmt(m["recall_at_10_ties"], 3),
                "",
            ]
        )
    during = (rnd or {}).get("while_indexing")
    if during:
        search_rows.append(
            [
                f"{args.vectors:,} random, right after the import",
                "vector",
                "none",
                fmt(during["p50_ms"]),
                fmt(during["p99_ms"]),
                "",
                "",
                "",
                "",
                ", ".join(f"{state} {n}" for state, n in during["searched_with"].items()),
            ]
        )
    print_table(
        "Search (k=10, one call at a time)",
        [
            "collection",
            "query",
            "filter",
            "p50 ms",
            "p99 ms",
            "exact p50 ms",
            "exact p99 ms",
            "recall@10",
            "recall@10 (ties)",
            "searched with (HNSW calls)",
        ],
        search_rows,
    )

    disk_rows = []
    for key, title in (("disk_10k", "debian"), ("disk_random", "random")):
        sizes = r.get(key)
        if sizes:
            files = ", ".join(f"{n} {mib(b)}" for n, b in sizes.items() if n != "total")
            disk_rows.append([title, mib(sizes["total"]), files])
    print_table("Disk (after the server stopped)", ["collection", "total", "files"], disk_rows)

    restart_rows = []
    for key, title in (
        ("restart_10k_snapshot", "debian, valid snapshot"),
        ("restart_10k_rebuild", "debian, snapshot deleted"),
        ("restart_random_snapshot", "random, valid snapshot"),
        ("restart_random_rebuild", "random, snapshot deleted"),
    ):
        m = r.get(key)
        if m:
            restart_rows.append(
                [
                    title,
                    fmt(m["serving_s"]),
                    fmt(m["search_answers_s"]),
                    m["index_state_at_answer"],
                    fmt(m["hnsw_s"]),
                    fmt(m["stop_s"]),
                    "; ".join(m["log"]),
                ]
            )
    if not restart_rows:
        return
    print_table(
        "Restart (seconds from spawn; the sentence model loads first)",
        [
            "collection",
            "SERVING",
            "Search answers",
            "index then",
            "index HNSW",
            "stop (SIGTERM)",
            "server log",
        ],
        restart_rows,
    )


def search_row(collection: str, kind: str, described: str, case: dict[str, Any]) -> list[Any]:
    return [
        collection,
        kind,
        described,
        fmt(case["p50_ms"]),
        fmt(case["p99_ms"]),
        fmt(case["exact_p50_ms"]),
        fmt(case["exact_p99_ms"]),
        fmt(case["recall_at_10"], 3),
        fmt(case["recall_at_10_ties"], 3),
        ", ".join(f"{state} {n}" for state, n in case["searched_with"].items()),
    ]


# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the sizes --quick or the full run implies filled in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 docs, 20,000 vectors")
    parser.add_argument("--docs", type=int, default=None, help="default 10,000")
    parser.add_argument("--vectors", type=int, default=None, help="default 100,000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synopsis-docs", type=int, default=None, help="default 2,000")
    parser.add_argument("--per-batch-docs", type=int, default=None, help="default 2,000")
    parser.add_argument("--text-batch", type=int, default=64, help="documents per Upsert")
    parser.add_argument("--vector-batch", type=int, default=1024, help="documents per Upsert")
    parser.add_argument(
        "--ef",
        type=int,
        nargs="*",
        default=[400, 1000],
        help="HNSW search breadths also tried on the random vectors (server default: 200)",
    )
    parser.add_argument("--only", choices=("documents", "vectors"), default=None)
    parser.add_argument(
        "--no-restart", action="store_true", help="skip the restarts (import and search only)"
    )
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--keep-data", default=None, help="data directory to keep")
    args = parser.parse_args(argv)
    args.docs = args.docs or (2_000 if args.quick else 10_000)
    args.vectors = args.vectors or (20_000 if args.quick else 100_000)
    args.synopsis_docs = args.synopsis_docs or (500 if args.quick else 2_000)
    args.per_batch_docs = min(args.docs, args.per_batch_docs or (500 if args.quick else 2_000))
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every step `args` asks for, each with its own servers; prints the tables and
    returns the results (without the private `_` entries)."""
    from latentd.app import default_sentence_dir

    warn_if_busy()
    sentence_dir = default_sentence_dir()
    results: dict[str, Any] = {"args": vars(args), "machine_before": machine_info()}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="latent-bench-")))
        cache_dir = Path(args.cache_dir) if args.cache_dir else root / "cache"
        data_dir = Path(args.keep_data) if args.keep_data else root / "data"
        if args.keep_data and data_dir.exists():
            shutil.rmtree(data_dir)
        steps: list[Callable[..., None]] = []
        if args.only in (None, "documents"):
            steps.append(run_documents)
        if args.only in (None, "vectors"):
            steps.append(run_vectors)
        for step in steps:
            step(args, cache_dir, data_dir, sentence_dir, results)
    results["total_s"] = time.perf_counter() - started
    print_tables(results, args)
    cleaned: dict[str, Any] = strip_private(results)
    return cleaned


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    write_json("collections-quick" if args.quick else "collections", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
