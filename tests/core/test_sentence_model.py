"""The sentence model's batching: inputs of one request or of concurrent requests
grouped by token length under a budget of padded tokens, each vector equal to the one
sentence-transformers gives that input alone. Over the real default model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from latentd.core.batch_params import BatchParams
from latentd.core.encode_batcher import plan_batches
from latentd.core.sentence_model import SentenceModel


@pytest.fixture(scope="module")
def model() -> Iterator[SentenceModel]:
    from latentd.app import default_sentence_dir

    batching = BatchParams(max_size=4, max_tokens=96, max_wait_ms=200)
    m = SentenceModel("minilm", default_sentence_dir(), batching=batching)
    yield m
    m.close()


def test_batches_keep_to_the_size_and_the_padded_token_budget() -> None:
    tokens = [5, 40, 7, 120, 9, 30, 30, 8, 6, 25, 11]
    batches = plan_batches(tokens, max_size=4, max_tokens=96)
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


def test_concurrent_callers_share_forward_passes_and_get_their_own_vectors(
    model: SentenceModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Callers of one text each, of very different lengths, are run together (the model
    waits up to 200 ms for them here) and each gets the vector its text gets alone."""
    from sentence_transformers import SentenceTransformer

    from latentd.app import default_sentence_dir

    texts = [
        "Hi",
        "A kitten sleeps.",
        "The central bank raised interest rates again, and markets fell sharply.",
        "Slow-cooked tomato sauce with fresh basil, garlic and olive oil.",
        "Cheap flights.",
        "word " * 400,  # cut (its caller asks to truncate)
        "Rain tomorrow.",
        "Who won the match last night, and by how many goals did they win it?",
    ]
    passes: list[list[str]] = []
    forward = model.forward

    def recorded(batch: list[str], prompt: str, truncate: bool) -> np.ndarray:
        passes.append(batch)
        return forward(batch, prompt, truncate)

    monkeypatch.setattr(model, "forward", recorded)
    barrier = threading.Barrier(len(texts))

    def call(text: str) -> np.ndarray:
        barrier.wait()
        return model.embed([text], truncate=True).vectors[0]

    with ThreadPoolExecutor(len(texts)) as pool:
        vectors = np.stack(list(pool.map(call, texts)))
    # Inputs of different callers met in one forward pass, each at most 4 inputs and 96
    # padded tokens (one longer input alone).
    assert any(len(batch) > 1 for batch in passes)
    assert sorted(t for batch in passes for t in batch) == sorted(texts)
    assert len(passes) < len(texts)
    reference = SentenceTransformer(default_sentence_dir(), device="cpu")
    alone = np.stack([reference.encode([t], convert_to_numpy=True)[0] for t in texts])
    cosine = (vectors * alone).sum(1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(alone, axis=1)
    )
    assert cosine.min() >= 0.9999


def test_torch_threads_setting_sets_torch_intra_op_threads() -> None:
    import torch

    from latentd.app import default_sentence_dir, load_sentence_models
    from latentd.config import ModelSpec, Settings

    before = torch.get_num_threads()
    try:
        models = load_sentence_models(
            [ModelSpec("minilm", default_sentence_dir())], Settings(torch_threads=1)
        )
        assert torch.get_num_threads() == 1
        assert models[0].embed(["one thread"]).vectors.shape == (1, 384)
        models[0].close()
    finally:
        torch.set_num_threads(before)
