"""The suite's figures (matplotlib, Agg backend): one PNG per part under the output
directory, drawn from the results dictionary bench/suite.py builds. A part that did not
run draws nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

SERVICE = "tab:blue"
LIBRARY = "tab:orange"
OTHER = "tab:gray"
TARGET = "tab:red"


def save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = out_dir / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def encode_figure(r: dict[str, Any], out_dir: Path) -> Path:
    levels = r["service"]
    threads = [m["threads"] for m in levels]
    fig, (rate, latency) = plt.subplots(1, 2, figsize=(11, 4.2))
    rate.plot(threads, [m["per_s"] for m in levels], "o-", color=SERVICE, label="latentd Encode")
    rate.plot(
        threads,
        [m["inprocess_batch64_beside"] for m in levels],
        "D",
        color=LIBRARY,
        label="in-process encode, batch 64, beside each level",
    )
    rate.axhline(
        r["inprocess_batch64_sentences_per_s"],
        color=LIBRARY,
        linestyle="--",
        label="in-process encode, batch 64, mean",
    )
    rate.axhline(
        r["inprocess_single"]["sentences_per_s"],
        color=LIBRARY,
        linestyle=":",
        label="in-process encode, batch 1",
    )
    rate.set_xscale("log", base=2)
    rate.set_xticks(threads, [str(t) for t in threads])
    rate.set_xlabel("concurrent single-sentence callers")
    rate.set_ylabel("sentences/s")
    rate.set_ylim(bottom=0)
    rate.set_title("Encode throughput")
    rate.legend(fontsize=8)
    latency.plot(threads, [m["p50_ms"] for m in levels], "o-", color=SERVICE, label="latentd p50")
    latency.plot(threads, [m["p99_ms"] for m in levels], "s--", color=SERVICE, label="latentd p99")
    latency.axhline(
        r["inprocess_single"]["p50_ms"],
        color=LIBRARY,
        linestyle=":",
        label="in-process batch 1, p50",
    )
    latency.set_xscale("log", base=2)
    latency.set_yscale("log")
    latency.set_xticks(threads, [str(t) for t in threads])
    latency.set_xlabel("concurrent single-sentence callers")
    latency.set_ylabel("ms")
    latency.set_title("Encode latency")
    latency.legend(fontsize=8)
    return save(fig, out_dir, "encode")


def analogy_figure(r: dict[str, Any], out_dir: Path) -> Path:
    ev, cm = r["gensim_evaluate"], r["gensim_cosmul"]
    labels = ["gensim evaluate (3CosAdd)", "gensim most_similar_cosmul"]
    rates = [ev["questions_per_s"], cm["questions_per_s"]]
    accuracies = [ev["score"], cm["accuracy"]]
    colors = [LIBRARY, LIBRARY]
    for form, runs in (("batch", r["batch"]), ("one call each", r["per_call"])):
        for name, m in runs.items():
            labels.append(f"latentd {form} {name}")
            rates.append(m["questions_per_s"])
            accuracies.append(m["accuracy"])
            colors.append(SERVICE if form == "batch" else OTHER)
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(labels) + 1.2))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, rates, color=colors)
    for yi, value, acc in zip(y, rates, accuracies, strict=True):
        ax.text(value, yi, f"  {value:,.0f}/s, {acc:.1%}", va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(right=max(rates) * 20)
    ax.set_xlabel("questions/s (log); label: rate, top-1 accuracy")
    ax.set_title(f"questions-words.txt ({r['questions_asked']:,} questions), restrict 300,000")
    return save(fig, out_dir, "analogy")


def nearest_figure(r: dict[str, Any], out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    for runs, color, label in (
        (r["service"], SERVICE, "latentd BatchNearest"),
        (r["hnswlib"], LIBRARY, "hnswlib knn_query (in-process)"),
    ):
        points = sorted(
            ((m["recall"], m["queries_per_s"], m["ef"]) for m in runs if m["ef"] is not None),
            key=lambda p: p[0],
        )
        if not points:
            continue
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color=color, label=label)
        for rec, qps, ef in points:
            ax.annotate(
                f"ef={ef}", (rec, qps), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    default = next((m for m in r["service"] if m["ef"] is None), None)
    if default:
        ax.plot(
            [default["recall"]],
            [default["queries_per_s"]],
            "*",
            color=SERVICE,
            markersize=14,
            label="latentd at its default ef",
        )
    for key, marker, label in (
        ("service_exact", "D", "latentd exact=True"),
        ("gensim_exact", "^", "gensim most_similar"),
        ("numpy_exact", "v", "numpy exact"),
    ):
        m = r.get(key)
        if m:
            ax.plot([m["recall"]], [m["queries_per_s"]], marker, color=OTHER, label=label)
    ax.axhline(5000, color=TARGET, linestyle=":", linewidth=1, label="target 5,000 q/s")
    ax.axvline(0.98, color=TARGET, linestyle="--", linewidth=1, label="target recall 0.98")
    ax.set_yscale("log")
    ax.set_xlabel("recall@10 against exact")
    ax.set_ylabel("queries/s (log)")
    ax.set_title(f"Nearest k=10 over 400,000 GloVe words ({r['queries']:,} queries)")
    ax.legend(fontsize=8, loc="lower left")
    return save(fig, out_dir, "nearest")


def startup_figure(r: dict[str, Any], out_dir: Path) -> Path:
    fig, (times, memory) = plt.subplots(1, 2, figsize=(10, 4))
    labels, serving, hnsw = [], [], []
    for start in r["starts"]:
        labels.append(start["start"])
        serving.append(start["serving_s"] or 0.0)
        hnsw.append(start["hnsw_s"] or 0.0)
    x = range(len(labels))
    bars = times.bar([i - 0.2 for i in x], serving, width=0.4, color=SERVICE, label="to SERVING")
    times.bar_label(bars, fmt="%.1f s", fontsize=8)
    bars = times.bar([i + 0.2 for i in x], hnsw, width=0.4, color=OTHER, label="to HNSW index")
    times.bar_label(bars, fmt="%.1f s", fontsize=8)
    times.set_yscale("log")
    times.set_ylim(bottom=1.0)
    library = r.get("library")
    if library:
        times.axhline(
            library["all_loaded_s"],
            color=LIBRARY,
            linestyle="--",
            label="library: both models loaded",
        )
    times.axhline(6.0, color=TARGET, linestyle=":", label="target warm SERVING 6 s")
    times.set_xticks(list(x), labels)
    times.set_ylabel("seconds from spawn (log)")
    times.set_title("Start-up")
    times.legend(fontsize=8)
    mem_labels, mem_values = [], []
    for key, label in (
        ("rss_after_start_mb", "latentd after start"),
        ("rss_at_rest_mb", "latentd at rest\nafter the workload"),
        ("peak_rss_mb", "latentd peak"),
    ):
        if r.get(key) is not None:
            mem_labels.append(label)
            mem_values.append(r[key])
    colors = [SERVICE] * len(mem_values)
    if library:
        mem_labels.append("library process")
        mem_values.append(library["rss_kib"] * 1024 / 1e6)
        colors.append(LIBRARY)
    bars = memory.bar(range(len(mem_values)), mem_values, color=colors)
    memory.bar_label(bars, fmt="%.0f", fontsize=8)
    memory.axhline(1000, color=TARGET, linestyle=":", label="target 1.0 GB at rest")
    memory.set_xticks(range(len(mem_values)), mem_labels, fontsize=8)
    memory.set_ylabel("RSS, MB")
    memory.set_title("Memory")
    memory.legend(fontsize=8)
    return save(fig, out_dir, "startup")


def collections_figure(r: dict[str, Any], out_dir: Path) -> Path | None:
    bars: list[tuple[str, float, str]] = []
    enc, base = r.get("import_encoding"), r.get("inprocess_encode")
    if enc and base:
        bars.append(("import with encoding", enc["docs_per_s"], SERVICE))
        bars.append(("in-process encode", base["one_call_sentences_per_s"], LIBRARY))
    for key, alone_key, title in (
        ("import_vectors", "hnswlib_documents", "vectors given"),
        ("import_random", "hnswlib_random", "random vectors"),
    ):
        m, alone = r.get(key), r.get(alone_key)
        if m:
            bars.append((f"import {title}, acknowledged", m["docs_per_s"], SERVICE))
            if m.get("docs_per_s_indexed"):
                bars.append((f"import {title}, until HNSW", m["docs_per_s_indexed"], OTHER))
        if alone:
            bars.append((f"hnswlib add_items ({title})", alone["add_per_s"], LIBRARY))
    searches: list[tuple[str, float, float]] = []
    for name, case in (r.get("search_10k") or {}).items():
        searches.append((f"debian {name}", case["p50_ms"], case["p99_ms"]))
    if r.get("search_random"):
        sr = r["search_random"]
        searches.append(("random vector/none", sr["p50_ms"], sr["p99_ms"]))
    if not bars and not searches:
        return None
    fig, (imports, search) = plt.subplots(1, 2, figsize=(12, 4.5))
    if bars:
        y = list(range(len(bars)))[::-1]
        imports.barh(y, [b[1] for b in bars], color=[b[2] for b in bars])
        imports.set_yticks(y, [b[0] for b in bars], fontsize=8)
        imports.set_xscale("log")
        imports.set_xlabel("documents (vectors, sentences) per second, log")
        imports.set_title("Collections: import")
    if searches:
        y = list(range(len(searches)))[::-1]
        search.barh([v + 0.2 for v in y], [s[1] for s in searches], height=0.4, label="p50")
        search.barh([v - 0.2 for v in y], [s[2] for s in searches], height=0.4, label="p99")
        search.axvline(5.0, color=TARGET, linestyle=":", label="target p99 5 ms")
        search.set_yticks(y, [s[0] for s in searches], fontsize=8)
        search.set_xscale("log")
        search.set_xlabel("ms (log)")
        search.set_title("Collections: Search (k=10, HNSW)")
        search.legend(fontsize=8)
    return save(fig, out_dir, "collections")


def draw_all(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Every figure the results allow; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if results.get("startup"):
        written.append(startup_figure(results["startup"], out_dir))
    if results.get("encode"):
        written.append(encode_figure(results["encode"], out_dir))
    if results.get("analogy"):
        written.append(analogy_figure(results["analogy"], out_dir))
    if results.get("nearest"):
        written.append(nearest_figure(results["nearest"], out_dir))
    if results.get("collections"):
        path = collections_figure(results["collections"], out_dir)
        if path is not None:
            written.append(path)
    return written
