"""A document the HNSW graph has lost (no link leads to it, so no search finds it at any
ef: hnswlib's in-place updates can leave one so, nmslib/hnswlib#522) is found again once
the indexer's check after many rewrites has re-added it.

The lost element is made on purpose: the snapshot's level-0 links that lead to one
document are cut (its own links out stay), and the manifest is written anew so that the
collection trusts the file."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest

from latentd.core.checked_file import recorded_metadata, write_manifest
from latentd.core.collection import SNAPSHOT, Collection
from latentd.core.collections import Collections
from latentd.core.documents import Document
from latentd.core.errors import NotFound
from latentd.core.index import _HEADER
from latentd.core.limits import Limits
from latentd.core.search import QueryBatch
from latentd.core.sentence_model import SentenceModel
from latentd.core.types import AnalogyMethod

DIM = 16
LIMITS = Limits()


def no_models(name: str) -> SentenceModel:
    raise NotFound(f"model: unknown model {name!r}")


def vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def cut_links_into(snapshot: Path, label: int) -> None:
    """Remove every level-0 link to the element of `label`; it must have no upper
    levels and not be the entry point (so nothing leads to it at all)."""
    data = bytearray(snapshot.read_bytes())
    (_, _, count, per_element, label_offset, _, _, entry, _, max_m0, *_) = _HEADER.unpack_from(data)
    base = _HEADER.size
    labels = [
        struct.unpack_from("<Q", data, base + i * per_element + label_offset)[0]
        for i in range(count)
    ]
    target = labels.index(label)
    upper = base + count * per_element
    levels = []
    pos = upper
    for _ in range(count):
        nbytes = struct.unpack_from("<I", data, pos)[0]
        levels.append(nbytes)
        pos += 4 + nbytes
    assert levels[target] == 0 and entry != target, "pick a level-0 element that is not the entry"
    for i in range(count):
        at = base + i * per_element
        header = struct.unpack_from("<I", data, at)[0]
        size, flags = header & 0xFFFF, header & ~0xFFFF
        links = list(struct.unpack_from(f"<{size}I", data, at + 4))
        kept = [x for x in links if x != target]
        struct.pack_into("<I", data, at, flags | len(kept))
        struct.pack_into(f"<{max_m0}I", data, at + 4, *(kept + [0] * (max_m0 - len(kept))))
    snapshot.write_bytes(bytes(data))
    write_manifest(snapshot, recorded_metadata(snapshot))


def found_by_hnsw(collection: Collection, vector: np.ndarray, ef: int) -> list[str]:
    unit = (vector / np.linalg.norm(vector)).astype(np.float32)
    batch = QueryBatch(
        unit[None], unit[None, None], np.ones((1, 1), np.float32), np.full((1, 0), -1)
    )
    hits = collection.search(batch, 1, AnalogyMethod.COSADD, exact=False, restrict=0, ef=ef)
    return [collection.keys[int(r)] for r in hits.rows[0] if r >= 0]


def level0_label(collection: Collection, candidates: range) -> int:
    """A label whose element has no upper levels and is not the entry point."""
    path = collection.directory / SNAPSHOT
    data = path.read_bytes()
    (_, _, count, per_element, label_offset, _, _, entry, *_) = _HEADER.unpack_from(data)
    base = _HEADER.size
    pos = base + count * per_element
    level_of_label = {}
    for i in range(count):
        nbytes = struct.unpack_from("<I", data, pos)[0]
        label = struct.unpack_from("<Q", data, base + i * per_element + label_offset)[0]
        level_of_label[label] = (nbytes, i == entry)
        pos += 4 + nbytes
    return next(lb for lb in candidates if level_of_label[lb] == (0, False))


def test_a_document_the_graph_lost_is_re_added_after_rewrites(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    n = 400
    data = vectors(n, seed=1)
    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    manager.create("c", dimension=DIM)
    collection = manager.get("c")
    collection.upsert([Document(f"d{i}", "", data[i]) for i in range(n)], LIMITS)
    assert collection.wait_indexed(60)
    manager.close()  # a snapshot of the whole graph

    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    collection = manager.get("c")
    label = level0_label(collection, range(n))
    lost_id = collection.keys[label]
    manager.close()
    cut_links_into(tmp_path / "data" / "c" / SNAPSHOT, label)

    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    collection = manager.get("c")
    assert collection.wait_indexed(60)
    # No search reaches it, however wide: it is lost, not merely hard to find.
    assert found_by_hnsw(collection, data[label], ef=5000) != [lost_id]

    # Rewrites of the others (same vectors) reach the check's share of the documents.
    others = [i for i in range(n) if f"d{i}" != lost_id]
    with caplog.at_level(logging.WARNING, logger="latentd.core.collection"):
        collection.upsert([Document(f"d{i}", "", data[i]) for i in others[:250]], LIMITS)
        assert collection.wait_indexed(60)
    assert found_by_hnsw(collection, data[label], ef=0) == [lost_id]
    assert "1 documents could not be found through the HNSW graph" in caplog.text
    # Every other document is found by its own vector too.
    for i in others[:50]:
        assert found_by_hnsw(collection, data[i], ef=0) == [f"d{i}"]
    manager.close()


def test_few_rewrites_do_not_trigger_the_check(tmp_path: Path) -> None:
    """The check costs a search per document: it waits for rewrites of half of them."""
    manager = Collections(tmp_path / "data", no_models)
    manager.open_all()
    manager.create("c", dimension=DIM)
    collection = manager.get("c")
    data = vectors(200, seed=2)
    collection.upsert([Document(f"d{i}", "", data[i]) for i in range(200)], LIMITS)
    assert collection.wait_indexed(60)
    collection.upsert([Document(f"d{i}", "", data[i]) for i in range(50)], LIMITS)
    assert collection.wait_indexed(60)
    assert 50 <= collection._rewrites < 100  # counted, below the share: no check yet
    collection.upsert([Document(f"d{i}", "", data[i]) for i in range(50, 120)], LIMITS)
    assert collection.wait_indexed(60)
    assert collection._rewrites < 100  # past the share: checked, and counted afresh
    manager.close()
