"""Crash safety of the index cache: a latentd killed with SIGKILL while it builds its
HNSW index leaves nothing under the cache's real name, and the next start builds again,
serves, and caches; one killed while serving restarts warm from the cache."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import grpc
import numpy as np
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.testing import (
    child_env,
    index_state,
    latentd_command,
    read_serving_line,
    serving_port,
    wait_for_hnsw,
)

WORDS = 60_000
DIM = 32


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A word2vec binary file big enough that its index build takes several seconds."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=DIM)
    vectors = np.random.default_rng(5).normal(size=(WORDS, DIM)).astype(np.float32)
    kv.add_vectors([f"w{i}" for i in range(WORDS)], vectors)
    path = tmp_path_factory.mktemp("model") / "big.bin"
    kv.save_word2vec_format(str(path), binary=True)
    return path


def start(model: Path, cache: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            *latentd_command(),
            "serve",
            "--no-default-models",
            "--port",
            "0",
            "--word-model",
            f"big={model}",
            "--cache-dir",
            str(cache),
            "--data-dir",
            str(cache.parent / "data"),
            "--hnsw-ef-construction",
            "400",
            "--hnsw-build-threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("a"),
        text=True,
        env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
    )
    line = read_serving_line(process, timeout=300)
    return process, f"127.0.0.1:{serving_port(line)}"


def nearest(target: str, exact: bool) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        reply = pb_grpc.ArithmeticStub(channel).Nearest(
            pb.NearestRequest(query=[pb.Term(key="w7")], k=5, options=pb.QueryOptions(exact=exact)),
            timeout=30,
        )
    return [n.key for n in reply.neighbors]


def test_sigkill_during_build_then_restart(model: Path, tmp_path: Path) -> None:
    cache, log = tmp_path / "cache", tmp_path / "latentd.log"
    process, target = start(model, cache, log)
    try:
        assert index_state(target, timeout=10) == pb.BUILDING
        expected = nearest(target, exact=True)  # answered while building
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert not list(cache.glob("*.hnsw"))  # nothing half-built under the real name

    process, target = start(model, cache, log)
    try:
        assert wait_for_hnsw(target, timeout=300, interval=0.5) is not None, (
            "index never became ready"
        )
        assert nearest(target, exact=False) == expected
    finally:
        process.send_signal(signal.SIGKILL)  # killed while serving, after the save
        process.wait(timeout=30)
    [cached] = cache.glob("*.hnsw")
    assert not list(cache.glob("*.tmp"))

    process, target = start(model, cache, log)
    try:
        assert wait_for_hnsw(target, timeout=60, interval=0.5) is not None, (
            "index never became ready"
        )
        assert nearest(target, exact=False) == expected
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert "HNSW index loaded" in log.read_text()
    assert list(cache.glob("*.hnsw")) == [cached]
