"""The outside probes that broke v1, replayed against a `latentd serve` with the default
models: for each heavy or hostile request, the status it got, its wall time and the CPU
seconds the server spent on it (from /proc/PID/stat), plus concurrent Encode under 16
threads and the server CPU a caller that gave up keeps burning.

    .venv/bin/python bench/probes.py [--cache-dir DIR] [--only NAME ...] [--encode-seconds 20]

The rule they check: with the default limits no single request costs more than about
10 s of CPU on a 2-core machine. Writes bench/out/probes.json.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from common import (
    OUT_DIR,
    SENTENCE_MODEL,
    cache_directory,
    latentd_server,
    machine_info,
    print_table,
    write_json,
)

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Just under the 10,000-character limit, with room for a distinguishing prefix.
LONG_TEXT = ("The committee postponed the vote until the budget figures were checked. " * 140)[
    :9_990
]
COMMON = [
    "water",
    "music",
    "city",
    "green",
    "river",
    "paper",
    "stone",
    "house",
    "money",
    "people",
    "market",
    "school",
    "family",
    "report",
    "season",
    "police",
    "office",
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def key(word: str) -> pb.Term:
    return pb.Term(key=word)


def unknown_words(n: int) -> list[str]:
    """Typos of common words (a letter doubled and one appended): each has thousands of
    keys of a similar length to compare with, as real typos do."""
    letters = "bcdfghjklmnpqrstvwxz"
    return [
        f"{w[:2]}{w[2]}{w[2:]}{letters[i % 20]}"
        for i, w in ((i, COMMON[i % len(COMMON)]) for i in range(n))
    ]


def probes(channel: grpc.Channel) -> dict[str, Callable[[float], Any]]:
    arith = pb_grpc.ArithmeticStub(channel)
    emb = pb_grpc.EmbeddingsStub(channel)
    words = ["car", "king", "water", "music", "city", "green", "river", "paper", "stone", "bird"]
    analogies = [
        pb.AnalogyQuery(positive=[key("king"), key("woman")], negative=[key("man")]),
        pb.AnalogyQuery(positive=[key("paris"), key("germany")], negative=[key("france")]),
    ]

    def nearest_many(n: int, restrict: int, k: int) -> pb.BatchNearestRequest:
        return pb.BatchNearestRequest(
            queries=[pb.NearestQuery(query=[key(words[i % len(words)])]) for i in range(n)],
            k=k,
            options=pb.QueryOptions(restrict=restrict),
        )

    return {
        "nearest k=1 restrict=1": lambda t: arith.Nearest(
            pb.NearestRequest(query=[key("car")], k=1, options=pb.QueryOptions(restrict=1)),
            timeout=t,
        ),
        "batch nearest 100 x restrict=10": lambda t: arith.BatchNearest(
            nearest_many(100, 10, 10), timeout=t
        ),
        "batch nearest 100 x restrict=1 k=1000": lambda t: arith.BatchNearest(
            nearest_many(100, 1, 1000), timeout=t
        ),
        "nearest of 64 unknown keys": lambda t: arith.Nearest(
            pb.NearestRequest(query=[key(w) for w in unknown_words(64)]), timeout=t
        ),
        "encode 256 unknown words (word model)": lambda t: emb.Encode(
            pb.EncodeRequest(model="glove-6b-50d", inputs=unknown_words(256)), timeout=t
        ),
        "batch analogy 5000 cosmul exact": lambda t: arith.BatchAnalogy(
            pb.BatchAnalogyRequest(
                queries=[analogies[i % 2] for i in range(5000)],
                k=10,
                method=pb.COSMUL,
                options=pb.QueryOptions(exact=True),
            ),
            timeout=t,
        ),
        "batch nearest 50000 (max batch)": lambda t: arith.BatchNearest(
            nearest_many(50_000, 0, 10), timeout=t
        ),
        "similarity 256 x 256 long texts": lambda t: arith.Similarity(
            pb.SimilarityRequest(
                space=SENTENCE_MODEL,
                a=[pb.Term(text=f"{i} {LONG_TEXT}") for i in range(256)],
                b=[pb.Term(text=f"{i} {LONG_TEXT}") for i in range(256)],
            ),
            timeout=t,
        ),
        "encode 256 x 10000 chars truncate": lambda t: emb.Encode(
            pb.EncodeRequest(
                inputs=[f"{i} {LONG_TEXT}"[:10_000] for i in range(256)], truncate=True
            ),
            timeout=t,
        ),
        # The heaviest requests the default limits allow.
        "at limits: batch nearest 10000 x k=100 (HNSW)": lambda t: arith.BatchNearest(
            nearest_many(10_000, 0, 100), timeout=t
        ),
        "at limits: batch nearest 1000 x k=1000 (HNSW)": lambda t: arith.BatchNearest(
            nearest_many(1_000, 0, 1000), timeout=t
        ),
        "at limits: batch nearest 2500 exact k=100": lambda t: arith.BatchNearest(
            pb.BatchNearestRequest(
                queries=[pb.NearestQuery(query=[key(words[i % 10])]) for i in range(2500)],
                k=100,
                options=pb.QueryOptions(exact=True),
            ),
            timeout=t,
        ),
        "at limits: batch analogy 10000 cosmul k=100 (HNSW)": lambda t: arith.BatchAnalogy(
            pb.BatchAnalogyRequest(
                queries=[analogies[i % 2] for i in range(10_000)], k=100, method=pb.COSMUL
            ),
            timeout=t,
        ),
        "at limits: batch analogy 833 cosmul exact": lambda t: arith.BatchAnalogy(
            pb.BatchAnalogyRequest(
                queries=[analogies[i % 2] for i in range(833)],
                k=10,
                method=pb.COSMUL,
                options=pb.QueryOptions(exact=True),
            ),
            timeout=t,
        ),
        "at limits: interpolate 256 steps k=1000": lambda t: arith.Interpolate(
            pb.InterpolateRequest(start=key("cat"), end=key("dog"), steps=256, k=1000), timeout=t
        ),
        "at limits: encode 64 x 256 tokens": lambda t: emb.Encode(
            pb.EncodeRequest(inputs=[f"{i} {LONG_TEXT}" for i in range(64)], truncate=True),
            timeout=t,
        ),
        "at limits: similarity 32 x 32 long texts": lambda t: arith.Similarity(
            pb.SimilarityRequest(
                space=SENTENCE_MODEL,
                a=[pb.Term(text=f"{i} {LONG_TEXT}") for i in range(32)],
                b=[pb.Term(text=f"{i} {LONG_TEXT}") for i in range(32)],
            ),
            timeout=t,
        ),
        "nearest of one 10000-char unknown key": lambda t: arith.Nearest(
            pb.NearestRequest(query=[key("x" * 10_000)]), timeout=t
        ),
        "nearest of 60 unknown 10000-char keys": lambda t: arith.Nearest(
            pb.NearestRequest(query=[key(f"{i:02d}" + "y" * 9_998) for i in range(60)]), timeout=t
        ),
    }


def run_probe(call: Callable[[float], Any], pid: int, timeout: float) -> dict[str, Any]:
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    status, detail = "OK", ""
    try:
        call(timeout)
    except grpc.RpcError as exc:
        status, detail = exc.code().name, exc.details() or ""
    wall = time.perf_counter() - wall0
    return {
        "status": status,
        "wall_s": wall,
        "server_cpu_s": cpu_seconds(pid) - cpu0,
        "message_chars": len(detail),
        "message": detail[:160],
    }


def abandoned_work(channel: grpc.Channel, pid: int) -> dict[str, Any]:
    """A BatchNearest whose caller gives up after 0.5 s: server CPU until it goes quiet.
    (v1 was probed with 20,000 exact queries; the limits now refuse that, so this is the
    heaviest HNSW batch they allow.)"""
    arith = pb_grpc.ArithmeticStub(channel)
    request = pb.BatchNearestRequest(
        queries=[pb.NearestQuery(query=[key("car")]) for _ in range(10_000)], k=100
    )
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    try:
        arith.BatchNearest(request, timeout=0.5)
        status = "OK"
    except grpc.RpcError as exc:
        status = exc.code().name
    # Busy until the CPU counter stops moving for a second.
    last, quiet_since = cpu_seconds(pid), time.perf_counter()
    while time.perf_counter() - quiet_since < 1.0 and time.perf_counter() - wall0 < 300:
        time.sleep(0.2)
        now = cpu_seconds(pid)
        if now - last > 0.05:
            last, quiet_since = now, time.perf_counter()
    return {"status": status, "busy_s": quiet_since - wall0, "server_cpu_s": last - cpu0}


def concurrent_encode(channel: grpc.Channel, seconds: float) -> dict[str, Any]:
    """The reproducer: 16 threads calling Encode(["a cat sat on the mat", "rain"][:1 + i % 2])."""
    emb = pb_grpc.EmbeddingsStub(channel)
    counts: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        inputs = ["a cat sat on the mat", "rain"][: 1 + i % 2]
        while time.perf_counter() < stop_at:
            try:
                emb.Encode(pb.EncodeRequest(inputs=inputs), timeout=60)
                code = "OK"
            except grpc.RpcError as exc:
                code = exc.code().name
            with lock:
                counts[code] = counts.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": seconds, "calls": sum(counts.values()), "by_status": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", help="HNSW cache directory (default: a temporary one)")
    parser.add_argument("--only", nargs="*", help="run only probes whose name contains these")
    parser.add_argument("--timeout", type=float, default=600.0, help="client deadline per probe")
    parser.add_argument("--encode-seconds", type=float, default=20.0)
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": machine_info()}
    with (
        cache_directory(args.cache_dir) as cache_dir,
        latentd_server(cache_dir, OUT_DIR / "latentd-probes.log") as server,
    ):
        server.wait_serving()
        server.wait_hnsw()
        options = [("grpc.max_receive_message_length", 256 * 1024 * 1024)]
        with grpc.insecure_channel(server.target, options=options) as channel:
            rows = []
            for name, call in probes(channel).items():
                if args.only and not any(part in name for part in args.only):
                    continue
                result = run_probe(call, server.pid, args.timeout)
                results[name] = result
                rows.append(
                    [
                        name,
                        result["status"],
                        f"{result['wall_s']:.2f}",
                        f"{result['server_cpu_s']:.2f}",
                        result["message_chars"],
                    ]
                )
                print(f"{name}: {result}", flush=True)
            print_table(
                "Heavy and hostile requests",
                ["request", "status", "wall s", "server CPU s", "message chars"],
                rows,
            )
            if not args.only or "abandoned" in args.only:
                results["abandoned"] = abandoned_work(channel, server.pid)
                print("abandoned BatchNearest (0.5 s deadline):", results["abandoned"])
            if not args.only or "encode" in args.only:
                results["concurrent encode"] = concurrent_encode(channel, args.encode_seconds)
                print("concurrent Encode, 16 threads:", results["concurrent encode"])
    write_json("probes", results)


if __name__ == "__main__":
    main()
