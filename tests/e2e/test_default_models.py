"""End to end over the real default models through the typed client."""

from __future__ import annotations

from pathlib import Path

import gensim
import numpy as np
import pytest

import latent

QUESTIONS = Path(gensim.__file__).parent / "test" / "test_data" / "questions-words.txt"
SAMPLE = 300


def sample_questions(kv, n: int = SAMPLE) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    """n questions spread evenly over every section of questions-words.txt, lowercased,
    all four words in the vocabulary."""
    questions = []
    for line in QUESTIONS.read_text().splitlines():
        if line.startswith(":"):
            continue
        words = tuple(w.lower() for w in line.split())
        if all(w in kv.key_to_index for w in words):
            questions.append(words)
    step = len(questions) / n
    return [questions[int(i * step)] for i in range(n)]


@pytest.fixture(scope="module")
def client(default_server: str):  # type: ignore[no-untyped-def]
    with latent.Client(default_server, timeout=120) as c:
        yield c


def test_king_minus_man_plus_woman_is_queen(client: latent.Client) -> None:
    result = client.analogy(["king", "woman"], ["man"], k=5)
    assert result.neighbors[0].key == "queen"
    assert result.space == "glove-6b-50d"
    assert result.searched_with == "hnsw"


def test_encode_matches_sentence_transformers(client: latent.Client) -> None:
    from sentence_transformers import SentenceTransformer

    from latentd.app import default_sentence_dir

    texts = [
        "The cat sat on the mat.",
        "Latent spaces are fun",
        "x",
        "A much longer sentence about gRPC services answering embedding queries fast.",
    ]
    served = client.encode(texts, model="all-minilm-l6-v2")
    local = SentenceTransformer(default_sentence_dir(), device="cpu").encode(texts)
    assert served.shape == (4, 384) and served.dtype == np.float32
    local = local / np.linalg.norm(local, axis=1, keepdims=True)
    cosines = np.sum(served * local, axis=1) / np.linalg.norm(served, axis=1)
    assert cosines.min() >= 0.9999


@pytest.mark.parametrize("method", ["cosadd", "cosmul"])
def test_analogy_parity_with_gensim(client: latent.Client, glove_kv, method: str) -> None:  # type: ignore[no-untyped-def]
    questions = sample_questions(glove_kv)
    gensim_call = glove_kv.most_similar if method == "cosadd" else glove_kv.most_similar_cosmul
    expected = [
        gensim_call(positive=[b, c], negative=[a], topn=1)[0][0] for a, b, c, _ in questions
    ]
    queries = [([b, c], [a]) for a, b, c, _ in questions]
    exact = client.batch_analogy(queries, k=1, method=method, exact=True)
    hnsw = client.batch_analogy(queries, k=1, method=method)
    exact_top = [r.neighbors[0].key for r in exact]
    hnsw_top = [r.neighbors[0].key for r in hnsw]
    mismatches = [
        (q, e, g) for q, e, g in zip(questions, exact_top, expected, strict=True) if e != g
    ]
    assert not mismatches, mismatches[:5]
    agreement = np.mean([h == g for h, g in zip(hnsw_top, expected, strict=True)])
    assert agreement >= 0.99, agreement
    assert {r.searched_with for r in hnsw} == {"hnsw"}


def test_default_hnsw_recall_at_10(client: latent.Client, glove_kv) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    words = [glove_kv.index_to_key[i] for i in rng.choice(400_000, 500, replace=False)]
    questions = sample_questions(glove_kv, 200)
    for run in (
        lambda **kw: client.batch_nearest([[w] for w in words], k=10, **kw),
        lambda **kw: client.batch_analogy([([b, c], [a]) for a, b, c, _ in questions], k=10, **kw),
    ):
        exact, approx = run(exact=True), run()
        recall = np.mean(
            [
                len({n.key for n in e.neighbors} & {n.key for n in a.neighbors}) / 10
                for e, a in zip(exact, approx, strict=True)
            ]
        )
        assert recall >= 0.98, recall
