"""A sentence-transformers model as an encoder. torch and sentence-transformers are
imported when the model loads, so importing this module stays cheap."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentd.core.errors import InvalidArgument, invalid
from latentd.core.types import Encoded, IndexState

log = logging.getLogger(__name__)


class SentenceModel:
    kind = "sentence"
    index_state = IndexState.NONE
    size = 0
    has_subwords = False

    def __init__(self, name: str, path: str | Path, device: str = "cpu",
                 batch_size: int = 32) -> None:
        # Never reach a model hub: the model is a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # A progress bar per load is noise in a server log.
        transformers_logging.disable_progress_bar()

        self.name = name
        self.source = str(path)
        self.batch_size = batch_size
        self._model: Any = SentenceTransformer(
            str(path), device=device, trust_remote_code=False, local_files_only=True
        )
        self.device = str(self._model.device)
        # Renamed get_embedding_dimension in sentence-transformers 5.
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self.max_tokens = int(self._model.max_seq_length or 0)
        self.prompt_names: list[str] = sorted(self._model.prompts or {})

    def token_counts(self, texts: Sequence[str], prompt: str = "") -> list[int]:
        """Tokens of each text as the model sees it (prompt and special tokens included)."""
        encoded = self._model.tokenizer(
            [prompt + t for t in texts], add_special_tokens=True, truncation=False,
            verbose=False,
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(
        self,
        texts: Sequence[str],
        *,
        normalize: bool = True,
        dimensions: int = 0,
        prompt_name: str = "",
        truncate: bool = False,
        field: str = "inputs",
    ) -> Encoded:
        prompt = ""
        if prompt_name:
            if prompt_name not in self.prompt_names:
                known = ", ".join(self.prompt_names) or "none"
                raise invalid("prompt_name", f"model {self.name!r} has no prompt "
                              f"{prompt_name!r} (known: {known})")
            prompt = self._model.prompts[prompt_name]
        if dimensions and dimensions > self.dimension:
            raise invalid("dimensions", f"{dimensions} exceeds the model's dimension "
                          f"{self.dimension}")
        counts = self.token_counts(texts, prompt)
        too_long = [i for i, n in enumerate(counts) if self.max_tokens and n > self.max_tokens]
        if too_long and not truncate:
            first = too_long[0]
            raise InvalidArgument(
                f"{field}[{first}]: {counts[first]} tokens exceeds the limit of "
                f"{self.max_tokens} for model {self.name!r} ({len(too_long)} input(s) too "
                "long); set truncate to cut them"
            )
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=False, prompt_name=prompt_name or None,
            show_progress_bar=False,
        ).astype(np.float32, copy=False)
        if dimensions:
            vectors = vectors[:, :dimensions]
        if normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1, norms)
        cut = set(too_long)
        truncated = [i in cut for i in range(len(texts))]
        return Encoded(np.ascontiguousarray(vectors), truncated, [[] for _ in texts])
