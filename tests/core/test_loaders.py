"""Loading word models from disk: every format gives the same vectors as gensim."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from gensim.models import FastText, KeyedVectors
from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

from latentd.core.loaders import (
    FORMATS,
    ModelLoadError,
    default_glove_dir,
    guess_format,
    load_word_space,
)
from latentd.core.word_space import WordSpace

DIM = 6
KEYS = ["the", "king", "queen", "man", "woman", "Paris", "café", "x-ray"]


@pytest.fixture(scope="module")
def small_kv() -> KeyedVectors:
    rng = np.random.default_rng(3)
    kv = KeyedVectors(vector_size=DIM)
    kv.add_vectors(KEYS, rng.normal(0, 1, (len(KEYS), DIM)).astype(np.float32))
    return kv


def assert_same_vectors(space: WordSpace, kv: KeyedVectors, keys: list[str] | None = None):
    keys = list(kv.index_to_key) if keys is None else keys
    assert space.keys[: len(keys)] == keys
    for key in keys:
        hit = space.lookup(key)
        assert hit is not None, key
        assert hit.key == key
        np.testing.assert_allclose(hit.vector, kv[key], rtol=1e-5, atol=1e-6)


def write_glove(kv: KeyedVectors, path: Path) -> None:
    """GloVe text: word2vec text without the "count dimension" header."""
    kv.save_word2vec_format(str(path), binary=False, write_header=False)


# -- formats -----------------------------------------------------------------------------


def test_word2vec_text(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.txt"
    small_kv.save_word2vec_format(str(path), binary=False)
    assert guess_format(path) == "word2vec"
    space = load_word_space("w2v", path)
    assert (space.name, space.size, space.dimension) == ("w2v", len(KEYS), DIM)
    assert space.source == f"word2vec:{path}"
    assert not space.has_subwords
    assert_same_vectors(space, KeyedVectors.load_word2vec_format(str(path)))
    assert_same_vectors(space, small_kv)


def test_word2vec_text_gzip(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.vec.gz"
    small_kv.save_word2vec_format(str(path), binary=False)
    assert guess_format(path) == "word2vec"
    assert_same_vectors(load_word_space("gz", path), small_kv)


def test_word2vec_binary(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.bin"
    small_kv.save_word2vec_format(str(path), binary=True)
    assert guess_format(path) == "word2vec-binary"
    space = load_word_space("w2v-bin", path)
    assert space.source.startswith("word2vec-binary:")
    assert_same_vectors(space, KeyedVectors.load_word2vec_format(str(path), binary=True))
    assert_same_vectors(space, small_kv)
    # The same file under a name that says nothing, with the format given.
    other = tmp_path / "vectors.data"
    other.write_bytes(path.read_bytes())
    assert_same_vectors(load_word_space("w2v-bin", other, "word2vec-binary"), small_kv)


@pytest.mark.parametrize("fmt", ["", "glove"])
def test_glove_text_without_header(tmp_path: Path, small_kv: KeyedVectors, fmt: str) -> None:
    path = tmp_path / "glove.6B.6d.txt"
    write_glove(small_kv, path)
    assert path.read_text(encoding="utf-8").split("\n", 1)[0].split()[0] == "the"
    assert guess_format(path) == "glove"
    space = load_word_space("glove", path, fmt)
    assert space.source.startswith("glove:")
    gensim_kv = KeyedVectors.load_word2vec_format(str(path), no_header=True)
    assert_same_vectors(space, gensim_kv)
    assert_same_vectors(space, small_kv)


def test_glove_with_two_number_first_row_needs_explicit_format(tmp_path: Path) -> None:
    """A 1-d GloVe file whose first word is a number looks like a word2vec header; an
    explicit format wins over the guess."""
    path = tmp_path / "numbers.txt"
    path.write_text("2016 1\n2017 2\n", encoding="utf-8")
    assert guess_format(path) == "word2vec"
    space = load_word_space("numbers", path, "glove")
    assert space.keys == ["2016", "2017"]
    np.testing.assert_allclose(space.vectors[:, 0], [1, 2])


@pytest.fixture(scope="module")
def fasttext_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FastText]:
    sentences = [
        ["the", "king", "rules", "the", "kingdom"],
        ["the", "queen", "rules", "the", "queendom"],
        ["a", "man", "and", "a", "woman", "walk"],
    ] * 3
    model = FastText(sentences=sentences, vector_size=8, min_count=1, epochs=1, seed=1, workers=1)
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    return path, model


@pytest.mark.parametrize("fmt", ["", "fasttext"])
def test_fasttext_bin(fasttext_model: tuple[Path, FastText], fmt: str) -> None:
    path, model = fasttext_model
    # A .bin that is fastText, not word2vec: told apart by its magic number.
    assert guess_format(path) == "fasttext"
    space = load_word_space("ft", path, fmt)
    assert space.has_subwords
    assert space.source.startswith("fasttext:")
    gensim_kv = load_facebook_vectors(str(path))
    assert space.size == len(gensim_kv.index_to_key) == len(model.wv.index_to_key)
    assert_same_vectors(space, gensim_kv)
    # An out-of-vocabulary word gets a vector from its subwords, as in gensim.
    assert "kingdoms" not in gensim_kv.key_to_index
    hit = space.lookup("kingdoms")
    assert hit is not None and hit.index is None and hit.key == "kingdoms"
    np.testing.assert_allclose(hit.vector, gensim_kv["kingdoms"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hit.vector, model.wv["kingdoms"], rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(hit.vector) > 0
    vector, unknown = space.encode_text("kingdoms queendoms")
    assert vector is not None and unknown == []


def test_kv_refused_unless_pickle_allowed(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.kv"
    small_kv.save(str(path))
    assert guess_format(path) == "kv"
    with pytest.raises(ModelLoadError) as refused:
        load_word_space("native", path)
    message = str(refused.value)
    assert "'native'" in message and "pickle" in message and "allow_pickle" in message
    # The explicit format is refused too.
    with pytest.raises(ModelLoadError, match="pickle"):
        load_word_space("native", path, "kv")
    space = load_word_space("native", path, allow_pickle=True)
    assert_same_vectors(space, KeyedVectors.load(str(path)))
    assert_same_vectors(space, small_kv)


def test_kv_refused_before_unpickling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusing a .kv never opens it as a pickle."""
    path = tmp_path / "evil.kv"
    path.write_bytes(pickle.dumps({"not": "vectors"}))

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("unpickled")

    monkeypatch.setattr(KeyedVectors, "load", boom)
    monkeypatch.setattr(pickle, "load", boom)
    with pytest.raises(ModelLoadError, match="pickle"):
        load_word_space("evil", path)


def test_kv_that_is_not_keyed_vectors(tmp_path: Path) -> None:
    path = tmp_path / "other.kv"
    path.write_bytes(pickle.dumps({"not": "vectors"}))
    with pytest.raises(ModelLoadError, match="'other'"):
        load_word_space("other", path, allow_pickle=True)


def test_fasttext_kv_keeps_subwords(tmp_path: Path, fasttext_model: tuple[Path, FastText]) -> None:
    _, model = fasttext_model
    path = tmp_path / "ft.kv"
    model.wv.save(str(path))
    space = load_word_space("ftkv", path, allow_pickle=True)
    assert space.has_subwords
    hit = space.lookup("kingdoms")
    assert hit is not None
    np.testing.assert_allclose(hit.vector, model.wv["kingdoms"], rtol=1e-5, atol=1e-6)


# -- errors ------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as missing:
        load_word_space("ghost", tmp_path / "nope.txt")
    assert "'ghost'" in str(missing.value) and "nope.txt" in str(missing.value)
    assert "does not exist" in str(missing.value)


def test_unknown_format(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.txt"
    small_kv.save_word2vec_format(str(path))
    with pytest.raises(ModelLoadError) as unknown:
        load_word_space("odd", path, "parquet")
    message = str(unknown.value)
    assert "'odd'" in message and "'parquet'" in message
    assert all(fmt in message for fmt in FORMATS)


def test_unguessable_format(tmp_path: Path) -> None:
    path = tmp_path / "vectors.dat"
    path.write_text("the 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(ModelLoadError) as unguessable:
        load_word_space("mystery", path)
    assert "'mystery'" in str(unguessable.value) and "format" in str(unguessable.value)


@pytest.mark.parametrize(
    ("filename", "content", "fmt"),
    [
        ("broken.txt", b"3 4\nthe 0.1 0.2\n", ""),  # header promises more than there is
        # (gensim broadcasts a row of one value over the whole vector; two of three fail)
        ("ragged.txt", b"the 0.1 0.2 0.3\nking 0.3 0.4\n", "glove"),
        ("empty.txt", b"", "glove"),
        ("notft.bin", b"\x00\x01\x02\x03garbage", "fasttext"),
        ("notw2v.bin", b"\x00\x01\x02\x03garbage", "word2vec-binary"),
        ("nan.txt", b"2 2\nthe nan 0.2\nking 0.3 0.4\n", ""),
    ],
)
def test_broken_files_name_the_model(
    tmp_path: Path, filename: str, content: bytes, fmt: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(ModelLoadError) as broken:
        load_word_space("broken", path, fmt)
    assert "'broken'" in str(broken.value)
    assert filename in str(broken.value)


def test_bad_kumo_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"'dir'.*_emb\.npy"):
        load_word_space("dir", tmp_path)


def test_negative_limit(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.txt"
    small_kv.save_word2vec_format(str(path))
    with pytest.raises(ModelLoadError, match=r"'lim'.*limit"):
        load_word_space("lim", path, limit=-1)


# -- limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "fmt", "save"),
    [
        ("w.txt", "", lambda kv, p: kv.save_word2vec_format(p)),
        ("w.bin", "", lambda kv, p: kv.save_word2vec_format(p, binary=True)),
        ("g.txt", "glove", lambda kv, p: kv.save_word2vec_format(p, write_header=False)),
        ("n.kv", "", lambda kv, p: kv.save(p)),
    ],
)
def test_limit_keeps_first_keys(
    tmp_path: Path, small_kv: KeyedVectors, filename: str, fmt: str, save
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / filename
    save(small_kv, str(path))
    space = load_word_space("lim", path, fmt, allow_pickle=True, limit=3)
    assert space.keys == KEYS[:3]
    assert space.size == 3
    assert_same_vectors(space, small_kv, KEYS[:3])
    assert space.lookup(KEYS[3]) is None
    # A limit above the size keeps everything.
    assert load_word_space("all", path, fmt, allow_pickle=True, limit=100).keys == KEYS


def test_limit_fasttext(fasttext_model: tuple[Path, FastText]) -> None:
    path, model = fasttext_model
    space = load_word_space("ft", path, limit=2)
    assert space.keys == model.wv.index_to_key[:2]
    assert space.has_subwords


def test_lookup_lowercase_fallback(tmp_path: Path, small_kv: KeyedVectors) -> None:
    path = tmp_path / "vectors.txt"
    small_kv.save_word2vec_format(str(path))
    space = load_word_space("w", path)
    hit = space.lookup("KING")
    assert hit is not None and hit.key == "king"
    assert space.lookup("Paris") is not None and space.lookup("kingdom") is None


def test_gzip_glove(tmp_path: Path, small_kv: KeyedVectors) -> None:
    plain = tmp_path / "g.txt"
    write_glove(small_kv, plain)
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert guess_format(path) == "glove"
    assert_same_vectors(load_word_space("g", path), small_kv)


# -- the embedded default ----------------------------------------------------------------


def test_default_glove_package() -> None:
    root = default_glove_dir()
    assert guess_format(root) == "kumo"
    space = load_word_space("glove-6b-50d", root)
    assert (space.size, space.dimension) == (400_000, 50)
    assert space.keys[0] == "the"
    assert space.source == f"kumo:{root}"
    assert space.vectors.dtype == np.float32
    # The published glove.6B.50d.txt row for "the".
    np.testing.assert_allclose(
        space.vectors[0, :5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527], rtol=1e-6
    )
    # Words that a careless CSV reader turns into NaN stay words.
    for word in ("null", "nan", "none"):
        assert space.lookup(word) is not None and space.lookup(word).key == word
    limited = load_word_space("glove", root, limit=1000)
    assert limited.size == 1000 and limited.keys == space.keys[:1000]
    np.testing.assert_array_equal(limited.vectors, space.vectors[:1000])
