"""The HNSW index: disk cache (digest-keyed, atomic, verified before use), background
build with progress lines, lock."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from latentd.core import index as index_module
from latentd.core.checked_file import (
    IntegrityError,
    file_sha256,
    manifest_path,
    write_manifest,
)
from latentd.core.index import HnswIndex, HnswParams, check_index_file, index_metadata
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
    [path] = tmp_path.glob("*.hnsw")
    assert path.name.startswith("s-")
    assert sorted(tmp_path.iterdir()) == [path, manifest_path(path)]
    loaded, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert cached and loaded.size == len(unit_vectors)
    a, sa = built.query(unit_vectors[:50], 10)
    b, sb = loaded.query(unit_vectors[:50], 10)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(sa, sb)


def test_cache_key_changes_with_vectors_and_params(
    tmp_path: Path, unit_vectors: np.ndarray
) -> None:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    HnswIndex.load_or_build(unit_vectors, HnswParams(m=8, ef_construction=100), tmp_path, "s")
    changed = unit_vectors.copy()
    changed[0] = -changed[0]
    _, cached = HnswIndex.load_or_build(changed, PARAMS, tmp_path, "s")
    assert not cached
    assert len(list(tmp_path.glob("*.hnsw"))) == 3


def test_corrupt_cache_is_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    [path] = tmp_path.glob("*.hnsw")
    path.write_bytes(path.read_bytes()[:1000])  # a torn file
    index, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert not cached and index.size == len(unit_vectors)
    assert "rebuilding" in caplog.text
    _, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert cached  # the rebuilt index replaced the torn file
    assert not list(tmp_path.glob("*.tmp"))


def test_stale_temporary_from_a_killed_save_is_removed(
    tmp_path: Path, unit_vectors: np.ndarray
) -> None:
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


def cached_file(tmp_path: Path, unit_vectors: np.ndarray) -> Path:
    HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    [path] = tmp_path.glob("*.hnsw")
    return path


def flip_middle(path: Path, length: int = 4096) -> None:
    """Invert bytes in the middle of the file, keeping its size: in the level-0 block, so
    link ids become huge and hnswlib reads far outside its memory on the first query."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + length] = bytes(b ^ 0xFF for b in data[mid : mid + length])
    path.write_bytes(data)


def assert_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, path: Path, caplog: pytest.LogCaptureFixture, why: str
) -> None:
    """The next load warns once about path (saying why), rebuilds an index that answers
    correctly, and caches it so that the load after that is warm."""
    caplog.clear()
    index, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert not cached and index.size == len(unit_vectors)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(path) in warnings[0] and "rebuilding" in warnings[0]
    assert re.search(why, warnings[0]), warnings[0]
    labels, _ = index.query(unit_vectors[:50], 5)
    assert (labels[:, 0] == np.arange(50)).all()
    _, cached = HnswIndex.load_or_build(unit_vectors, PARAMS, tmp_path, "s")
    assert cached
    assert not list(tmp_path.glob("*.tmp"))


def test_save_writes_a_manifest(tmp_path: Path, unit_vectors: np.ndarray) -> None:
    path = tmp_path / "x.hnsw"
    HnswIndex.build(unit_vectors, PARAMS).save(path)
    record = json.loads(manifest_path(path).read_text())
    assert record["file"] == "x.hnsw"
    assert record["size"] == path.stat().st_size
    assert record["sha256"] == file_sha256(path)
    assert record["metadata"] == dict(
        index_metadata(len(unit_vectors), unit_vectors.shape[1], PARAMS.m, PARAMS.ef_construction)
    )


def test_truncated_cache_is_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    path = cached_file(tmp_path, unit_vectors)
    path.write_bytes(path.read_bytes()[:-100])
    assert_rebuilt(tmp_path, unit_vectors, path, caplog, r"bytes, its manifest says")


def test_flipped_bytes_are_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    path = cached_file(tmp_path, unit_vectors)
    flip_middle(path)
    assert_rebuilt(tmp_path, unit_vectors, path, caplog, "SHA-256 differs")


def test_missing_or_broken_manifest_is_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    path = cached_file(tmp_path, unit_vectors)
    manifest_path(path).unlink()
    assert_rebuilt(tmp_path, unit_vectors, path, caplog, "no manifest")
    manifest_path(path).write_text("{not json")
    assert_rebuilt(tmp_path, unit_vectors, path, caplog, "not JSON")


def test_index_of_other_parameters_is_rebuilt(
    tmp_path: Path, unit_vectors: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    path = cached_file(tmp_path, unit_vectors)
    other = tmp_path / "other" / "o.hnsw"
    HnswIndex.build(unit_vectors, HnswParams(m=8, ef_construction=50)).save(other)
    # Copied alone under the expected name: the manifest there belongs to another file.
    shutil.copyfile(other, path)
    assert_rebuilt(tmp_path, unit_vectors, path, caplog, "bytes, its manifest says")
    # Copied with a manifest that claims the expected parameters (as a bug in whatever
    # wrote it might): the header itself says what the file is.
    shutil.copyfile(other, path)
    write_manifest(
        path,
        index_metadata(len(unit_vectors), unit_vectors.shape[1], PARAMS.m, PARAMS.ef_construction),
    )
    assert_rebuilt(
        tmp_path,
        unit_vectors,
        path,
        caplog,
        r"header does not match: M 8 \(expected 16\).*ef_construction 50 "
        r"\(expected 100\)",
    )


# Runs in a child so that a SIGSEGV in hnswlib fails the test instead of killing pytest.
LOAD_AND_QUERY = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from latentd.core.index import HnswIndex, HnswParams
    vectors = np.load(sys.argv[1])
    params = HnswParams(m={m}, ef_construction={ef_construction}, ef={ef})
    index, cached = HnswIndex.load_or_build(vectors, params, Path(sys.argv[2]), "s")
    labels, _ = index.query(vectors, 10)
    print("cached" if cached else "rebuilt", int((labels[:, 0] == np.arange(len(vectors))).sum()))
""").format(m=PARAMS.m, ef_construction=PARAMS.ef_construction, ef=PARAMS.ef)

RAW_LOAD_AND_QUERY = textwrap.dedent("""
    import sys
    import hnswlib
    import numpy as np
    vectors = np.load(sys.argv[1])
    index = hnswlib.Index(space="ip", dim=vectors.shape[1])
    index.load_index(sys.argv[2], max_elements=len(vectors))
    index.knn_query(vectors, k=10)
""")


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_flipped_bytes_never_crash_the_process(tmp_path: Path, unit_vectors: np.ndarray) -> None:
    vectors = tmp_path / "vectors.npy"
    np.save(vectors, unit_vectors)
    cache = tmp_path / "cache"
    path = cached_file(cache, unit_vectors)
    flip_middle(path)
    # What the server used to do with this file: hnswlib loads it, then the query dies.
    raw = run_child(RAW_LOAD_AND_QUERY, str(vectors), str(path))
    assert raw.returncode != 0, "this corruption no longer crashes hnswlib: test a harsher one"
    child = run_child(LOAD_AND_QUERY, str(vectors), str(cache))
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["rebuilt", str(len(unit_vectors))]
    assert "is not trusted (SHA-256 differs" in child.stderr
    child = run_child(LOAD_AND_QUERY, str(vectors), str(cache))
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["cached", str(len(unit_vectors))]


def test_header_check(tmp_path: Path, unit_vectors: np.ndarray) -> None:
    n, dim = unit_vectors.shape
    path = tmp_path / "x.hnsw"
    HnswIndex.build(unit_vectors, PARAMS).save(path)
    check_index_file(path, n, dim, PARAMS)
    with pytest.raises(IntegrityError, match=r"element count 2000 \(expected 1999\)"):
        check_index_file(path, n - 1, dim, PARAMS)
    with pytest.raises(IntegrityError, match=r"bytes per element .* \(expected .*\)"):
        check_index_file(path, n, dim + 1, PARAMS)
    with pytest.raises(IntegrityError, match=r"ef_construction 100 \(expected 200\)"):
        check_index_file(path, n, dim, HnswParams(m=PARAMS.m, ef_construction=200))
    good = path.read_bytes()
    links = 96 + n * (2 * PARAMS.m * 4 + 4 + dim * 4 + 8)  # header, then level 0
    for bad, why in [
        (good[:50], "50 bytes, shorter than an hnswlib header"),
        (b"\xff" * len(good), r"header does not match: element count \d+ \(expected 2000\)"),
        (good[:-4], "link lists (end after|of 2000 elements take)"),
        (good + b"\0" * 4, r"take \d+ bytes, the file has \d+ after the level-0 block"),
        (good[:links] + b"\0" * (len(good) - links), "link lists of 2000 elements take 8000 "),
        (good[:links] + b"\5\0\0\0" + good[links + 4 :], "element 0 has a link list of 5 bytes"),
    ]:
        path.write_bytes(bad)
        with pytest.raises(IntegrityError, match=why):
            check_index_file(path, n, dim, PARAMS)


def test_header_check_of_an_empty_index(tmp_path: Path) -> None:
    path = tmp_path / "empty.hnsw"
    HnswIndex.build(np.zeros((0, 8), dtype=np.float32), PARAMS).save(path)
    check_index_file(path, 0, 8, PARAMS)


def test_build_logs_start_progress_and_end(
    unit_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Many small calls and frequent reports, so a 2000-vector build shows its progress.
    monkeypatch.setattr(index_module, "PROGRESS_INTERVAL_S", 0.005)
    monkeypatch.setattr(index_module, "FIRST_CHUNK_ROWS_PER_THREAD", 50)
    monkeypatch.setattr(index_module, "CHUNK_TARGET_S", 0.0)
    caplog.set_level(logging.INFO, logger="latentd.core.index")
    params = HnswParams(m=16, ef_construction=100, ef=64, build_threads=2)
    index = HnswIndex.build(unit_vectors, params, name="bg")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == (
        "bg: building HNSW index: 2000 vectors of 24 dimensions, M=16, "
        "ef_construction=100, 2 threads"
    )
    progress = [
        re.fullmatch(
            r"bg: HNSW build: (\d+) of 2000 vectors \((\d+)%\) in \d+s"
            r"(, about \d+s left)?",
            line,
        )
        for line in lines[1:-1]
    ]
    assert progress and all(progress), lines
    done = [int(m.group(1)) for m in progress if m]
    assert done == sorted(done) and done[0] < 2000, done
    percent = [int(m.group(2)) for m in progress if m]
    assert percent == [round(100 * d / 2000) for d in done]
    assert re.fullmatch(r"bg: HNSW build: 2000 vectors \(100%\) in [\d.]+s", lines[-1])
    # Built in many calls, the index is still whole and right.
    assert index.size == len(unit_vectors)
    labels, _ = index.query(unit_vectors, 5)
    assert (labels[:, 0] == np.arange(len(unit_vectors))).mean() > 0.99


def test_build_is_quiet_between_progress_intervals(
    unit_vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(index_module, "FIRST_CHUNK_ROWS_PER_THREAD", 100)
    caplog.set_level(logging.INFO, logger="latentd.core.index")
    HnswIndex.build(unit_vectors, PARAMS)
    assert len(caplog.records) == 2  # start and end: a short build is not a long log


def test_query_returns_exact_cosines(unit_vectors: np.ndarray) -> None:
    index = HnswIndex.build(unit_vectors, PARAMS)
    labels, scores = index.query(unit_vectors[:20], 5)
    assert (labels[:, 0] == np.arange(20)).all()  # each vector finds itself first
    expected = np.einsum("nd,nkd->nk", unit_vectors[:20], unit_vectors[labels])
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    wide, _ = index.query(unit_vectors[:20], 5, ef=500)  # a caller's own ef
    assert (wide[:, 0] == np.arange(20)).all()


def test_background_build_answers_exactly_until_ready(
    tmp_path: Path, unit_vectors: np.ndarray
) -> None:
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


def test_rwlock_a_writer_coming_straight_back_does_not_starve_readers() -> None:
    """The collection indexer takes the index's writer lock chunk after chunk; a search
    waiting for it must get in between two chunks, not after the whole run."""
    lock = ReadWriteLock()
    writing = threading.Event()
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with lock.write():
                writing.set()
                time.sleep(0.005)

    def reader() -> None:
        for _ in range(5):
            with lock.read():
                pass

    writer_thread = threading.Thread(target=writer)
    writer_thread.start()
    writing.wait(5)
    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    reader_thread.join(10)
    starved = reader_thread.is_alive()
    stop.set()
    writer_thread.join()
    reader_thread.join()
    assert not starved, "the reader got in only after the writer stopped"
