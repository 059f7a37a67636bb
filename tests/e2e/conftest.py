"""One session-wide `latentd serve` process with the real default models (GloVe 6B 50d
and all-MiniLM-L6-v2). Its HNSW index is cached under .cache/e2e in the repository, so
only the first run on a machine pays for the build (about a minute on 2 cores)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

REPO = Path(__file__).resolve().parents[2]
INDEX_WAIT_S = 900


def latentd_command() -> list[str]:
    return [sys.executable, "-m", "latentd.cli"]


def wait_for_serving_line(process: subprocess.Popen[str], timeout: float) -> int:
    """The port from latentd's one 'serving on HOST:PORT' line."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError(f"latentd exited with {process.returncode}")
            continue
        match = re.search(r"serving on [\d.]+:(\d+)", line)
        if match:
            return int(match.group(1))
    raise TimeoutError("latentd printed no serving line")


def index_state(target: str, space: str) -> int:
    with grpc.insecure_channel(target) as channel:
        models = pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=10)
    return next(m.index_state for m in models.models if m.name == space)


@pytest.fixture(scope="session")
def default_server() -> Iterator[str]:
    cache_dir = Path(os.environ.get("LATENT_E2E_CACHE", REPO / ".cache" / "e2e"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    process = subprocess.Popen(
        [*latentd_command(), "serve", "--port", "0", "--cache-dir", str(cache_dir)],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        port = wait_for_serving_line(process, timeout=300)
        target = f"127.0.0.1:{port}"
        deadline = time.monotonic() + INDEX_WAIT_S
        while index_state(target, "glove-6b-50d") != pb.HNSW:
            if time.monotonic() > deadline:
                raise TimeoutError("the GloVe HNSW index was not ready in time")
            time.sleep(2)
        yield target
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def glove_kv():  # type: ignore[no-untyped-def]
    """The same GloVe vectors in gensim, in process, for parity checks."""
    from gensim.models import KeyedVectors

    from latentd.core.loaders import default_glove_dir, load_word_space

    space = load_word_space("glove", default_glove_dir())
    kv = KeyedVectors(vector_size=space.dimension)
    kv.add_vectors(space.keys, space.vectors)
    return kv
