"""One session-wide `latentd serve` process with the real default models (GloVe 6B 50d
and all-MiniLM-L6-v2). Its HNSW index is cached under .cache/e2e in the repository, so
only the first run on a machine pays for the build (about a minute on 2 cores)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_http_url,
    serving_port,
    stop_process,
    wait_for_hnsw,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
INDEX_WAIT_S = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is marked e2e (`pytest -m "not e2e"` leaves them out).
    The hook sees the whole session's items, hence the check of the path."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def default_latentd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The gRPC target and the HTTP twin's base URL of the session's `latentd serve`."""
    cache_dir = Path(os.environ.get("LATENT_E2E_CACHE", REPO / ".cache" / "e2e"))
    data_dir = tmp_path_factory.mktemp("data")
    process = subprocess.Popen(
        [
            *latentd_command(),
            "serve",
            "--port",
            "0",
            "--cache-dir",
            str(cache_dir),
            "--data-dir",
            str(data_dir),
            "--http-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        line = read_serving_line(process, timeout=300)
        target = f"127.0.0.1:{serving_port(line)}"
        if (
            wait_for_hnsw(target, "glove-6b-50d", timeout=INDEX_WAIT_S, interval=2, process=process)
            is None
        ):
            raise TimeoutError("the GloVe HNSW index was not ready in time")
        yield target, serving_http_url(line)
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def default_server(default_latentd: tuple[str, str]) -> str:
    """The gRPC target ("127.0.0.1:PORT") of the session's `latentd serve`."""
    return default_latentd[0]


@pytest.fixture(scope="session")
def default_http(default_latentd: tuple[str, str]) -> str:
    """The HTTP base URL ("http://127.0.0.1:PORT") of the session's `latentd serve`."""
    return default_latentd[1]


@pytest.fixture(scope="session")
def glove_kv():  # type: ignore[no-untyped-def]
    """The same GloVe vectors in gensim, in process, for parity checks."""
    from gensim.models import KeyedVectors

    from latentd.core.loaders import default_glove_dir, load_word_space

    space = load_word_space("glove", default_glove_dir())
    kv = KeyedVectors(vector_size=space.dimension)
    kv.add_vectors(space.keys, space.vectors)
    return kv
