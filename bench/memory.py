"""What each part of a latentd process costs in resident memory: the libraries, the
GloVe space, its HNSW index, torch, sentence-transformers and the MiniLM model, loaded
one after another in this process as `latentd serve` loads them (VmRSS after each).

    .venv/bin/python bench/memory.py [--cache-dir DIR]

With a --cache-dir that holds the GloVe index (any `latentd serve --cache-dir DIR` run
writes it), the index is loaded; otherwise it is built first (about a minute).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
from pathlib import Path

from latentd.testing import use_offline_env

use_offline_env()


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="latent-memory-"))
    rows: list[tuple[str, float]] = []
    last = rss_mb()

    def step(name: str) -> None:
        nonlocal last
        gc.collect()
        now = rss_mb()
        rows.append((name, now - last))
        last = now

    rows.append(("Python", last))
    import grpc  # noqa: F401
    import numpy  # noqa: F401

    from latentd.core.hnsw_params import HnswParams
    from latentd.core.loaders import default_glove_dir, load_word_space

    step("numpy, grpc, latentd")
    space = load_word_space("glove-6b-50d", default_glove_dir(), "kumo")
    step("GloVe 6B 50d space (unit vectors, norms, keys)")
    space.start_index(HnswParams(), cache, background=False)
    step("its HNSW index")
    import torch  # noqa: F401

    step("torch")
    import sentence_transformers  # noqa: F401

    step("sentence-transformers (transformers, scikit-learn, scipy)")
    from latentd.app import default_sentence_dir
    from latentd.core.sentence_model import SentenceModel

    model = SentenceModel("all-minilm-l6-v2", default_sentence_dir())
    step("all-MiniLM-L6-v2 loaded and warmed up")
    model.embed(["a sentence to encode, sixty-four times"] * 64)
    step("after one Encode of 64 sentences")
    print("| part | RSS MB |\n| --- | --- |")
    for name, mb in rows:
        print(f"| {name} | {mb:,.0f} |")
    print(f"| total | {last:,.0f} |")


if __name__ == "__main__":
    main()
