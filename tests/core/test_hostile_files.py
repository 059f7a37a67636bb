"""Damaged files that latentd reads at start, made for real on disk: a collection's SQLite
file cut short, scrambled or with unreadable rows is refused with DataLoss naming the
file (never an exception of SQLite or numpy), and a word model cut short in any format
is refused with a ModelLoadError naming the model and the file. (Damaged HNSW caches and
collection snapshots are rebuilt: tests/core/test_index.py, test_collections.py.)"""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from gensim.models import FastText, KeyedVectors
from gensim.models.fasttext import save_facebook_model

from latentd.core.collection import DATABASE
from latentd.core.collections import Collections
from latentd.core.documents import Document
from latentd.core.errors import DataLoss, NotFound
from latentd.core.limits import Limits
from latentd.core.loaders import ModelLoadError, load_word_space

DIM = 8
PAGE_TYPES = (0x02, 0x05, 0x0A, 0x0D)  # SQLite b-tree pages: interior/leaf, index/table


def no_models(name: str) -> None:
    raise NotFound(f"model: unknown model {name!r}")


# -- a collection's SQLite file -----------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the collection `c` of 2,000 documents, closed cleanly."""
    data = tmp_path_factory.mktemp("healthy")
    manager = Collections(data, no_models)  # type: ignore[arg-type]
    manager.open_all()
    manager.create("c", dimension=DIM)
    rng = np.random.default_rng(5)
    for start in range(0, 2000, 500):
        docs = [
            Document(f"doc{i}", f"text {i}", rng.normal(size=DIM).astype(np.float32), {"n": i})
            for i in range(start, start + 500)
        ]
        manager.get("c").upsert(docs, Limits())
    manager.close()
    return data


def copy_of(healthy: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(healthy, data)
    return data, data / "c" / DATABASE


def scramble_a_page(path: Path) -> None:
    """Overwrite a b-tree page in the middle of the file, header included."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    pages = len(data) // page
    middle = next(p for p in range(pages // 2, pages) if data[p * page] in PAGE_TYPES)
    data[middle * page : (middle + 1) * page] = bytes(range(256)) * (page // 256)
    path.write_bytes(bytes(data))


def run_sql(path: Path, statement: str) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(statement)
    db.close()


DAMAGES: dict[str, tuple[Callable[[Path], object], str]] = {
    "emptied": (lambda p: p.write_bytes(b""), "missing or empty"),
    "removed": (lambda p: p.unlink(), "missing or empty"),
    "cut to 100 bytes": (lambda p: p.write_bytes(p.read_bytes()[:100]), "malformed"),
    "cut in half": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "malformed"),
    "last page cut": (lambda p: p.write_bytes(p.read_bytes()[:-4096]), "malformed"),
    "not a database": (lambda p: p.write_bytes(b"x" * p.stat().st_size), "not a database"),
    "a page scrambled": (scramble_a_page, "in database main"),
    "a vector cut": (
        lambda p: run_sql(p, "UPDATE documents SET vector = x'0000' WHERE id = 'doc7'"),
        "a document cannot be read",
    ),
    "metadata not JSON": (
        lambda p: run_sql(p, "UPDATE documents SET metadata = '{oops' WHERE id = 'doc9'"),
        "a document cannot be read",
    ),
    "settings damaged": (
        lambda p: run_sql(p, "UPDATE settings SET value = 'many' WHERE key = 'dimension'"),
        "unreadable collection settings",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_collection_file_is_refused_naming_it(
    healthy: Path, tmp_path: Path, damage: str
) -> None:
    data, database = copy_of(healthy, tmp_path)
    harm, problem = DAMAGES[damage]
    harm(database)
    manager = Collections(data, no_models)  # type: ignore[arg-type]
    with pytest.raises(DataLoss) as refused:
        manager.open_all()
    message = str(refused.value)
    assert message.startswith(f"collection 'c': {database} is damaged (")
    assert problem in message
    assert f"restore {database.parent} from a backup, or move it out of {data}" in message
    assert "\n" not in message


def test_the_healthy_copy_opens(healthy: Path, tmp_path: Path) -> None:
    data, _ = copy_of(healthy, tmp_path)
    manager = Collections(data, no_models)  # type: ignore[arg-type]
    manager.open_all()
    assert manager.get("c").count() == 2000
    manager.close()


# -- word models cut short ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kv() -> KeyedVectors:
    rng = np.random.default_rng(9)
    vectors = KeyedVectors(vector_size=DIM)
    vectors.add_vectors([f"w{i}" for i in range(30)], rng.normal(size=(30, DIM)).astype(np.float32))
    return vectors


def saved(kv: KeyedVectors, directory: Path, name: str) -> Path:
    path = directory / name
    if name.endswith(".bin"):
        kv.save_word2vec_format(str(path), binary=True)
    elif name.startswith("glove"):
        kv.save_word2vec_format(str(path), write_header=False)
    else:
        kv.save_word2vec_format(str(path))
    return path


def refused_load(path: Path, fmt: str = "") -> str:
    with pytest.raises(ModelLoadError) as refused:
        load_word_space("cut", path, fmt)
    message = str(refused.value)
    assert message.startswith("word model 'cut': ") and str(path) in message
    return message


@pytest.mark.parametrize(
    ("name", "fmt"), [("w2v.txt", ""), ("glove.txt", "glove"), ("w2v.bin", "")]
)
def test_a_word_model_cut_anywhere_in_its_last_rows_is_refused(
    kv: KeyedVectors, tmp_path: Path, name: str, fmt: str
) -> None:
    """Every cut inside the last three rows, the header aside: for GloVe text, which has
    no count, a cut at a line's end cannot be told from a shorter file, so those cuts
    load (as the rows before them)."""
    path = saved(kv, tmp_path, name)
    whole = path.read_bytes()
    ends = {i + 1 for i, byte in enumerate(whole) if byte == ord("\n")}
    start = len(whole) - 3 * len(whole) // 30
    for cut in range(start, len(whole)):
        path.write_bytes(whole[:cut])
        if fmt == "glove" and cut in ends:
            assert load_word_space("cut", path, fmt).size == whole[:cut].count(b"\n")
            continue
        refused_load(path, fmt)


def test_a_cut_last_line_is_named_as_such(kv: KeyedVectors, tmp_path: Path) -> None:
    path = saved(kv, tmp_path, "glove.txt")
    whole = path.read_bytes()
    last = whole.rstrip(b"\n").rsplit(b"\n", 1)[1]
    first_value = len(whole) - len(last) - 1 + last.index(b" ") + 4  # "w29 -0.1" and cut
    path.write_bytes(whole[:first_value] + b"\n")
    assert "last line holds 1 values, not 8: the file looks cut short" in refused_load(
        path, "glove"
    )
    path.write_bytes(whole[:-1])
    assert "ends without a newline" in refused_load(path, "glove")


def test_a_cut_gzip_model_is_refused(kv: KeyedVectors, tmp_path: Path) -> None:
    path = tmp_path / "w2v.txt.gz"
    kv.save_word2vec_format(str(path))
    whole = path.read_bytes()
    for cut in (len(whole) // 2, len(whole) - 9):
        path.write_bytes(whole[:cut])
        refused_load(path)
    path.write_bytes(gzip.compress(saved(kv, tmp_path, "plain.txt").read_bytes()))
    assert load_word_space("whole", path).size == 30


def test_a_cut_fasttext_model_is_refused_where_it_matters(tmp_path: Path) -> None:
    """A fastText .bin ends with the model's output matrix, which gensim does not read
    when it loads the vectors: a cut there leaves every vector latentd serves intact, so
    that file loads, with the same vectors. A cut anywhere before it is refused."""
    sentences = [["the", "king", "rules", "the", "kingdom"], ["a", "queen", "walks"]] * 3
    model = FastText(
        sentences=sentences, vector_size=DIM, min_count=1, epochs=1, workers=1, bucket=500
    )
    path = tmp_path / "model.bin"
    save_facebook_model(model, str(path))
    whole = path.read_bytes()
    output_matrix = 1 + 16 + len(model.wv) * DIM * 4  # quantised flag, shape, floats
    expected = load_word_space("whole", path, "fasttext")
    for cut in (100, len(whole) // 2, len(whole) - output_matrix - 1):
        path.write_bytes(whole[:cut])
        refused_load(path, "fasttext")
    for cut in (len(whole) - output_matrix, len(whole) - 1):
        path.write_bytes(whole[:cut])
        loaded = load_word_space("cut", path, "fasttext")
        assert loaded.keys == expected.keys
        for key in ("king", "kingdoms"):  # a known word, and one built from subwords
            a, b = loaded.lookup(key), expected.lookup(key)
            assert a is not None and b is not None
            np.testing.assert_array_equal(a.vector, b.vector)


def test_a_cut_embedded_package_is_refused(kv: KeyedVectors, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path / "kumo"
    root.mkdir()
    matrix, vocabulary = root / "m_emb.npy", root / "m_index.parquet"
    np.save(matrix, kv.vectors)
    pq.write_table(pa.table({"word": list(kv.index_to_key)}), vocabulary)
    assert load_word_space("cut", root).size == 30
    for part in (matrix, vocabulary):
        whole = part.read_bytes()
        part.write_bytes(whole[: len(whole) // 2])
        refused_load(root)
        part.write_bytes(whole)
