"""HTTP overhead: the same Encode and Analogy over gRPC and over the HTTP/JSON twin of
one `latentd serve` (default models), in one run on one machine, as median (p50) and p95 latency and
the HTTP-minus-gRPC difference and ratio. Also OpenAI's /v1/embeddings beside Encode.

Calls are sequential and interleaved (gRPC, HTTP, gRPC, ...), so that whatever else the
machine does weighs on both alike. gRPC: raw stubs on one channel. HTTP: one httpx
client with keep-alive (HTTP/1.1), JSON bodies, as a curl or a browser would send them.

    .venv/bin/python bench/http_overhead.py [--calls 500] [--cache-dir .cache/e2e]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable
from typing import Any

import common
import grpc
import httpx
from common import fmt, print_table

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.testing import free_port

SENTENCE = "The quick brown fox jumps over the lazy dog."
ANALOGY = {"positive": [{"key": "king"}, {"key": "woman"}], "negative": [{"key": "man"}]}
WARMUP = 30


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]], calls: int) -> dict:
    results: dict[str, Any] = {}
    for name, (over_grpc, over_http) in pairs.items():
        for _ in range(WARMUP):
            over_grpc(), over_http()
        grpc_s, http_s = [], []
        for _ in range(calls):
            grpc_s.append(timed(over_grpc))
            http_s.append(timed(over_http))
        results[name] = {
            "grpc": common.latency_stats(grpc_s),
            "http": common.latency_stats(http_s),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per RPC and transport")
    parser.add_argument("--cache-dir", help="where the GloVe HNSW index is cached")
    args = parser.parse_args()
    common.warn_if_busy()
    http_port = free_port()
    with contextlib.ExitStack() as stack:
        cache = stack.enter_context(common.cache_directory(args.cache_dir))
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="latent-bench-data-"))
        server = stack.enter_context(
            common.latentd_server(
                cache,
                common.OUT_DIR / "http_overhead.log",
                ["--http-port", str(http_port), "--data-dir", data],
            )
        )
        server.wait_serving()
        server.wait_hnsw()
        channel = stack.enter_context(grpc.insecure_channel(server.target))
        http = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{http_port}"))
        encode = pb_grpc.EmbeddingsStub(channel).Encode
        analogy = pb_grpc.ArithmeticStub(channel).Analogy
        analogy_request = pb.AnalogyRequest(
            positive=[pb.Term(key="king"), pb.Term(key="woman")], negative=[pb.Term(key="man")]
        )

        def checked(response: httpx.Response) -> httpx.Response:
            response.raise_for_status()
            return response

        pairs = {
            "Encode": (
                lambda: encode(pb.EncodeRequest(inputs=[SENTENCE]), timeout=30),
                lambda: checked(http.post("/v1/Embeddings/Encode", json={"inputs": [SENTENCE]})),
            ),
            "Analogy": (
                lambda: analogy(analogy_request, timeout=30),
                lambda: checked(http.post("/v1/Arithmetic/Analogy", json=ANALOGY)),
            ),
            "Encode vs /v1/embeddings": (
                lambda: encode(pb.EncodeRequest(inputs=[SENTENCE]), timeout=30),
                lambda: checked(http.post("/v1/embeddings", json={"input": SENTENCE, "model": ""})),
            ),
        }
        results = measure(pairs, args.calls)
    rows = []
    for name, result in results.items():
        grpc_p50, http_p50 = result["grpc"]["median_ms"], result["http"]["median_ms"]
        rows.append(
            [
                name,
                fmt(grpc_p50),
                fmt(http_p50),
                fmt(http_p50 - grpc_p50),
                common.fmt_ratio(common.ratio(http_p50, grpc_p50)),
                fmt(result["grpc"]["p95_ms"]),
                fmt(result["http"]["p95_ms"]),
            ]
        )
    print_table(
        f"HTTP vs gRPC, {args.calls} sequential calls each, interleaved (ms)",
        ["call", "gRPC p50", "HTTP p50", "HTTP - gRPC", "HTTP/gRPC", "gRPC p95", "HTTP p95"],
        rows,
    )
    common.write_json("http_overhead", {"calls": args.calls, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
