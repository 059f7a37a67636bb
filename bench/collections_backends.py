"""The two collections backends side by side: the embedded store (SQLite + hnswlib under
the data directory) and Milvus (a Milvus Lite file; the same code talks to a Milvus
server with --milvus-uri), in one `latentd serve`, the same documents, the same queries.

The documents are clustered 384-d vectors (a seeded mixture of 500 Gaussian clusters,
so that nearest neighbours mean something, unlike uniform noise) with metadata; one
collection per backend, created with `backend`. It measures, through the Python client
on loopback, one call at a time:

- import: N documents upserted in batches of 256 (acknowledged docs/s), and the time
  until the collection reports its index HNSW (the embedded store indexes after the
  acknowledgement; Milvus before it answers);
- Search by vector, k=10: p50 and p99 over the queries, without a filter, with one that
  holds for a tenth of the documents and with one that holds for half of them;
- recall@10 of that Search against the exact top 10 (numpy, over the same vectors and
  filter: asking the server for exact=True would time Milvus's whole-collection fetch).

    .venv/bin/python bench/collections_backends.py [--docs 20000] [--queries 100]
        [--milvus-uri URI]   (about 6 minutes with the defaults on 2 cores)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from common import OUT_DIR, fmt, latentd_server, percentile, print_table, warn_if_busy, write_json

import latent

DIM = 384
BATCH = 256
BACKENDS = ("embedded", "milvus")
# Buckets 0..9: a tenth of the documents (answered exactly by both backends: fewer than
# 4,096 match), and half of them (HNSW with the filter).
CASES: dict[str, tuple[dict[str, Any] | None, Any]] = {
    "no filter": (None, lambda buckets: np.ones(len(buckets), bool)),
    "filter 1/10": ({"bucket": 3}, lambda buckets: buckets == 3),
    "filter 1/2": ({"bucket": {"lt": 5}}, lambda buckets: buckets < 5),
}


def clustered(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(500, DIM))
    points = centres[rng.integers(0, 500, count)] + 0.35 * rng.normal(size=(count, DIM))
    return points.astype(np.float32)


@contextlib.contextmanager
def server(milvus_uri: str | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="latent-bench-backends-") as tmp:
        env = {"LATENT_DATA_DIR": f"{tmp}/data", "LATENT_DEFAULT_MODELS": "false"}
        env["LATENT_MILVUS_URI"] = milvus_uri or f"{tmp}/lite.db"
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            with latentd_server(Path(tmp) / "cache", OUT_DIR / "latentd-backends.log") as run:
                run.wait_serving()
                yield run.target
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def exact_top10(vectors: np.ndarray, queries: np.ndarray, allowed: np.ndarray) -> list[list[str]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    scores[:, ~allowed] = -np.inf
    return [[f"d{i}" for i in np.argsort(-row)[:10]] for row in scores]


def hits(client: latent.Client, name: str, query: np.ndarray, **options: Any) -> list[str]:
    return [h.id for h in client.search(name, query, k=10, **options).hits]


def measure(client: latent.Client, backend: str, vectors: np.ndarray, queries: np.ndarray) -> dict:
    name = f"bench-{backend}"
    client.create_collection(name, dimension=DIM, backend=backend)
    started = time.perf_counter()
    for start in range(0, len(vectors), BATCH):
        client.upsert(
            name,
            [
                {"id": f"d{i}", "vector": vectors[i], "metadata": {"bucket": i % 10}}
                for i in range(start, min(start + BATCH, len(vectors)))
            ],
        )
    acknowledged = time.perf_counter() - started
    while client.get_collection(name).index_state != "hnsw":
        time.sleep(0.05)
    indexed = time.perf_counter() - started
    result: dict[str, Any] = {
        "import_docs_per_s": len(vectors) / acknowledged,
        "until_hnsw_s": indexed,
    }
    buckets = np.arange(len(vectors)) % 10
    for case, (filter, mask) in CASES.items():
        for query in queries[:5]:
            hits(client, name, query, filter=filter)  # warm-up
        seconds, found = [], []
        for query in queries:
            t0 = time.perf_counter()
            found.append(hits(client, name, query, filter=filter))
            seconds.append(time.perf_counter() - t0)
        exact = exact_top10(vectors, queries, mask(buckets))
        pairs = zip(found, exact, strict=True)
        recall = np.mean([len(set(f) & set(e)) / max(1, len(e)) for f, e in pairs])
        ms = [s * 1000 for s in seconds]
        result[case] = {
            "p50_ms": percentile(ms, 50),
            "p99_ms": percentile(ms, 99),
            "recall_at_10": float(recall),
        }
    client.delete_collection(name)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--milvus-uri", help="a Milvus server (default: a Milvus Lite file)")
    args = parser.parse_args()
    warn_if_busy()
    vectors = clustered(args.docs, seed=1)
    queries = clustered(args.queries, seed=2)
    results: dict[str, Any] = {}
    with server(args.milvus_uri) as target, latent.Client(target, timeout=600) as client:
        for backend in BACKENDS:
            results[backend] = measure(client, backend, vectors, queries)
    rows = [
        [
            backend,
            fmt(r["import_docs_per_s"], 0),
            fmt(r["until_hnsw_s"], 1),
            *(
                value
                for case in CASES
                for value in (
                    fmt(r[case]["p50_ms"]),
                    fmt(r[case]["p99_ms"]),
                    fmt(r[case]["recall_at_10"], 3),
                )
            ),
        ]
        for backend, r in results.items()
    ]
    print_table(
        f"Collections backends: {args.docs} clustered {DIM}-d vectors, "
        f"{args.queries} queries, k=10",
        [
            "backend",
            "import docs/s",
            "until HNSW s",
            *(f"{case} {what}" for case in CASES for what in ("p50 ms", "p99 ms", "recall@10")),
        ],
        rows,
    )
    write_json("collections_backends", {"docs": args.docs, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
