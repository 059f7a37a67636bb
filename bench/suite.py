"""The benchmark suite behind `make bench`: every figure of the performance issue, each
measured side by side with the library latentd wraps in the same run, so that the
ratios hold on a noisy machine. Prints markdown tables and a targets table; writes
OUT/summary.md, OUT/summary.json and OUT/*.png (OUT: bench/out, or bench/out/quick
with --quick).

1. Start-up: a cold `latentd serve` (empty cache: the HNSW index is built) timed to
   SERVING and to the index, stopped; then a warm one on the cache it wrote, which
   serves parts 2 to 4. RSS after the warm start and at rest after parts 2 to 4.
   Beside them, a fresh Python loading both models with gensim and sentence-transformers.
2. Encode (bench/encode.py): single-sentence callers at concurrency 1, 4, 16, 64 next to
   SentenceTransformer.encode batch 64 and batch 1; Analogy p99 while Encode is saturated.
3. Analogy (bench/word_analogies.py): questions-words.txt through BatchAnalogy and one
   call a question, 3CosAdd and 3CosMul, HNSW and exact, next to gensim's
   evaluate_word_analogies; per-query latency next to most_similar (bench/analogy.py).
4. Nearest (bench/nearest.py): recall@10 and queries/s for several ef through
   BatchNearest, next to hnswlib on the server's own index and exact gensim and numpy.
5. Collections (bench/collections.py at a reduced size): import and Search figures,
   with their own servers (sentence model only).

A wall-clock budget (--budget-s, default 11 minutes, which leaves the install of a clean
clone inside 15) trims the time-capped steps and skips what no longer fits, so that the
whole run ends in time; skipped steps are listed.

    .venv/bin/python bench/suite.py [--quick] [--cache-dir DIR] [--parts NAME ...]
        [--budget-s 660] [--serve-args "--batch-max-wait-ms 5"]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import analogy
import common
import encode
import nearest
import plots
import word_analogies
from common import Budget, fmt, print_table

TARGETS_TITLE = "Targets of the performance issue"
# Seconds kept for the end: RSS at rest, stopping the server, plots and summary.
WRAP_UP_S = 20.0
PARTS = ("startup", "encode", "analogy", "nearest", "collections")
# Flags other work adds to `latentd serve`; recorded when this server has them.
TUNING_FLAGS = ("--batch-max-wait-ms", "--batch-max-size", "--batch-queue", "--torch-threads")


@dataclass(frozen=True)
class Sizes:
    """How much each part measures; --quick takes the small set."""

    encode_sentences: int = 2000
    encode_seconds: float = 8.0
    encode_single_seconds: float = 5.0
    encode_baseline_seconds: float = 4.0  # each in-process batch-64 run beside a level
    questions: int | None = None  # None: every usable question of questions-words.txt
    batch_seconds: float = 120.0  # cap of one BatchAnalogy run (exact 3CosMul is the slow one)
    per_call_seconds: float = 8.0
    cosmul_seconds: float = 20.0
    latency_questions: int = 200
    nearest_queries: int = 5000
    nearest_gensim_queries: int = 500
    nearest_min_seconds: float = 1.0
    nearest_rounds: int = 3
    collections_argv: tuple[str, ...] = tuple(
        shlex.split(
            "--docs 2000 --vectors 20000 --synopsis-docs 500 --per-batch-docs 500 --no-restart"
        )
    )
    # Rough seconds each part takes on the busy 2-core machine (what the budget reserves);
    # analogy_min: gensim's evaluate and the HNSW 3CosAdd run, which are never trimmed.
    estimates: dict[str, float] = field(
        default_factory=lambda: {
            "encode": 90.0,
            "nearest": 90.0,
            "latency": 30.0,
            "collections": 240.0,
            "analogy_min": 150.0,
        }
    )


QUICK = Sizes(
    encode_sentences=500,
    encode_seconds=3.0,
    encode_single_seconds=2.0,
    encode_baseline_seconds=2.0,
    questions=1500,
    batch_seconds=15.0,
    per_call_seconds=2.0,
    cosmul_seconds=5.0,
    latency_questions=40,
    nearest_queries=2000,
    nearest_gensim_queries=200,
    nearest_min_seconds=0.3,
    nearest_rounds=2,
    collections_argv=tuple(
        shlex.split(
            "--docs 500 --vectors 5000 --synopsis-docs 200 --per-batch-docs 200 --queries 50 "
            "--ef 400 --no-restart"
        )
    ),
    estimates={
        "encode": 45.0,
        "nearest": 35.0,
        "latency": 15.0,
        "collections": 150.0,
        "analogy_min": 40.0,
    },
)


def load_bench_module(name: str) -> ModuleType:
    """A module of bench/ by its file: bench/collections.py would otherwise lose to the
    standard library's `collections`, which every Python has imported already."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", common.BENCH_DIR / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load bench/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_torch_threads(threads: int, server_has_flag: bool) -> None:
    """The same torch intra-op thread count for the servers (through the environment
    every child inherits) and for this process's in-process baselines."""
    import torch

    torch.set_num_threads(threads)
    if server_has_flag:
        os.environ["LATENT_TORCH_THREADS"] = str(threads)
    else:
        print("latentd serve has no --torch-threads: only the baselines use it", flush=True)


def mb(mib: float | None) -> float | None:
    return None if mib is None else mib * 2**20 / 1e6


def attempt(
    name: str, errors: dict[str, str], step: Callable[[], dict[str, Any]]
) -> dict[str, Any] | None:
    """step()'s results; a failure is printed and recorded, and the run goes on."""
    try:
        return step()
    except Exception:
        errors[name] = traceback.format_exc()
        print(f"\n{name} failed:\n{errors[name]}", flush=True)
        return None


# ---------------------------------------------------------------------------
# Targets


def status(value: float | None, target: float, floor: float | None, higher: bool) -> str:
    if value is None:
        return "not measured"

    def reaches(bound: float) -> bool:
        return value >= bound if higher else value <= bound

    if reaches(target):
        return "met"
    if floor is not None and reaches(floor):
        return "floor met, target not"
    return "not met"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: the measured value, the target, the floor, the status."""
    rows: list[dict[str, Any]] = []

    def add(
        name: str,
        value: float | None,
        shown: str,
        target: float,
        target_shown: str,
        floor: float | None,
        floor_shown: str,
        higher: bool,
    ) -> None:
        rows.append(
            {
                "target": name,
                "value": value,
                "measured": shown if value is not None else "not measured",
                "goal": target_shown,
                "floor": floor_shown,
                "status": status(value, target, floor, higher),
            }
        )

    enc = results.get("encode") or {}
    level16 = next((m for m in enc.get("service", []) if m["threads"] == 16), None)
    level1 = next((m for m in enc.get("service", []) if m["threads"] == 1), None)
    value = level16["ratio_to_batch64"] if level16 else None
    add(
        "Encode, 16 concurrent single-sentence callers / in-process batch 64 (sentences/s)",
        value,
        f"{value:.2f}× ({level16['per_s']:.0f} / {level16['inprocess_batch64_beside']:.0f})"
        if level16 and value
        else "",
        1.0,
        ">= 1.0×",
        0.8,
        ">= 0.8×",
        True,
    )
    single = enc.get("inprocess_single")
    value = level1["p50_ms"] - single["p50_ms"] if level1 and single else None
    add(
        "Encode, concurrency-1 p50 minus in-process single encode p50",
        value,
        f"{value:+.2f} ms ({level1['p50_ms']:.2f} vs {single['p50_ms']:.2f})"
        if level1 and single and value is not None
        else "",
        2.0,
        "<= 2 ms",
        None,
        "–",
        False,
    )
    ana = results.get("analogy") or {}
    cosadd = (ana.get("batch") or {}).get("cosadd/hnsw")
    evaluate = ana.get("gensim_evaluate")
    value = (
        common.ratio(cosadd["questions_per_s"], evaluate["questions_per_s"])
        if cosadd and evaluate
        else None
    )
    add(
        "questions-words, BatchAnalogy 3CosAdd HNSW / gensim evaluate_word_analogies (speed)",
        value,
        f"{value:.1f}× ({cosadd['seconds']:.2f} s vs {evaluate['seconds']:.1f} s)"
        if cosadd and evaluate and value
        else "",
        40.0,
        ">= 40×",
        20.0,
        ">= 20×",
        True,
    )
    value = (
        abs(cosadd["same_accuracy"] - cosadd["gensim_accuracy"]) * 100
        if cosadd and "same_accuracy" in cosadd
        else None
    )
    add(
        "questions-words accuracy, latentd 3CosAdd HNSW against gensim (difference, points)",
        value,
        f"{value:.2f} ({cosadd['same_accuracy']:.2%} vs {cosadd['gensim_accuracy']:.2%})"
        if cosadd and value is not None
        else "",
        0.1,
        "<= 0.1",
        None,
        "–",
        False,
    )
    near = results.get("nearest") or {}
    default = next((m for m in near.get("service", []) if m["ef"] is None), None)
    add(
        "Nearest recall@10 at the default ef (BatchNearest)",
        default["recall"] if default else None,
        f"{default['recall']:.4f}" if default else "",
        0.98,
        ">= 0.98",
        None,
        "–",
        True,
    )
    add(
        "Nearest queries/s at the default ef (BatchNearest)",
        default["queries_per_s"] if default else None,
        f"{default['queries_per_s']:,.0f}" if default else "",
        5000.0,
        ">= 5,000",
        None,
        "–",
        True,
    )
    start = results.get("startup") or {}
    warm = next((s for s in start.get("starts", []) if s["start"] == "warm"), None)
    add(
        "Warm start to SERVING",
        warm["serving_s"] if warm else None,
        f"{warm['serving_s']:.1f} s" if warm and warm["serving_s"] else "",
        6.0,
        "<= 6 s",
        None,
        "–",
        False,
    )
    rss = start.get("rss_at_rest_mb") or start.get("rss_after_start_mb")
    add(
        "RSS at rest (after the workload; both models and the index loaded)",
        rss,
        f"{rss:,.0f} MB" if rss else "",
        1000.0,
        "<= 1.0 GB",
        None,
        "–",
        False,
    )
    return rows


def print_targets(rows: list[dict[str, Any]]) -> None:
    print_table(
        TARGETS_TITLE,
        ["target", "measured", "goal", "floor", "status"],
        [[r["target"], r["measured"], r["goal"], r["floor"], r["status"]] for r in rows],
    )


def print_startup(r: dict[str, Any]) -> None:
    library = r.get("library") or {}
    lib_s = library.get("all_loaded_s")
    print_table(
        "Start-up: seconds from spawn (library: a fresh Python loading GloVe into gensim "
        "and MiniLM into sentence-transformers, one encode)",
        ["start", "to SERVING", "to HNSW index", "library: both models loaded"],
        [
            [s["start"], fmt(s["serving_s"], 1), fmt(s["hnsw_s"], 1), fmt(lib_s, 1)]
            for s in r["starts"]
        ],
    )
    lib_rss = library.get("rss_kib")
    print_table(
        "Memory (MB): latentd with both models and the HNSW index loaded",
        ["process", "RSS", "peak RSS"],
        [
            ["latentd after the warm start", fmt(r.get("rss_after_start_mb"), 0), "–"],
            [
                "latentd at rest after the workload",
                fmt(r.get("rss_at_rest_mb"), 0),
                fmt(r.get("peak_rss_mb"), 0),
            ],
            [
                "library process (gensim + sentence-transformers, no index)",
                fmt(None if lib_rss is None else lib_rss * 1024 / 1e6, 0),
                fmt(
                    None
                    if library.get("peak_rss_kib") is None
                    else library["peak_rss_kib"] * 1024 / 1e6,
                    0,
                ),
            ],
        ],
    )


# ---------------------------------------------------------------------------
# The run


def cold_start(cache_dir: Path, out: Path, serve_args: list[str]) -> dict[str, Any]:
    """A server on the empty cache: seconds to SERVING and until its index is built (and
    cached, for the warm start)."""
    with common.latentd_server(cache_dir, out / "latentd-cold.log", serve_args) as cold:
        cold.wait_serving()
        print(f"cold start: SERVING after {cold.serving_s:.1f}s", flush=True)
        cold.wait_hnsw()
        print(f"cold start: HNSW index after {cold.hnsw_s:.1f}s", flush=True)
        return {"start": "cold", "serving_s": cold.serving_s, "hnsw_s": cold.hnsw_s}


def run_parts(
    args: argparse.Namespace,
    sizes: Sizes,
    budget: Budget,
    cache_dir: Path,
    serve_args: list[str],
    results: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """The cold start, then a warm server that serves Encode, Nearest and Analogy (the
    collections part, with servers of its own, runs while it idles); its RSS at rest
    after all of them."""
    wanted = set(args.parts)
    if not wanted & {"startup", "encode", "analogy", "nearest"}:
        argv = collections_argv(args, sizes, budget)
        if argv is not None:
            results["collections"] = attempt("collections", errors, lambda: run_collections(argv))
        return
    startup: dict[str, Any] = {"starts": []}
    results["startup"] = startup

    if "startup" in wanted:
        print("library baseline: a fresh Python loading both models ...", flush=True)
        startup["library"] = attempt("library baseline", errors, analogy.library_baseline)
        if not any(cache_dir.iterdir()):
            cold = attempt(
                "cold start", errors, lambda: cold_start(cache_dir, args.out, serve_args)
            )
            if cold is not None:
                startup["starts"].append(cold)
        else:
            print(f"cold start skipped: the cache {cache_dir} is not empty", flush=True)
            budget.skipped.append("cold start (cache given)")

    kv, kv_s = common.load_glove_kv()
    print(f"gensim KeyedVectors loaded in {kv_s:.1f}s", flush=True)
    with common.latentd_server(cache_dir, args.out / "latentd-warm.log", serve_args) as warm:
        warm.wait_serving()
        warm.wait_hnsw()
        print(
            f"warm start: SERVING after {warm.serving_s:.1f}s, HNSW after {warm.hnsw_s:.1f}s",
            flush=True,
        )
        startup["starts"].append(
            {"start": "warm", "serving_s": warm.serving_s, "hnsw_s": warm.hnsw_s}
        )
        time.sleep(1.0)
        startup["rss_after_start_mb"] = mb(warm.rss_mib())
        target = warm.target
        questions = word_analogies.usable_questions(kv, seed=3)
        est = sizes.estimates
        # The fixed-size parts first; the analogy part last, since its capped runs take
        # what the budget has left.
        if "encode" in wanted:
            sentences = encode.load_sentences(sizes.encode_sentences)
            results["encode"] = attempt(
                "encode",
                errors,
                lambda: encode.run(
                    target,
                    sentences,
                    questions,
                    seconds=sizes.encode_seconds,
                    single_seconds=sizes.encode_single_seconds,
                    baseline_seconds=sizes.encode_baseline_seconds,
                ),
            )
        if "nearest" in wanted and budget.allows(est["nearest"], "nearest"):
            results["nearest"] = attempt(
                "nearest",
                errors,
                lambda: nearest.run(
                    target,
                    kv,
                    cache_dir,
                    queries=sizes.nearest_queries,
                    gensim_queries=sizes.nearest_gensim_queries,
                    min_seconds=sizes.nearest_min_seconds,
                    rounds=sizes.nearest_rounds,
                    build_ok=budget.left() > est["collections"] + est["analogy_min"] + 120.0,
                ),
            )
        if "analogy" in wanted and budget.allows(
            est["latency"] + est["analogy_min"], "Analogy latency per query (analogy.py)"
        ):
            picked = analogy.pick_questions(kv, sizes.latency_questions, seed=1)
            results["analogy_latency"] = attempt(
                "analogy latency",
                errors,
                lambda: analogy.latency_section(target, kv, picked),
            )
        if "collections" in wanted:
            # The warm server idles meanwhile; collections start servers of their own.
            argv = collections_argv(args, sizes, budget)
            if argv is not None:
                results["collections"] = attempt(
                    "collections", errors, lambda: run_collections(argv)
                )
        if "analogy" in wanted:
            results["analogy"] = attempt(
                "analogy",
                errors,
                lambda: word_analogies.run(
                    target,
                    kv,
                    questions=sizes.questions,
                    batch_seconds=sizes.batch_seconds,
                    per_call_seconds=sizes.per_call_seconds,
                    cosmul_seconds=sizes.cosmul_seconds,
                    part_seconds=budget.left() - WRAP_UP_S,
                ),
            )
        time.sleep(3.0)  # at rest: no call in flight
        startup["rss_at_rest_mb"] = mb(warm.rss_mib())
        startup["peak_rss_mb"] = mb(warm.peak_rss_mib())
    if startup["starts"]:
        print_startup(startup)


def collections_argv(args: argparse.Namespace, sizes: Sizes, budget: Budget) -> list[str] | None:
    """collections.py's arguments at the suite's size, or at the --quick size when the
    budget (less what the analogy part needs at least) has no room for it; None when
    there is room for neither."""
    room = budget.left() - sizes.estimates["analogy_min"] - WRAP_UP_S
    if room >= sizes.estimates["collections"]:
        return list(sizes.collections_argv)
    if room >= QUICK.estimates["collections"]:
        print("budget: collections at the --quick sizes", flush=True)
        budget.skipped.append("collections at the suite's size (ran at the --quick size)")
        return list(QUICK.collections_argv)
    print(f"budget: skipping collections ({budget.left():.0f}s left)", flush=True)
    budget.skipped.append("collections")
    return None


def run_collections(argv: list[str]) -> dict[str, Any]:
    collections = load_bench_module("collections")
    print(f"\ncollections: {' '.join(argv)} ...", flush=True)
    results: dict[str, Any] = collections.run(collections.parse_args(argv))
    return results


def write_summary(
    path: Path,
    results: dict[str, Any],
    target_rows: list[dict[str, Any]],
    tables: list[str],
) -> None:
    lines = [
        "# latentd benchmark suite\n",
        f"- run: `{results['command']}`, {results['time']}",
        f"- wall time: {results['wall_s']:.0f} s (budget {results['budget_s']:.0f} s)",
        f"- machine: {results['machine'].get('cpu', '?')}, {results['machine']['cpus']} CPUs; "
        f"load average before {results['load_before'][0]:.2f}, "
        f"after {results['load_after'][0]:.2f}",
        f"- torch intra-op threads (servers and baselines): "
        f"{results['torch_threads'] or 'torch default'}",
        f"- latentd flags added: {' '.join(results['serve_args']) or 'none'}; "
        f"tuning flags this server has: {', '.join(results['tuning_flags']) or 'none'}",
    ]
    if results["skipped"]:
        lines.append(f"- skipped or trimmed for the budget: {'; '.join(results['skipped'])}")
    if results["errors"]:
        lines.append(f"- failed parts: {', '.join(results['errors'])}")
    first = [t for t in tables if t.startswith(f"### {TARGETS_TITLE}")]
    blocks = ["\n".join(lines), *first, *(t for t in tables if t not in first)]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument(
        "--cache-dir",
        help="index cache to use (default: a fresh temporary one, so the first start is "
        "cold; a non-empty one skips the cold start)",
    )
    parser.add_argument("--parts", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--budget-s", type=float, default=660.0, help="wall-clock budget, s")
    parser.add_argument(
        "--serve-args",
        default="",
        help="extra `latentd serve` flags, one string; those the server lacks are dropped",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch's intra-op threads in every latentd this run starts (LATENT_TORCH_THREADS) "
        "and in this process's in-process baselines alike (default: torch's own)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default bench/out[/quick]")
    args = parser.parse_args(argv)
    args.out = args.out or (common.OUT_DIR / "quick" if args.quick else common.OUT_DIR)
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = QUICK if args.quick else Sizes()
    budget = Budget(args.budget_s)
    common.warn_if_busy()
    load_before = common.machine_info()["loadavg_1_5_15"]

    flags = common.serve_flags()
    serve_args, dropped = common.supported_args(shlex.split(args.serve_args), flags)
    if dropped:
        print(f"latentd serve lacks these flags, not passed: {' '.join(dropped)}", flush=True)
    if args.torch_threads is not None:
        set_torch_threads(args.torch_threads, "--torch-threads" in flags)
    results: dict[str, Any] = {
        "command": " ".join(["bench/suite.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "sizes": asdict(sizes),
        "budget_s": args.budget_s,
        "serve_args": serve_args,
        "serve_args_dropped": dropped,
        "tuning_flags": [f for f in TUNING_FLAGS if f in flags],
        "torch_threads": args.torch_threads,
    }
    errors: dict[str, str] = {}
    with common.cache_directory(args.cache_dir) as cache_dir:
        run_parts(args, sizes, budget, cache_dir, serve_args, results, errors)

    target_rows = targets(results)
    print_targets(target_rows)
    results["targets"] = target_rows
    results["wall_s"] = budget.elapsed()
    results["skipped"] = budget.skipped
    results["errors"] = errors
    results["load_before"] = load_before
    results["load_after"] = common.machine_info()["loadavg_1_5_15"]
    results["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["machine"] = common.machine_info()

    written = plots.draw_all(results, args.out)
    results["plots"] = [str(p) for p in written]
    write_summary(args.out / "summary.md", results, target_rows, common.PRINTED_TABLES)
    common.write_json("summary", results, args.out)
    print(f"summary written to {args.out / 'summary.md'}")
    for path in written:
        print(f"plot written to {path}")
    print(f"wall time {results['wall_s']:.0f}s (budget {args.budget_s:.0f}s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
