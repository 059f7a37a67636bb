"""The HNSW index: disk cache (digest-keyed, atomic), background build, lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from latentd.core.index import HnswIndex, HnswParams
from latentd.core.rwlock import ReadWriteLock
from latentd.core.types import IndexState
from latentd.core.word_space import WordSpace

PARAMS = HnswParams(m=16, ef_construction=100, ef=64)


@pytest.fixture
def unit_vectors() -> np.ndarray:
    v = np.random.default_rng(3).normal(size=(2000, 24)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_cache_round_trip(tmp_path: Path, unit_vectors: np.ndarray) -> None:
    built, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert not cached
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".hnsw" and files[0].name.startswith("s-")
    loaded, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert cached and loaded.size == len(unit_vectors)
    a, sa = built.query(unit_vectors[:50], 10)
    b, sb = loaded.query(unit_vectors[:50], 10)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(sa, sb)


def test_cache_key_changes_with_vectors_and_params(tmp_path: Path,
                                                   unit_vectors: np.ndarray) -> None:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    HnswIndex.load_or_build(unit_vectors, HnswParams(m=8, ef_construction=100), tmp_path, "s")
    changed = unit_vectors.copy()
    changed[0] = -changed[0]
    _, cached = HnswIndex.load_or_build(changed, PARAMS, tmp_path, "s")
    assert not cached
    assert len(list(tmp_path.glob("*.hnsw"))) == 3


def test_corrupt_cache_is_rebuilt(tmp_path: Path, unit_vectors: np.ndarray,
                                  caplog: pytest.LogCaptureFixture) -> None:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    [path] = tmp_path.glob("*.hnsw")
    path.write_bytes(path.read_bytes()[:1000])  # a torn file
    index, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert not cached and index.size == len(unit_vectors)
    assert "rebuilding" in caplog.text
    _, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert cached  # the rebuilt index replaced the torn file
    assert not list(tmp_path.glob("*.tmp"))


def test_stale_temporary_from_a_killed_save_is_removed(tmp_path: Path,
                                                      unit_vectors: np.ndarray) -> None:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    [path] = tmp_path.glob("*.hnsw")
    path.unlink()
    stale = tmp_path / f"{path.name}.abc123.tmp"
    fresh = tmp_path / f"{path.name}.def456.tmp"  # another process saving right now
    stale.write_bytes(b"torn")
    fresh.write_bytes(b"in progress")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    _, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert not cached
    assert not stale.exists() and fresh.exists() and path.exists()


def test_query_returns_exact_cosines(unit_vectors: np.ndarray) -> None:
    index = HnswIndex.build(unit_vectors, PARAMS)
    labels, scores = index.query(unit_vectors[:20], 5)
    assert (labels[:, 0] == np.arange(20)).all()  # each vector finds itself first
    expected = np.einsum("nd,nkd->nk", unit_vectors[:20], unit_vectors[labels])
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    wide, _ = index.query(unit_vectors[:20], 5, ef=500)  # a caller's own ef
    assert (wide[:, 0] == np.arange(20)).all()


def test_background_build_answers_exactly_until_ready(tmp_path: Path,
                                                      unit_vectors: np.ndarray) -> None:
    space = WordSpace("bg", [f"w{i}" for i in range(len(unit_vectors))], unit_vectors)
    assert space.index_state is IndexState.EXACT
    thread = space.start_index(PARAMS, tmp_path, background=True)
    assert thread is not None
    assert space.index_state in (IndexState.BUILDING, IndexState.HNSW)
    thread.join(timeout=120)
    assert space.index_state is IndexState.HNSW and space.index is not None


def test_rwlock_writer_excludes_readers() -> None:
    lock = ReadWriteLock()
    inside: list[str] = []
    overlap = threading.Event()

    def reader() -> None:
        for _ in range(200):
            with lock.read():
                inside.append("r")
                if "w" in inside:
                    overlap.set()
                inside.remove("r")

    def writer() -> None:
        for _ in range(50):
            with lock.write():
                inside.append("w")
                if len(inside) > 1:
                    overlap.set()
                time.sleep(0.0005)
                inside.remove("w")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads += [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not overlap.is_set()
