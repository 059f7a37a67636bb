"""Check, on a machine with a CUDA GPU, that a sentence model runs there when asked
(`latentd serve --device cuda`): the same SentenceModel on device="cuda" and on
device="cpu" in one process, over texts of mixed lengths (one cut at the model's
limit), must agree to cosine >= 0.9999; then the batches each device forms (padded-token
budget: 1,024 on a CPU, 16,384 on an accelerator) and a rough encode rate on each.
Not part of CI (CI has no GPU).

    python bench/cuda_check.py [--model PATH]    (default: the all-MiniLM-L6-v2 package)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a sentence-transformers directory")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from latentd.core.sentence_model import SentenceModel

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check", file=sys.stderr)
        return 2
    if args.model is None:
        from latentd.app import default_sentence_dir

        args.model = default_sentence_dir()
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    gpu = SentenceModel("gpu", args.model, device="cuda")
    cpu = SentenceModel("cpu", args.model, device="cpu")
    print(f"devices {gpu.device} / {cpu.device}")
    print(f"padded tokens a batch {gpu.batch_tokens} / {cpu.batch_tokens}")
    texts = ["A kitten.", "word " * 400, "The central bank raised interest rates again.", "Hi"]
    texts += [f"sentence {i} about cats, dogs and the weather. " * (1 + i % 7) for i in range(300)]
    a = gpu.embed(texts, truncate=True)
    b = cpu.embed(texts, truncate=True)
    cosine = (a.vectors * b.vectors).sum(1) / (
        np.linalg.norm(a.vectors, axis=1) * np.linalg.norm(b.vectors, axis=1)
    )
    print(f"{sum(a.truncated)} cut; cosine cuda vs cpu: min {cosine.min():.7f}")
    for name, model in (("cuda", gpu), ("cpu", cpu)):
        model.embed(texts[:64], truncate=True)  # warm-up
        started = time.perf_counter()
        model.embed(texts * 3, truncate=True)
        print(f"{name}: {len(texts) * 3 / (time.perf_counter() - started):,.0f} texts/s")
    gpu.close()
    cpu.close()
    if cosine.min() < 0.9999:
        print("FAILED: cuda and cpu vectors differ", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
