"""questions-words.txt benchmark: the whole Google analogy test set through latentd's
BatchAnalogy, next to gensim's KeyedVectors.evaluate_word_analogies on the same vectors.

All 19,544 questions, lowercased; a question with a word outside the 300,000 most frequent
words is skipped (gensim's restrict_vocab=300000, case_insensitive=True does the same).
The service answers 3CosAdd with k=1 and restrict=300000, in batches, once over the HNSW
index and once exactly. Next to it, the library the service wraps: hnswlib alone on the
server's own index file (from --cache-dir), one knn_query over every question's combined
vector for as many candidates as the service asks for (k + 3 inputs, widened for
restrict) at the server's default ef, then the exact top-1 among them in numpy; the two
interleaved over --rounds rounds, each reported by its median. Reported: time, questions
per second, accuracy, agreement of the top-1 with gensim's, and the time ratios to gensim
and to hnswlib alone.

    python bench/questions_words.py [--target HOST:PORT] [--cache-dir DIR] [--batch 2000]
        [--ef EF] [--rounds 3]

Prints markdown tables and writes bench/out/questions_words.json.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import common
import numpy as np
from common import Question, fmt, fmt_ratio, print_table, ratio

RESTRICT = 300_000
# Candidates the service asks HNSW for: k=1 plus the 3 input words, widened by
# size / restrict so that enough fall among the first `restrict` (core/search.py).
INPUTS = 3


def gensim_evaluate(kv: Any) -> dict[str, Any]:
    """evaluate_word_analogies as a user calls it; its time, score, and per-question result."""
    logging.getLogger("gensim").setLevel(logging.WARNING)
    path = str(common.questions_words_path())
    start = time.perf_counter()
    score, sections = kv.evaluate_word_analogies(
        path, restrict_vocab=RESTRICT, case_insensitive=True
    )
    seconds = time.perf_counter() - start
    total = sections[-1]
    correct = {tuple(w.lower() for w in q) for q in total["correct"]}
    incorrect = {tuple(w.lower() for w in q) for q in total["incorrect"]}
    # The file repeats some questions: count the lists, look answers up in the sets.
    return {
        "seconds": seconds,
        "score": float(score),
        "correct": correct,
        "incorrect": incorrect,
        "evaluated": len(total["correct"]) + len(total["incorrect"]),
    }


def gensim_top1(kv: Any, q: Question) -> str:
    """gensim's answer as evaluate_word_analogies picks it (first of topn=5 not an input)."""
    sims = kv.most_similar(positive=[q.b, q.c], negative=[q.a], topn=5, restrict_vocab=RESTRICT)
    for word, _ in sims:
        if word not in (q.a, q.b, q.c):
            return str(word)
    return str(sims[-1][0]) if sims else ""


def chunks(items: list[Question], size: int) -> Iterator[list[Question]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def service_run(client: Any, questions: list[Question], batch: int, exact: bool) -> dict[str, Any]:
    """All questions through client.batch_analogy; time, and top-1 per question."""

    def ask(part: list[Question]) -> list[str]:
        results = client.batch_analogy(
            [([q.b, q.c], [q.a]) for q in part],
            k=1,
            method="cosadd",
            exact=exact,
            restrict=RESTRICT,
            timeout=600,
        )
        return [r.neighbors[0].key if r.neighbors else "" for r in results]

    ask(questions[:50])  # warm up the connection and the code path
    answers: list[str] = []
    start = time.perf_counter()
    for part in chunks(questions, batch):
        answers.extend(ask(part))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "answers": answers}


def server_ef() -> int:
    """The spawned server's default ef: LATENT_HNSW_EF if set, else latentd's default."""
    from latentd.core.hnsw_params import HnswParams

    return int(os.environ.get("LATENT_HNSW_EF") or HnswParams().ef)


def index_file(cache_dir: Path | None) -> Path | None:
    """The GloVe index latentd cached under cache_dir (the newest, if several)."""
    if cache_dir is None:
        return None
    found = sorted(cache_dir.glob(f"{common.WORD_SPACE}-*.hnsw"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


class HnswlibAlone:
    """hnswlib alone on the server's index: the questions' 3CosAdd vectors in one
    knn_query (all cores, as the service), then the exact best candidate among the first
    RESTRICT keys that is not an input. A run is timed from the word rows to the answers."""

    def __init__(self, kv: Any, questions: list[Question], path: Path, ef: int) -> None:
        import hnswlib

        self.kv = kv
        self.ef = ef
        self.unit = kv.get_normed_vectors()
        self.index = hnswlib.Index(space="ip", dim=self.unit.shape[1])
        self.index.load_index(str(path))
        self.index.set_ef(ef)
        vocab = kv.key_to_index
        self.wanted = math.ceil((1 + INPUTS) * len(kv.index_to_key) / RESTRICT) + 8
        self.rows = np.array(
            [[vocab[q.b], vocab[q.c], vocab[q.a]] for q in questions], dtype=np.int64
        )
        self.index.knn_query(self.unit[self.rows[:50, 0]], k=self.wanted)  # warm up

    def run(self) -> dict[str, Any]:
        unit, rows = self.unit, self.rows
        start = time.perf_counter()
        combined = unit[rows[:, 0]] + unit[rows[:, 1]] - unit[rows[:, 2]]
        combined /= np.linalg.norm(combined, axis=1, keepdims=True)
        labels, _ = self.index.knn_query(combined, k=self.wanted, num_threads=os.cpu_count() or 1)
        labels = labels.astype(np.int64)
        scores = np.einsum("nkd,nd->nk", unit[labels], combined)
        excluded = (labels >= RESTRICT) | (labels[:, :, None] == rows[:, None, :]).any(axis=2)
        scores[excluded] = -np.inf
        best = labels[np.arange(len(labels)), scores.argmax(axis=1)]
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "answers": [self.kv.index_to_key[i] for i in best]}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time (the lower middle one of an even count), with every time."""
    middle = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    return {**middle, "rounds_s": [r["seconds"] for r in runs]}


def run(
    target: str,
    kv: Any,
    batch: int,
    index_path: Path | None = None,
    ef: int = 0,
    rounds: int = 3,
) -> dict[str, Any]:
    import latent

    vocab = kv.key_to_index
    all_questions = common.read_questions()
    questions = [q for q in all_questions if common.in_vocab(q, vocab, RESTRICT)]
    print(
        f"{len(all_questions):,} questions, {len(questions):,} with every word in the "
        f"{RESTRICT:,} most frequent"
    )

    print("gensim evaluate_word_analogies ...", flush=True)
    ref = gensim_evaluate(kv)
    print(f"  {ref['seconds']:.1f}s, score {ref['score']:.4f} over {ref['evaluated']:,}")

    client = latent.Client(target)
    library = HnswlibAlone(kv, questions, index_path, ef) if index_path is not None else None
    if library is None:
        print("no index file (pass --cache-dir): the hnswlib-alone row is left out")
    # The service over HNSW and hnswlib alone in turn, `rounds` times: the machine's load
    # falls on both alike, and each is reported by its median round.
    service_rounds: list[dict[str, Any]] = []
    library_rounds: list[dict[str, Any]] = []
    for i in range(rounds):
        print(f"round {i + 1} of {rounds}: latentd BatchAnalogy hnsw ...", flush=True)
        service_rounds.append(service_run(client, questions, batch, exact=False))
        line = f"  {service_rounds[-1]['seconds']:.2f}s"
        if library is not None:
            library_rounds.append(library.run())
            line += f"; hnswlib alone (ef {ef}) {library_rounds[-1]['seconds']:.2f}s"
        print(line, flush=True)
    runs: dict[str, dict[str, Any]] = {"hnsw": median_run(service_rounds)}
    print("latentd BatchAnalogy exact ...", flush=True)
    runs["exact"] = service_run(client, questions, batch, exact=True)
    print(f"  {runs['exact']['seconds']:.1f}s")
    if library_rounds:
        runs["hnswlib"] = {**median_run(library_rounds), "ef": ef}
    client_close = getattr(client, "close", None)
    if callable(client_close):
        client_close()

    # gensim's top-1 per question: the expected word where it was right; asked again
    # (most_similar, as evaluate_word_analogies asks it) where it was wrong.
    gensim_answers: list[str] = []
    for q in questions:
        if q.words in ref["correct"]:
            gensim_answers.append(q.expected)
        else:
            gensim_answers.append(gensim_top1(kv, q))

    n = len(questions)
    by_section: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    results: dict[str, Any] = {
        "questions_total": len(all_questions),
        "questions_asked": n,
        "restrict": RESTRICT,
        "batch": batch,
        "rounds": rounds,
        "gensim": {
            "seconds": ref["seconds"],
            "score": ref["score"],
            "evaluated": ref["evaluated"],
            "questions_per_s": ref["evaluated"] / ref["seconds"],
        },
    }
    for q, g in zip(questions, gensim_answers, strict=True):
        by_section[q.section]["n"] += 1
        by_section[q.section]["gensim"] += g == q.expected
    rows = []
    library_s = runs["hnswlib"]["seconds"] if "hnswlib" in runs else None
    names = {
        "hnsw": "latentd BatchAnalogy hnsw",
        "exact": "latentd BatchAnalogy exact",
        "hnswlib": f"hnswlib alone (knn_query + numpy rerank, ef {ef})",
    }
    for label, r in runs.items():
        answers = r["answers"]
        correct = sum(1 for q, a in zip(questions, answers, strict=True) if a == q.expected)
        agree = sum(1 for a, g in zip(answers, gensim_answers, strict=True) if a == g)
        for q, a in zip(questions, answers, strict=True):
            by_section[q.section][label] += a == q.expected
        entry = {
            "seconds": r["seconds"],
            "questions_per_s": n / r["seconds"],
            "accuracy": correct / n,
            "correct": correct,
            "top1_agreement": agree / n,
            "ratio_time": ratio(r["seconds"], ref["seconds"]),
            "times_faster_than_gensim": ratio(ref["seconds"], r["seconds"]),
            "ratio_time_to_hnswlib": ratio(r["seconds"], library_s),
        }
        for extra in ("ef", "rounds_s"):
            if extra in r:
                entry[extra] = r[extra]
        results[label] = entry
        rows.append(
            [
                names[label],
                fmt(n),
                fmt(r["seconds"], 2),
                fmt(entry["questions_per_s"], 0),
                f"{entry['accuracy']:.2%}",
                f"{entry['top1_agreement']:.2%}",
                fmt_ratio(entry["times_faster_than_gensim"]),
                fmt_ratio(entry["ratio_time_to_hnswlib"]),
            ]
        )
    rows.append(
        [
            "gensim evaluate_word_analogies",
            fmt(ref["evaluated"]),
            fmt(ref["seconds"], 1),
            fmt(results["gensim"]["questions_per_s"], 0),
            f"{ref['score']:.2%}",
            "100.00%",
            "1.00×",
            fmt_ratio(ratio(ref["seconds"], library_s)),
        ]
    )
    print_table(
        f"questions-words.txt, 3CosAdd top-1, restrict {RESTRICT:,}, case-insensitive; "
        f"service in batches of {batch} through the Python client; latentd hnsw and "
        f"hnswlib alone: the median of {rounds} interleaved rounds",
        [
            "run",
            "questions",
            "seconds",
            "questions/s",
            "accuracy",
            "top-1 = gensim's",
            "times faster than gensim",
            "time / hnswlib alone",
        ],
        rows,
    )
    section_rows = [
        [
            name,
            fmt(c["n"]),
            f"{c['hnsw'] / c['n']:.1%}",
            f"{c['exact'] / c['n']:.1%}",
            f"{c['gensim'] / c['n']:.1%}",
        ]
        for name, c in by_section.items()
    ]
    print_table(
        "Accuracy by section",
        ["section", "questions", "latentd hnsw", "latentd exact", "gensim"],
        section_rows,
    )
    results["sections"] = {name: dict(c) for name, c in by_section.items()}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="HOST:PORT of a running latentd (default: spawn one)")
    parser.add_argument(
        "--cache-dir", help="index cache of the spawned server (default: a temporary directory)"
    )
    parser.add_argument("--batch", type=int, default=2000, help="queries per BatchAnalogy")
    parser.add_argument(
        "--ef",
        type=int,
        default=0,
        help="the server's default ef, for hnswlib alone (default: LATENT_HNSW_EF or latentd's)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of hnsw and hnswlib")
    parser.add_argument("--out", type=Path, default=common.OUT_DIR)
    args = parser.parse_args(argv)
    common.warn_if_busy()

    kv, load_s = common.load_glove_kv()
    print(f"gensim KeyedVectors: {len(kv.index_to_key):,} words loaded in {load_s:.1f}s")

    with contextlib.ExitStack() as stack:
        target = args.target
        cache_dir = Path(args.cache_dir) if args.cache_dir else None
        if not target:
            cache_dir = stack.enter_context(common.cache_directory(args.cache_dir))
            server = stack.enter_context(
                common.latentd_server(cache_dir, args.out / "latentd-questions-words.log")
            )
            server.wait_serving()
            print(f"latentd SERVING after {server.serving_s:.1f}s", flush=True)
            target = server.target
        hnsw_wait = common.wait_hnsw(target, timeout=900)
        if hnsw_wait is None:
            print("warning: the index is not HNSW; the 'hnsw' run is answered exactly")
        results = run(
            target,
            kv,
            args.batch,
            index_file(cache_dir),
            args.ef or server_ef(),
            rounds=max(1, args.rounds),
        )
        results["target"] = args.target or "spawned"
    common.write_json("questions_words", results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
