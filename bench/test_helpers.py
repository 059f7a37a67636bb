"""Checks of the benchmark suite's own arithmetic and plumbing, without a server or a
model: run with `.venv/bin/python -m pytest bench/test_helpers.py` (not part of `make
test`, whose tests are under tests/)."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import common
import encode
import nearest
import numpy as np
import plots
import pytest
import stress
import suite
import word_analogies
from common import Question


def test_supported_args_keeps_known_flags_with_their_values() -> None:
    known, unknown = common.supported_args(
        ["--batch-max-wait-ms", "5", "--torch-threads=1", "--no-such-flag", "x"],
        {"--batch-max-wait-ms", "--torch-threads"},
    )
    assert known == ["--batch-max-wait-ms", "5", "--torch-threads=1"]
    assert unknown == ["--no-such-flag", "x"]


def test_budget_records_what_does_not_fit() -> None:
    budget = common.Budget(100.0)
    assert budget.allows(10.0, "small")
    assert not budget.allows(1000.0, "large")
    assert budget.skipped == ["large"]


@pytest.mark.parametrize(
    ("value", "higher", "expected"),
    [
        (1.2, True, "met"),
        (0.9, True, "floor met, target not"),
        (0.5, True, "not met"),
        (None, True, "not measured"),
    ],
)
def test_status_against_target_and_floor(value: float | None, higher: bool, expected: str) -> None:
    assert suite.status(value, 1.0, 0.8, higher) == expected


def test_status_for_a_ceiling() -> None:
    assert suite.status(5.0, 6.0, None, higher=False) == "met"
    assert suite.status(7.0, 6.0, None, higher=False) == "not met"


def test_exact_truth_matches_a_full_sort_without_the_query_itself() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = np.array([0, 17, 299])
    truth, _ = nearest.exact_truth(unit, rows, chunk=2)
    for row, found in zip(rows, truth, strict=True):
        scores = unit @ unit[row]
        scores[row] = -np.inf
        assert found.tolist() == np.argsort(-scores)[: nearest.K].tolist()


def test_recall_at_k_counts_shared_neighbours() -> None:
    truth = np.array([list(range(10)), list(range(10, 20))])
    found = [list(range(10)), [*range(10, 15), 90, 91, 92, 93, 94]]
    assert nearest.recall_at_k(found, truth) == pytest.approx(0.75)


def test_interleaved_takes_each_runs_best_round_and_first_recall() -> None:
    truth = np.array([list(range(10))])
    seconds = {"a": iter([0.5, 0.25, 0.5, 0.5]), "b": iter([1.0, 2.0])}

    def run(name: str) -> tuple[list[list[int]], float]:
        return [list(range(10))], next(seconds[name])

    measured = nearest.interleaved(
        {"a": lambda: run("a"), "b": lambda: run("b")},
        queries=100,
        truth=truth,
        min_seconds=0.7,
        rounds=2,
    )
    # a: round 1 = 0.5 + 0.25 s for 2 passes, round 2 = 0.5 + 0.5 s for 2 passes.
    assert measured["a"]["round_queries_per_s"] == pytest.approx([200 / 0.75, 200 / 1.0])
    assert measured["a"]["queries_per_s"] == pytest.approx(200 / 0.75)
    assert measured["b"]["queries_per_s"] == pytest.approx(100.0)
    assert measured["a"]["recall"] == 1.0


def test_closed_loop_counts_calls_and_errors_within_the_window() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        with lock:
            seen.append(i)
        threading.Event().wait(0.002)
        if i % 2:
            raise ValueError("odd")

    level = encode.closed_loop(call, threads=3, seconds=0.3, warmup_s=0.05)
    assert level["threads"] == 3
    assert level["calls"] > 0
    assert level["errors"]["ValueError"] > 0
    assert level["p50_ms"] >= 2.0
    # Every call got its own index.
    assert len(seen) == len(set(seen))


def test_written_questions_read_back_in_sections(tmp_path: Path) -> None:
    questions = [
        Question("capital-common-countries", "athens", "greece", "baghdad", "iraq"),
        Question("family", "boy", "girl", "brother", "sister"),
        Question("capital-common-countries", "paris", "france", "rome", "italy"),
    ]
    path = tmp_path / "questions.txt"
    word_analogies.write_questions(questions, path)
    back = common.read_questions(path)
    assert sorted(back, key=lambda q: q.words) == sorted(questions, key=lambda q: q.words)


def test_summarize_compares_accuracy_on_the_same_questions() -> None:
    questions = [
        Question("s", "a", "b", "c", "d"),
        Question("s", "e", "f", "g", "h"),
        Question("s", "i", "j", "k", "l"),
    ]
    run = {"seconds": 1.0, "answers": ["d", "x", "l"]}
    cosadd = word_analogies.summarize(dict(run), questions, {("a", "b", "c", "d")}, [], "cosadd")
    assert cosadd["accuracy"] == pytest.approx(2 / 3)
    assert cosadd["gensim_accuracy"] == pytest.approx(1 / 3)
    assert cosadd["same_questions"] == 3
    cosmul = word_analogies.summarize(dict(run), questions, set(), ["d", "h"], "cosmul")
    # gensim answered two questions: both sides are compared on those two.
    assert cosmul["same_questions"] == 2
    assert cosmul["same_accuracy"] == pytest.approx(0.5)
    assert cosmul["gensim_accuracy"] == pytest.approx(1.0)


def sample_results() -> dict[str, Any]:
    """Results of the shapes the parts return, with made-up figures."""
    level = {"p50_ms": 10.0, "p99_ms": 20.0, "errors": {}}
    return {
        "startup": {
            "starts": [
                {"start": "cold", "serving_s": 7.0, "hnsw_s": 60.0},
                {"start": "warm", "serving_s": 5.0, "hnsw_s": 5.5},
            ],
            "library": {"all_loaded_s": 5.0, "rss_kib": 700_000, "peak_rss_kib": 750_000},
            "rss_after_start_mb": 900.0,
            "rss_at_rest_mb": 950.0,
            "peak_rss_mb": 1100.0,
        },
        "encode": {
            "inprocess_batch64_sentences_per_s": 270.0,
            "inprocess_single": {"sentences_per_s": 140.0, "p50_ms": 7.0, "p99_ms": 9.0},
            "service": [
                {
                    **level,
                    "threads": t,
                    "per_s": 100.0 * t**0.5,
                    "inprocess_batch64_beside": 270.0,
                    "ratio_to_batch64": 100.0 * t**0.5 / 270.0,
                }
                for t in (1, 4, 16, 64)
            ],
        },
        "analogy": {
            "questions_asked": 100,
            "gensim_evaluate": {"questions_per_s": 200.0, "score": 0.46, "seconds": 0.5},
            "gensim_cosmul": {"questions_per_s": 60.0, "accuracy": 0.37},
            "batch": {
                "cosadd/hnsw": {
                    "questions_per_s": 9000.0,
                    "accuracy": 0.46,
                    "same_accuracy": 0.46,
                    "gensim_accuracy": 0.4605,
                    "seconds": 0.01,
                }
            },
            "per_call": {"cosadd/hnsw": {"questions_per_s": 900.0, "accuracy": 0.46}},
        },
        "nearest": {
            "queries": 100,
            "service": [
                {"ef": None, "recall": 0.99, "queries_per_s": 6000.0},
                {"ef": 10, "recall": 0.87, "queries_per_s": 9000.0},
            ],
            "hnswlib": [{"ef": 10, "recall": 0.87, "queries_per_s": 30000.0}],
            "service_exact": {"recall": 1.0, "queries_per_s": 800.0},
            "gensim_exact": {"recall": 1.0, "queries_per_s": 300.0},
            "numpy_exact": {"recall": 1.0, "queries_per_s": 250.0},
        },
        "collections": {
            "import_encoding": {"docs_per_s": 70.0},
            "inprocess_encode": {"one_call_sentences_per_s": 80.0},
            "search_10k": {"text/none": {"p50_ms": 9.0, "p99_ms": 14.0}},
        },
    }


def test_targets_read_each_part() -> None:
    rows = suite.targets(sample_results())

    def status_of(words: str) -> str:
        (row,) = [row for row in rows if words in row["target"]]
        return str(row["status"])

    assert len(rows) == 8
    assert status_of("16 concurrent") == "met"  # 400 / 270 sentences/s
    assert status_of("concurrency-1 p50") == "not met"  # 10 ms against 7 ms
    assert status_of("evaluate_word_analogies (speed)") == "met"  # 9,000 / 200 q/s
    assert status_of("accuracy") == "met"  # 0.05 points apart
    assert status_of("recall@10") == "met"
    assert status_of("Nearest queries/s") == "met"
    assert status_of("Warm start") == "met"
    assert status_of("RSS at rest") == "met"
    assert {row["status"] for row in suite.targets({})} == {"not measured"}


def test_every_figure_is_drawn(tmp_path: Path) -> None:
    written = plots.draw_all(sample_results(), tmp_path)
    assert sorted(p.name for p in written) == [
        "analogy.png",
        "collections.png",
        "encode.png",
        "nearest.png",
        "startup.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_serve_default_reads_the_flags_env_line(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "  --hnsw-ef N   HNSW ef at query time (default breadth) (env\n"
        "                LATENT_HNSW_EF; default 128)\n"
        "  --no-default  something (env LATENT_NO_DEFAULT)\n"
    )
    monkeypatch.setattr(common, "serve_help", lambda: text)
    assert common.serve_default("--hnsw-ef") == "128"
    assert common.serve_default("--no-default") is None
    assert nearest.server_default_ef() == 128


def stress_result(duration_s: float, first: float, end: float) -> stress.StressResult:
    label = "first minute" if duration_s >= 120 else "warm-up"
    tally = stress.Tally()
    tally.codes.update({("Encode", "OK"): 3, ("Search", "INTERNAL"): 1})
    rss = {"start": 900.0, label: first, "end": end}
    return stress.StressResult(duration_s, 16, tally, rss, [])


def test_stress_flags_growth_over_5_percent_only_in_runs_of_5_minutes() -> None:
    assert stress_result(600, 1000.0, 1060.0).leaked()
    assert not stress_result(600, 1000.0, 1040.0).leaked()
    assert not stress_result(60, 1000.0, 1200.0).leaked()  # too short to judge
    assert stress_result(600, 1000.0, 1060.0).rss_growth() == pytest.approx(0.06)
    assert stress_result(60, 1000.0, 1010.0).first_label == "warm-up"


def test_stress_counts_unknown_and_internal_as_failing() -> None:
    result = stress_result(30, 1.0, 1.0)
    assert result.failing() == 1
    assert result.requests() == 4 and result.requests("Encode") == 3


def test_stress_requests_are_well_formed() -> None:
    traffic = stress.Traffic([("man", "king", "woman")], ["king"])
    rng = random.Random(3)
    for kind in stress.MIX:
        request = stress.build_request(kind, traffic, rng)
        assert request.IsInitialized() and request.ByteSize() > 0
    upsert = stress.build_request("Upsert", traffic, rng)
    ids = [d.id for d in upsert.documents]
    assert len(set(ids)) == len(ids)  # one request never repeats an id
