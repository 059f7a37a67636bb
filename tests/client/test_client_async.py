"""AsyncClient round trips against a real latentd; each test runs its own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
import numpy as np
import pytest

import latent

T = TypeVar("T")
SENTENCE = "all-minilm-l6-v2"


def run(target: str, body: Callable[[latent.AsyncClient], Awaitable[T]]) -> T:
    """Run ``body`` with a fresh AsyncClient created inside the event loop."""

    async def main() -> T:
        async with latent.AsyncClient(target, timeout=60) as client:
            return await body(client)

    return asyncio.run(main())


def test_models(server_target: str) -> None:
    models = run(server_target, lambda c: c.models())
    assert {m.name for m in models} >= {"tiny", SENTENCE}


def test_analogy_and_batch(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> None:
        result = await c.analogy(["king", "woman"], ["man"], k=3)
        assert result.keys[0] == "queen"
        cosmul = await c.analogy(["king", "woman"], ["man"], method="cosmul", exact=True)
        assert cosmul.keys[0] == "queen"
        batch = await c.batch_analogy(
            [(["king", "woman"], ["man"]), (["prince", "woman"], ["man"])], k=2
        )
        assert [r.keys[0] for r in batch] == ["queen", "princess"]

    run(server_target, body)


def test_nearest_and_batch(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> None:
        one = await c.nearest("cat", k=3)
        assert one.keys[0] == "kitten"
        batch = await c.batch_nearest(["cat", ["king", "woman"]], k=3)
        assert len(batch) == 2
        assert batch[0].keys == one.keys

    run(server_target, body)


def test_interpolate_similarity_doesnt_match(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> None:
        path = await c.interpolate("cat", "dog", steps=4, path="slerp", k=2)
        assert [round(p.t, 3) for p in path.points] == [0.0, 0.333, 0.667, 1.0]
        sim = await c.similarity(["cat", "dog", "king"], ["queen", "frog"])
        assert sim.scores.shape == (3, 2)
        odd = await c.doesnt_match(["cat", "dog", "kitten", "king"])
        assert odd.key == "king"

    run(server_target, body)


def test_encode(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> None:
        vectors = await c.encode(["first sentence", "second sentence"])
        assert vectors.shape == (2, 384) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        detailed = await c.encode_detailed("one", SENTENCE, dimensions=64)
        assert detailed.vectors.shape == (1, 64)
        assert detailed.truncated == [False]

    run(server_target, body)


def test_concurrent_calls(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> list[latent.NearestResult]:
        return await asyncio.gather(*(c.nearest(w, k=1) for w in ["cat", "king", "france"]))

    results = run(server_target, body)
    assert [r.query[0].key for r in results] == ["cat", "king", "france"]


def test_typed_errors(server_target: str) -> None:
    async def body(c: latent.AsyncClient) -> None:
        with pytest.raises(latent.NotFound, match="kingg") as info:
            await c.analogy(["kingg", "woman"], ["man"])
        assert info.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(latent.InvalidArgument):
            await c.nearest("cat", k=0)

    run(server_target, body)


def test_unreachable_target_is_unavailable() -> None:
    async def main() -> None:
        async with latent.AsyncClient("127.0.0.1:1", timeout=10) as client:
            await client.models()

    with pytest.raises(latent.Unavailable):
        asyncio.run(main())
