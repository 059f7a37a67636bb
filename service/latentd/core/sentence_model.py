"""A sentence-transformers model as an encoder. torch and sentence-transformers are
imported when the model loads, so importing this module stays cheap.

One thread runs the model. The Hugging Face tokenizer holds mutable state (its
truncation and padding settings), so two threads tokenising at once can get each other's
settings and fail ("expected sequence of length 8 at dim 1 (got 7)"); and torch on 2
cores runs a forward pass about twice as fast on the first thread that ran it than on
any other (each thread gets its own intra-op team). So RPC threads hand their inputs to
the model's own thread and wait: the batcher (core/encode_batcher.py) runs the inputs of
concurrent requests together on that thread.

Each input is tokenised twice: once untruncated, to count its tokens for the limit
checks before any forward pass is spent on its request; then with its forward pass,
padded to that batch's longest input and cut where the caller asked to truncate.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentd.core.batch_params import BatchParams
from latentd.core.cancellation import current_check
from latentd.core.encode_batcher import EncodeBatcher
from latentd.core.errors import FailedPrecondition, InvalidArgument, invalid, shown
from latentd.core.types import AnalogyMethod, Embedded, IndexState, KeyLookup

if TYPE_CHECKING:
    from latentd.core.documents import Filter
    from latentd.core.search import Hits, QueryBatch

log = logging.getLogger(__name__)

CPU_BATCH_TOKENS = 1024
ACCELERATOR_BATCH_TOKENS = 16_384


class SentenceModel:
    """A Space (core/space.py) with no keys: its encoder is the model."""

    kind = "sentence"
    index_state = IndexState.NONE
    size = 0
    keys: tuple[str, ...] = ()
    has_keys = False
    has_subwords = False

    def __init__(
        self,
        name: str,
        path: str | Path,
        device: str = "cpu",
        batching: BatchParams | None = None,
    ) -> None:
        # Never reach a model hub: the model is a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # A progress bar per load is noise in a server log.
        transformers_logging.disable_progress_bar()

        self.name = name
        self.source = str(path)
        self._model: Any = SentenceTransformer(
            str(path), device=device, trust_remote_code=False, local_files_only=True
        )
        self._model.eval()
        self.device = str(self._model.device)
        # Padded tokens in one forward pass (inputs x the longest of them). On a CPU small
        # batches of similar length win: all-MiniLM-L6-v2 on 2 cores encodes ~100-token
        # texts at 74/s in batches of ~1,024 padded tokens and 43/s in batches of 32
        # texts; sentences of ~20 tokens equally fast either way. A GPU wants big batches.
        batching = batching or BatchParams()
        batch_tokens = batching.max_tokens or (
            CPU_BATCH_TOKENS if self.device == "cpu" else ACCELERATOR_BATCH_TOKENS
        )
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ValueError("the model does not state its embedding dimension")
        self.dimension = int(dimension)
        max_seq_length = self._model.max_seq_length
        self.max_tokens = int(max_seq_length) if max_seq_length else 0
        self.prompt_names: list[str] = sorted(self._model.prompts or {})
        self._batcher = EncodeBatcher(name, self, batching, batch_tokens)
        # The warm-up makes the model's thread the first to run torch.
        self._batcher.encode(["warm up"], "", lambda counts: counts, lambda: None)

    @property
    def batch_tokens(self) -> int:
        return self._batcher.max_tokens

    def close(self) -> None:
        self._batcher.close()

    def embed(
        self,
        texts: Sequence[str],
        *,
        prompt_name: str = "",
        truncate: bool = False,
        field: str = "inputs",
        max_request_tokens: int = 0,
    ) -> Embedded:
        """Raw vectors of `texts`. An input over the model's token limit is an error
        unless `truncate`; more than `max_request_tokens` tokens in all (after truncation;
        0: no limit) is an error before any forward pass."""
        prompt = ""
        if prompt_name:
            if prompt_name not in self.prompt_names:
                known = ", ".join(self.prompt_names) or "none"
                raise invalid(
                    "prompt_name",
                    f"model {self.name!r} has no prompt {shown(prompt_name)} (known: {known})",
                )
            prompt = self._model.prompts[prompt_name]
        texts = list(texts)
        if not texts:
            return Embedded(np.zeros((0, self.dimension), np.float32), [], [], [])

        def check_tokens(counts: list[int]) -> list[int]:
            return self._check_tokens(texts, counts, truncate, field, max_request_tokens)

        vectors, counts = self._batcher.encode(texts, prompt, check_tokens, current_check())
        truncated = [bool(self.max_tokens and n > self.max_tokens) for n in counts]
        return Embedded(vectors, [True] * len(texts), truncated, [[] for _ in texts])

    version = 0
    unit_keys = True

    def key_matrix(self) -> np.ndarray:
        return np.zeros((0, self.dimension), np.float32)  # no keys

    def key_mask(self, restrict: int = 0, filter: Filter | None = None) -> np.ndarray:
        return np.zeros(0, bool)

    def lookup(self, key: str) -> KeyLookup | None:
        return None  # no keys

    def suggest(self, key: str, n: int = 3) -> list[str]:
        return []

    def search(
        self,
        batch: QueryBatch,
        k: int,
        method: AnalogyMethod,
        *,
        exact: bool,
        restrict: int,
        ef: int,
    ) -> Hits:
        raise FailedPrecondition(
            f"space {self.name!r} is a sentence model: it has no keys to search"
        )

    def _check_tokens(
        self,
        texts: list[str],
        counts: list[int],
        truncate: bool,
        field: str,
        max_request_tokens: int,
    ) -> list[int]:
        """The tokens each input keeps; raises when a request breaks a limit. Runs on the
        model's thread once a request's tokens are counted, before any forward pass."""
        too_long = [i for i, n in enumerate(counts) if self.max_tokens and n > self.max_tokens]
        if too_long and not truncate:
            first = too_long[0]
            raise InvalidArgument(
                f"{field}[{first}]: {counts[first]} tokens exceeds the limit of "
                f"{self.max_tokens} for model {self.name!r} ({len(too_long)} input(s) too "
                "long); set truncate to cut them"
            )
        kept = [min(n, self.max_tokens) if self.max_tokens else n for n in counts]
        total = sum(kept)
        if max_request_tokens and total > max_request_tokens:
            raise InvalidArgument(
                f"{field}: {len(texts)} texts hold {total} tokens for model {self.name!r}"
                f"{' after truncation' if too_long else ''}; at most {max_request_tokens} in "
                "one request (split it into smaller requests)"
            )
        return kept

    # -- the Encoder of the batcher: on the model's thread only --------------------------

    def count_tokens(self, texts: list[str], prompt: str) -> list[int]:
        return self._lengths(self._tokenize(texts, prompt, truncate=False))

    def forward(self, texts: list[str], prompt: str, truncate: bool) -> np.ndarray:
        # Tokenised again, per batch: padded to its own longest input (and cut where an
        # input is over the model's limit).
        return self._forward(self._tokenize(texts, prompt, truncate))

    def _tokenize(self, texts: list[str], prompt: str, truncate: bool) -> dict[str, Any]:
        assert threading.current_thread().name.startswith("model-"), "tokenise on the model thread"
        kwargs: dict[str, Any] = {}
        if not truncate:
            kwargs["processing_kwargs"] = {"text": {"truncation": False}}
        return self._model.preprocess(texts, prompt=prompt or None, **kwargs)

    @staticmethod
    def _lengths(features: dict[str, Any]) -> list[int]:
        mask = features.get("attention_mask")
        if mask is None:  # no padding in the batch: every row is as long as the batch
            ids = features["input_ids"]
            return [int(ids.shape[1])] * int(ids.shape[0])
        return [int(n) for n in mask.sum(dim=1).tolist()]

    def _forward(self, features: dict[str, Any]) -> np.ndarray:
        import torch
        from sentence_transformers.util import batch_to_device

        with torch.inference_mode():
            out = self._model(batch_to_device(features, self._model.device))
        return out["sentence_embedding"].float().cpu().numpy()
