"""Analogy accuracy and time on gensim's questions-words.txt through latentd, 3CosAdd and
3CosMul, HNSW and exact, in batches (BatchAnalogy) and one call a question (Analogy),
next to gensim on the same GloVe vectors in this process.

The rules are gensim's `evaluate_word_analogies(path, restrict_vocab=300000,
case_insensitive=True)`: questions lowercased, a question with a word outside the
300,000 most frequent words skipped, the candidates the 300,000 most frequent words,
the input words never an answer, top-1 counted. The service is asked the same way
(k=1, restrict=300000; inputs are excluded by default).

- gensim 3CosAdd: `evaluate_word_analogies` itself, timed (over the whole file, or over
  a file of the sampled questions with --questions).
- gensim 3CosMul: gensim has no evaluate for it; `most_similar_cosmul(topn=5,
  restrict_vocab=300000)` one question at a time, the first answer not an input (what
  evaluate does with most_similar), over a time-capped prefix of the shuffled questions.
- latentd: every question in batches, per method and search; a run with a time cap
  stops after the batch that passes it and reports the questions it answered. Then one
  Analogy call a question for a few seconds per method and search.

Accuracy is compared on the same questions (gensim's evaluate reports which it got
right, so its accuracy over any prefix is known).

    .venv/bin/python bench/word_analogies.py [--target HOST:PORT] [--cache-dir DIR]
        [--questions N] [--per-call-seconds 8]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
from common import Question, fmt, fmt_ratio, print_table, ratio, tail_stats

RESTRICT = 300_000
METHODS = ("cosadd", "cosmul")
SEARCHES = (("hnsw", False), ("exact", True))
# Queries per BatchAnalogy: an exact 3CosMul request scores queries x 300,000 keys x 3
# terms, and the server allows 1e9 scores a request by default.
BATCH = {"cosadd": 2000, "cosmul": 1000}


def usable_questions(kv: Any, seed: int) -> list[Question]:
    """The questions gensim evaluates (every word among the RESTRICT most frequent), in a
    seeded random order, so that any prefix is a uniform sample."""
    questions = [
        q for q in common.read_questions() if common.in_vocab(q, kv.key_to_index, RESTRICT)
    ]
    random.Random(seed).shuffle(questions)
    return questions


def write_questions(questions: Sequence[Question], path: Path) -> None:
    """questions-words.txt's format: ': section' lines, then 'a b c expected' lines."""
    by_section: dict[str, list[Question]] = {}
    for q in questions:
        by_section.setdefault(q.section, []).append(q)
    lines = []
    for section, items in by_section.items():
        lines.append(f": {section}")
        lines.extend(" ".join(q.words) for q in items)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def gensim_evaluate(kv: Any, path: Path) -> dict[str, Any]:
    """evaluate_word_analogies as a user calls it: its time, score and the questions it
    got right (lowercased word tuples)."""
    logging.getLogger("gensim").setLevel(logging.WARNING)
    started = time.perf_counter()
    score, sections = kv.evaluate_word_analogies(
        str(path), restrict_vocab=RESTRICT, case_insensitive=True
    )
    seconds = time.perf_counter() - started
    total = sections[-1]
    evaluated = len(total["correct"]) + len(total["incorrect"])
    return {
        "seconds": seconds,
        "score": float(score),
        "evaluated": evaluated,
        "questions_per_s": evaluated / seconds,
        "correct": {tuple(w.lower() for w in q) for q in total["correct"]},
    }


def gensim_cosmul(kv: Any, questions: Sequence[Question], max_seconds: float) -> dict[str, Any]:
    """most_similar_cosmul over a prefix of the questions, until max_seconds pass."""
    answers: list[str] = []
    started = time.perf_counter()
    for q in questions:
        sims = kv.most_similar_cosmul(
            positive=[q.b, q.c], negative=[q.a], topn=5, restrict_vocab=RESTRICT
        )
        answers.append(next((str(w) for w, _ in sims if w not in (q.a, q.b, q.c)), ""))
        if time.perf_counter() - started >= max_seconds:
            break
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "questions_per_s": len(answers) / seconds, "answers": answers}


def service_batches(
    client: Any, questions: Sequence[Question], method: str, exact: bool, max_seconds: float
) -> dict[str, Any]:
    """BatchAnalogy over the questions, batch after batch, until all are answered or
    max_seconds have passed."""
    batch = BATCH[method]
    answers: list[str] = []
    started = time.perf_counter()
    for start in range(0, len(questions), batch):
        part = questions[start : start + batch]
        results = client.batch_analogy(
            [([q.b, q.c], [q.a]) for q in part],
            k=1,
            space=common.WORD_SPACE,
            method=method,
            exact=exact,
            restrict=RESTRICT,
            timeout=600,
        )
        answers.extend(r.neighbors[0].key if r.neighbors else "" for r in results)
        if time.perf_counter() - started >= max_seconds:
            break
    seconds = time.perf_counter() - started
    return {
        "batch": batch,
        "seconds": seconds,
        "questions_per_s": len(answers) / seconds,
        "answers": answers,
    }


def service_each(
    client: Any, questions: Sequence[Question], method: str, exact: bool, seconds: float
) -> dict[str, Any]:
    """One Analogy call a question, over a prefix of the questions, for about `seconds`."""
    for q in questions[:5]:  # warm-up
        client.analogy(
            [q.b, q.c],
            [q.a],
            k=1,
            space=common.WORD_SPACE,
            method=method,
            exact=exact,
            restrict=RESTRICT,
        )
    latencies: list[float] = []
    answers: list[str] = []
    started = time.perf_counter()
    for q in questions:
        t0 = time.perf_counter()
        result = client.analogy(
            [q.b, q.c],
            [q.a],
            k=1,
            space=common.WORD_SPACE,
            method=method,
            exact=exact,
            restrict=RESTRICT,
        )
        latencies.append(time.perf_counter() - t0)
        answers.append(result.neighbors[0].key if result.neighbors else "")
        if t0 - started >= seconds:
            break
    wall = time.perf_counter() - started
    return {
        **tail_stats(latencies),
        "seconds": wall,
        "questions_per_s": len(answers) / wall,
        "answers": answers,
    }


def accuracy(questions: Sequence[Question], answers: Sequence[str]) -> float:
    right = sum(1 for q, a in zip(questions, answers, strict=False) if a == q.expected)
    return right / max(len(answers), 1)


def gensim_accuracy(questions: Sequence[Question], n: int, correct: set[tuple[str, ...]]) -> float:
    """gensim evaluate's accuracy over the first n questions."""
    return sum(1 for q in questions[:n] if q.words in correct) / max(n, 1)


def run(
    target: str,
    kv: Any,
    *,
    questions: int | None = None,
    batch_seconds: float = 120.0,
    per_call_seconds: float = 8.0,
    cosmul_seconds: float = 20.0,
    seed: int = 11,
    part_seconds: float = float("inf"),
) -> dict[str, Any]:
    """The whole analogy part against a running server; prints its tables. `questions`
    limits the run to a uniform sample (gensim then evaluates a file of just those).
    Within part_seconds, the capped batch runs shrink and per-call runs are skipped so
    that the part ends in time (gensim's evaluate and the HNSW 3CosAdd run always run)."""
    import latent

    budget = common.Budget(part_seconds)
    per_call_total = len(METHODS) * len(SEARCHES) * (per_call_seconds + 2.0)
    usable = usable_questions(kv, seed)
    asked = usable[:questions] if questions else usable
    print(
        f"questions-words: {len(asked):,} of {len(usable):,} usable questions; "
        "gensim evaluate_word_analogies ...",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="latent-bench-qw-") as tmp:
        path = common.questions_words_path()
        if questions:
            path = Path(tmp) / "questions-words-sample.txt"
            write_questions(asked, path)
        reference = gensim_evaluate(kv, path)
    correct = reference.pop("correct")
    print(
        f"  {reference['seconds']:.1f}s, score {reference['score']:.4f} "
        f"over {reference['evaluated']:,}",
        flush=True,
    )
    print("gensim most_similar_cosmul ...", flush=True)
    cosmul_cap = min(cosmul_seconds, max(budget.left() - per_call_total - 30.0, 3.0))
    cosmul = gensim_cosmul(kv, asked, cosmul_cap)
    cosmul_answers = cosmul.pop("answers")
    cosmul["questions"] = len(cosmul_answers)
    cosmul["accuracy"] = accuracy(asked, cosmul_answers)

    results: dict[str, Any] = {
        "questions_total": len(common.read_questions()),
        "questions_usable": len(usable),
        "questions_asked": len(asked),
        "restrict": RESTRICT,
        "gensim_evaluate": reference,
        "gensim_cosmul": cosmul,
        "batch": {},
        "per_call": {},
    }
    with latent.Client(target, timeout=600.0) as client:
        for method in METHODS:
            for label, exact in SEARCHES:
                name = f"{method}/{label}"
                # The cheap HNSW 3CosAdd run (the target's) always covers every question.
                cap = float("inf") if name == "cosadd/hnsw" else batch_seconds
                cap = min(cap, max(budget.left() - per_call_total, 5.0))
                print(f"latentd BatchAnalogy {name} ...", flush=True)
                service_batches(client, asked[:50], method, exact, 60)  # warm-up
                r = service_batches(client, asked, method, exact, cap)
                results["batch"][name] = summarize(r, asked, correct, cosmul_answers, method)
                print(
                    f"  {results['batch'][name]['questions']:,} questions in {r['seconds']:.1f}s, "
                    f"accuracy {results['batch'][name]['accuracy']:.4f}",
                    flush=True,
                )
        for method in METHODS:
            for label, exact in SEARCHES:
                name = f"{method}/{label}"
                if not budget.allows(per_call_seconds + 2.0, f"Analogy one call a question {name}"):
                    continue
                print(f"latentd Analogy one call a question {name} ...", flush=True)
                r = service_each(client, asked, method, exact, per_call_seconds)
                results["per_call"][name] = summarize(r, asked, correct, cosmul_answers, method)
    results["skipped"] = budget.skipped
    print_tables(results)
    return results


def summarize(
    run: dict[str, Any],
    questions: Sequence[Question],
    gensim_correct: set[tuple[str, ...]],
    cosmul_answers: Sequence[str],
    method: str,
) -> dict[str, Any]:
    """A service run's figures, with gensim's accuracy over the same questions."""
    answers = run.pop("answers")
    n = len(answers)
    entry = {**run, "questions": n, "accuracy": accuracy(questions, answers)}
    # gensim's accuracy and the service's over the questions both answered.
    both = n if method == "cosadd" else min(n, len(cosmul_answers))
    entry["same_questions"] = both
    entry["same_accuracy"] = accuracy(questions, answers[:both])
    if method == "cosadd":
        entry["gensim_accuracy"] = gensim_accuracy(questions, both, gensim_correct)
    else:
        entry["gensim_accuracy"] = accuracy(questions, cosmul_answers[:both])
    return entry


def print_tables(r: dict[str, Any]) -> None:
    ev, cm = r["gensim_evaluate"], r["gensim_cosmul"]
    gensim_rate = {"cosadd": ev["questions_per_s"], "cosmul": cm["questions_per_s"]}
    rows: list[list[str]] = [
        [
            "gensim evaluate_word_analogies (3CosAdd)",
            fmt(ev["evaluated"]),
            fmt(ev["seconds"], 1),
            fmt(ev["questions_per_s"], 0),
            "–",
            "–",
            f"{ev['score']:.2%}",
            "",
            "1.00×",
        ],
        [
            "gensim most_similar_cosmul, one at a time",
            fmt(cm["questions"]),
            fmt(cm["seconds"], 1),
            fmt(cm["questions_per_s"], 0),
            "–",
            "–",
            f"{cm['accuracy']:.2%}",
            "",
            "1.00×",
        ],
    ]
    for form, runs in (("BatchAnalogy", r["batch"]), ("Analogy, one call each", r["per_call"])):
        for name, m in runs.items():
            method = name.split("/")[0]
            rows.append(
                [
                    f"latentd {form} {name}",
                    fmt(m["questions"]),
                    fmt(m["seconds"], 1),
                    fmt(m["questions_per_s"], 0),
                    fmt(m.get("p50_ms")),
                    fmt(m.get("p99_ms")),
                    f"{m['accuracy']:.2%}",
                    f"{m['same_accuracy']:.2%} / {m['gensim_accuracy']:.2%} "
                    f"of {m['same_questions']:,}",
                    fmt_ratio(ratio(m["questions_per_s"], gensim_rate[method])),
                ]
            )
    print_table(
        f"questions-words.txt ({r['questions_asked']:,} questions asked of "
        f"{r['questions_usable']:,} usable, {r['questions_total']:,} in the file), top-1, "
        f"restrict {r['restrict']:,}; ratio: questions/s over gensim's for the same method",
        [
            "run",
            "questions",
            "seconds",
            "questions/s",
            "p50 ms",
            "p99 ms",
            "accuracy",
            "same questions: latentd / gensim",
            "speed ratio",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT of a running latentd (default: spawn one)")
    parser.add_argument("--cache-dir", help="index cache of the spawned server")
    parser.add_argument("--questions", type=int, default=None, help="a uniform sample")
    parser.add_argument("--per-call-seconds", type=float, default=8.0)
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()
    kv, _ = common.load_glove_kv()
    with contextlib.ExitStack() as stack:
        target, _ = common.target_or_server(
            stack, args.target, args.cache_dir, args.out / "latentd-word-analogies.log"
        )
        results = run(target, kv, questions=args.questions, per_call_seconds=args.per_call_seconds)
    common.write_json("word_analogies", results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
