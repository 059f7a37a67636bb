"""Shared fixtures: a tiny word space built with KeyedVectors.add_vectors and a real
gRPC server on port 0 serving it (plus the real default sentence model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from latentd.testing import start_test_server, use_offline_env

# Before any test module imports transformers (it reads the variables on import).
use_offline_env()

# Directions of the tiny space: royalty, gender, animal, person, youth, places, noise.
TINY_DIM = 16


def tiny_vectors() -> tuple[list[str], np.ndarray]:
    """Keys (most frequent first) and vectors in which king - man + woman = queen."""
    rng = np.random.default_rng(7)
    royal, male, animal, person, young = (np.eye(TINY_DIM)[i] for i in range(5))
    base = {
        "man": male + person,
        "woman": -male + person,
        "king": royal + 0.6 * male,
        "queen": royal - 0.6 * male,
        "prince": 0.6 * royal + 0.6 * male + young,
        "princess": 0.6 * royal - 0.6 * male + young,
        "cat": animal + 0.3 * male,
        "dog": animal - 0.3 * male,
        "frog": animal + 0.2 * royal,
        "kitten": animal + 0.35 * male,
        "Paris": np.eye(TINY_DIM)[6] + np.eye(TINY_DIM)[7],
        "france": np.eye(TINY_DIM)[6],
        "berlin": np.eye(TINY_DIM)[8] + np.eye(TINY_DIM)[7],
        "germany": np.eye(TINY_DIM)[8],
    }
    keys = list(base)
    vectors = np.stack([base[k] for k in keys]) + rng.normal(0, 0.05, (len(keys), TINY_DIM))
    fillers = [f"word{i}" for i in range(200)]
    filler_vectors = rng.normal(0, 1, (len(fillers), TINY_DIM))
    return keys + fillers, np.vstack([vectors, filler_vectors]).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_kv():
    from gensim.models import KeyedVectors

    keys, vectors = tiny_vectors()
    kv = KeyedVectors(vector_size=TINY_DIM)
    kv.add_vectors(keys, vectors)
    return kv


@pytest.fixture(scope="session")
def server_target(tmp_path_factory: pytest.TempPathFactory, tiny_kv) -> Iterator[str]:
    """A real latentd on 127.0.0.1:<free port> with the word space `tiny` (default word
    model, an HNSW index) and the default sentence model `all-minilm-l6-v2`."""
    cache_dir: Path = tmp_path_factory.mktemp("cache")
    with start_test_server(tiny_kv, cache_dir=cache_dir) as target:
        yield target


BACKENDS = ("embedded", "milvus")


@pytest.fixture(scope="session", params=BACKENDS)
def collections_backend(request: pytest.FixtureRequest) -> str:
    """The conformance suite's parameter: each collections test runs once per backend."""
    backend: str = request.param
    if backend == "milvus":
        pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip: latentd[milvus])")
        pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
    return backend


@pytest.fixture(scope="session")
def milvus_target(tmp_path_factory: pytest.TempPathFactory, tiny_kv) -> Iterator[str]:
    """A real latentd like `server_target` whose collections are kept in Milvus (a
    Milvus Lite file)."""
    from latentd.config import Settings

    data_dir = tmp_path_factory.mktemp("milvus-data")
    lite = tmp_path_factory.mktemp("milvus-lite") / "collections.db"
    settings = Settings(collections_backend="milvus", milvus_uri=str(lite))
    cache_dir: Path = tmp_path_factory.mktemp("cache")
    with start_test_server(tiny_kv, cache_dir, settings=settings, data_dir=data_dir) as target:
        yield target


@pytest.fixture(scope="session")
def collections_target(collections_backend: str, request: pytest.FixtureRequest) -> str:
    """A server whose new collections go to `collections_backend`: the conformance
    suite's one fixture (tests/api/test_collections_api.py, tests/client/...)."""
    name = "milvus_target" if collections_backend == "milvus" else "server_target"
    target: str = request.getfixturevalue(name)
    return target
