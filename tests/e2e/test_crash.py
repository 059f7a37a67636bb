"""Crash safety of the index cache: a latentd killed with SIGKILL while it builds its
HNSW index leaves nothing under the cache's real name, and the next start builds again,
serves, and caches; one killed while serving restarts warm from the cache."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATENT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "latentd.cli", "serve", "--no-default-models", "--port", "0",
         "--word-model", f"big={model}", "--cache-dir", str(cache),
         "--hnsw-ef-construction", "400", "--hnsw-build-threads", "1"],
        stdout=subprocess.PIPE, stderr=log.open("a"), text=True, env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"serving on [\d.]+:(\d+)", line)
    assert match, f"no serving line: {line!r}"
    return process, f"127.0.0.1:{match.group(1)}"


def state(target: str) -> int:
    with grpc.insecure_channel(target) as channel:
        reply = pb_grpc.ModelsStub(channel).ListModels(pb.ListModelsRequest(), timeout=10)
    return reply.models[0].index_state


def nearest(target: str, exact: bool) -> list[str]:
    with grpc.insecure_channel(target) as channel:
        reply = pb_grpc.ArithmeticStub(channel).Nearest(pb.NearestRequest(
            query=[pb.Term(key="w7")], k=5, options=pb.QueryOptions(exact=exact)), timeout=30)
    return [n.key for n in reply.neighbors]


def wait_for_hnsw(target: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while state(target) != pb.HNSW:
        assert time.monotonic() < deadline, "index never became ready"
        time.sleep(0.5)


def test_sigkill_during_build_then_restart(model: Path, tmp_path: Path) -> None:
    cache, log = tmp_path / "cache", tmp_path / "latentd.log"
    process, target = start(model, cache, log)
    try:
        assert state(target) == pb.BUILDING
        expected = nearest(target, exact=True)  # answered while building
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert not list(cache.glob("*.hnsw"))  # nothing half-built under the real name

    process, target = start(model, cache, log)
    try:
        wait_for_hnsw(target)
        assert nearest(target, exact=False) == expected
    finally:
        process.send_signal(signal.SIGKILL)  # killed while serving, after the save
        process.wait(timeout=30)
    [cached] = cache.glob("*.hnsw")
    assert not list(cache.glob("*.tmp"))

    process, target = start(model, cache, log)
    try:
        wait_for_hnsw(target, timeout=60)
        assert nearest(target, exact=False) == expected
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert "HNSW index loaded" in log.read_text()
    assert list(cache.glob("*.hnsw")) == [cached]
