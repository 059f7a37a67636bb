"""The sentence model's own batching: inputs grouped by token length under a budget of
padded tokens, each vector equal to the one sentence-transformers gives that input
alone. Over the real default model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from latentd.core.sentence_model import SentenceModel


@pytest.fixture(scope="module")
def model() -> Iterator[SentenceModel]:
    from latentd.app import default_sentence_dir

    m = SentenceModel("minilm", default_sentence_dir(), batch_size=4, batch_tokens=96)
    yield m
    m.close()


def test_batches_keep_to_the_size_and_the_padded_token_budget(model: SentenceModel) -> None:
    tokens = [5, 40, 7, 120, 9, 30, 30, 8, 6, 25, 11]
    batches = model._batches(tokens)
    assert sorted(i for b in batches for i in b) == list(range(len(tokens)))
    for batch in batches:
        lengths = [tokens[i] for i in batch]
        assert lengths == sorted(lengths, reverse=True)  # longest first
        assert len(batch) <= 4
        assert len(batch) == 1 or len(batch) * lengths[0] <= 96
    assert [tokens[i] for i in batches[0]] == [120]  # over the budget alone: goes alone
    # Short inputs are not padded to the long ones.
    assert [[tokens[i] for i in b] for b in batches] == [
        [120],
        [40, 30],
        [30, 25, 11],
        [9, 8, 7, 6],
        [5],
    ]


def test_each_vector_equals_the_input_encoded_alone(model: SentenceModel) -> None:
    from sentence_transformers import SentenceTransformer

    from latentd.app import default_sentence_dir

    texts = [
        "A kitten.",
        "The central bank raised interest rates again, and markets fell sharply.",
        "word " * 400,  # over the model's 256 tokens: cut
        "Slow-cooked tomato sauce with fresh basil, garlic and olive oil, simmered "
        "for three hours until thick and sweet, then poured over fresh pasta.",
        "Hi",
        "Cheap flights to Lisbon this summer.",
    ]
    embedded = model.embed(texts, truncate=True)
    assert embedded.truncated == [False, False, True, False, False, False]
    reference = SentenceTransformer(default_sentence_dir(), device="cpu")
    alone = np.stack([reference.encode([t], convert_to_numpy=True)[0] for t in texts])
    cosine = (embedded.vectors * alone).sum(1) / (
        np.linalg.norm(embedded.vectors, axis=1) * np.linalg.norm(alone, axis=1)
    )
    assert cosine.min() >= 0.9999
    np.testing.assert_allclose(embedded.vectors, alone, atol=2e-5)
