"""Directions: Project over the whole GloVe vocabulary and a neutralised Nearest next to a
plain one, through latentd, beside numpy doing the same in this process.

- Project, top=10 at each end over all 400,000 keys: the first call for a direction
  (its projections computed) and later calls (cached), p50 over --repeat calls; beside
  it numpy's `unit @ d` plus the two top-10 selections in this process.
- Nearest k=10 by key, --queries words drawn (seeded) from the 50,000 most frequent:
  plain, and with options.remove of man -> woman (p50 per call, one call at a time);
  beside it numpy brute force over the neutralised unit matrix (already neutralised:
  the work a rebuilt space would do per query), and the one-off cost of neutralising
  the matrix. Agreement: the share of neutralised answers whose 10 keys equal brute
  force's (ties within 1e-5 count as equal); plain agreement, the same for plain Nearest
  (what the HNSW index alone misses).

    .venv/bin/python bench/directions.py [--target HOST:PORT --cache-dir DIR] [--queries 300]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import common
import grpc
import numpy as np
from common import fmt, fmt_ratio, print_table, ratio

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

K = 10


def pairs(*items: tuple[str, str]) -> pb.Direction:
    return pb.Direction(
        pairs=pb.DirectionPairs(
            pairs=[pb.TermPair(a=pb.Term(key=a), b=pb.Term(key=b)) for a, b in items]
        )
    )


# Distinct directions, so that each first call computes its projections afresh.
FRESH = [
    pairs(("man", "woman")),
    pairs(("he", "she")),
    pairs(("king", "queen")),
    pairs(("boy", "girl")),
    pairs(("father", "mother")),
    pairs(("son", "daughter")),
    pairs(("brother", "sister")),
    pairs(("husband", "wife")),
]


def timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def p50_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="a running latentd (default: spawn one)")
    parser.add_argument("--cache-dir", help="HNSW cache directory for a spawned latentd")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    common.warn_if_busy()
    kv, _ = common.load_glove_kv()
    unit = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    rng = np.random.default_rng(5)
    words = [kv.index_to_key[i] for i in rng.choice(50_000, args.queries, replace=False)]
    results: dict[str, float | None] = {}
    with contextlib.ExitStack() as stack:
        target, _ = common.target_or_server(
            stack, args.target, args.cache_dir, Path("bench/out/latentd-directions.log")
        )
        channel = stack.enter_context(grpc.insecure_channel(target))
        directions = pb_grpc.DirectionsStub(channel)
        arithmetic = pb_grpc.ArithmeticStub(channel)

        def project(direction: pb.Direction) -> None:
            directions.Project(pb.ProjectRequest(direction=direction, top=K))

        first = [timed(lambda d=d: project(d)) for d in FRESH]  # type: ignore[misc]
        cached = [timed(lambda: project(FRESH[0])) for _ in range(args.repeat)]
        d = np.array(directions.Define(pb.DefineRequest(direction=FRESH[0])).vector.values)

        def numpy_project() -> None:
            values = unit @ d
            np.argpartition(values, K)[:K]
            np.argpartition(-values, K)[:K]

        library = [timed(numpy_project) for _ in range(args.repeat)]
        results |= {
            "project_first_ms": p50_ms(first),
            "project_cached_ms": p50_ms(cached),
            "numpy_project_ms": p50_ms(library),
        }
        print_table(
            f"Project top={K} over all {len(unit):,} keys (p50, ms)",
            ["latentd first call", "latentd cached", "numpy in process", "cached / numpy"],
            [
                [
                    fmt(results["project_first_ms"]),
                    fmt(results["project_cached_ms"]),
                    fmt(results["numpy_project_ms"]),
                    fmt_ratio(ratio(results["project_cached_ms"], results["numpy_project_ms"])),
                ]
            ],
        )

        remove = pb.QueryOptions(remove=[FRESH[0]])

        def nearest(word: str, options: pb.QueryOptions | None = None) -> pb.NearestResponse:
            return arithmetic.Nearest(
                pb.NearestRequest(query=[pb.Term(key=word)], k=K, options=options)
            )

        for word in words[:20]:  # warm-up: channel, caches
            nearest(word)
            nearest(word, remove)
        plain = [timed(lambda w=w: nearest(w)) for w in words]  # type: ignore[misc]
        removed = [timed(lambda w=w: nearest(w, remove)) for w in words]  # type: ignore[misc]
        started = time.perf_counter()
        neutral = unit - np.outer(unit @ d, d)
        neutral /= np.linalg.norm(neutral, axis=1, keepdims=True)
        neutralise_s = time.perf_counter() - started
        brute = []
        agree = plain_agree = 0
        for word in words:
            row = kv.key_to_index[word]
            plain_scores = unit @ unit[row]
            plain_scores[row] = -np.inf
            plain_top = np.argpartition(-plain_scores, K)[:K]
            got_plain = nearest(word)
            plain_agree += {n.key for n in got_plain.neighbors} == {
                kv.index_to_key[t] for t in plain_top
            }
            row = kv.key_to_index[word]
            started = time.perf_counter()
            scores = neutral @ neutral[row]
            scores[row] = -np.inf
            top = np.argpartition(-scores, K)[:K]
            top = top[np.argsort(-scores[top])]
            brute.append(time.perf_counter() - started)
            got = nearest(word, remove)
            same = all(
                n.key == kv.index_to_key[t]
                or abs(scores[kv.key_to_index[n.key]] - scores[t]) < 1e-5
                for n, t in zip(got.neighbors, top, strict=True)
            )
            agree += same
        results |= {
            "nearest_plain_ms": p50_ms(plain),
            "nearest_removed_ms": p50_ms(removed),
            "numpy_neutral_ms": p50_ms(brute),
            "neutralise_matrix_s": neutralise_s,
            "agreement": agree / len(words),
            "plain_agreement": plain_agree / len(words),
        }
        print_table(
            f"Nearest k={K}, {len(words)} words, one call at a time (p50, ms)",
            [
                "plain",
                "remove man->woman",
                "removed / plain",
                "numpy brute force",
                "agreement",
                "plain agreement",
            ],
            [
                [
                    fmt(results["nearest_plain_ms"]),
                    fmt(results["nearest_removed_ms"]),
                    fmt_ratio(ratio(results["nearest_removed_ms"], results["nearest_plain_ms"])),
                    fmt(results["numpy_neutral_ms"]),
                    f"{results['agreement']:.1%}",
                    f"{results['plain_agreement']:.1%}",
                ]
            ],
        )
        print(
            f"numpy: neutralising the {len(unit):,} x {unit.shape[1]} matrix once: "
            f"{neutralise_s * 1000:.0f} ms"
        )
    common.write_json("directions", {"results": results, "machine": common.machine_info()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
