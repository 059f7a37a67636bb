"""The Space protocol: what every space offers the operations.

A space is a set of keyed vectors plus an encoder that turns text into a vector of the
same dimension. A word model is one (keys: its vocabulary; encoder: the mean of the
token vectors), a sentence model is one with no keys (its encoder is the model), and a
collection of documents will be one (keys: document ids; encoder: its sentence model).
Analogy, Nearest, Interpolate, Similarity, DoesntMatch and Encode are written once,
against this protocol; a new kind of space implements it and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from latentd.core.types import AnalogyMethod, Embedded, IndexState, KeyLookup

if TYPE_CHECKING:
    from latentd.core.documents import Filter
    from latentd.core.search import Hits, QueryBatch


class Keys(Protocol):
    """A space's keys by row: a word list, or a collection's labels to document ids."""

    def __getitem__(self, row: int, /) -> str: ...

    def __len__(self) -> int: ...


class Space(Protocol):
    name: str
    kind: str  # "word" or "sentence": the ModelKind on the wire
    source: str  # where it was loaded from

    @property
    def dimension(self) -> int: ...

    @property
    def size(self) -> int:
        """Number of keys (0 for a space without keys)."""
        ...

    @property
    def keys(self) -> Keys:
        """The keys; row i of a search result is keys[i]."""
        ...

    @property
    def has_keys(self) -> bool:
        """Whether terms may name keys and the space may be searched."""
        ...

    @property
    def has_subwords(self) -> bool:
        """Whether an unknown key still gets a vector (fastText)."""
        ...

    @property
    def index_state(self) -> IndexState: ...

    @property
    def max_tokens(self) -> int:
        """The encoder's token limit per text (0: none)."""
        ...

    @property
    def prompt_names(self) -> list[str]: ...

    @property
    def version(self) -> int:
        """Changes whenever a key or a vector changes: caches of per-key values (a
        direction's projections) are keyed on it."""
        ...

    @property
    def unit_keys(self) -> bool:
        """Whether the rows of key_matrix() are unit vectors (scores are cosines)."""
        ...

    def key_matrix(self) -> np.ndarray:
        """Every row's vector as the space scores it, (rows, dimension): row i is
        keys[i]. Rows that key_mask() leaves out are to be ignored (a collection's free
        labels). Not a copy: read it, never write it."""
        ...

    def key_mask(self, restrict: int = 0, filter: Filter | None = None) -> np.ndarray:
        """The rows a search may return, as a bool per row of key_matrix(): the first
        `restrict` keys (0: all) of a word space; a collection's live documents that
        match `filter`. InvalidArgument for an option the space does not have."""
        ...

    def lookup(self, key: str) -> KeyLookup | None:
        """The key's row and raw vector, or None when the space lacks it."""
        ...

    def suggest(self, key: str, n: int = 3) -> list[str]:
        """Up to n keys spelt like `key`, closest first."""
        ...

    def embed(
        self,
        texts: Sequence[str],
        *,
        prompt_name: str = "",
        truncate: bool = False,
        field: str = "inputs",
        max_request_tokens: int = 0,
    ) -> Embedded:
        """Raw vectors of `texts` from the space's encoder. `field` names the texts in
        error messages; `max_request_tokens` bounds a model's work (0: no bound)."""
        ...

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
        """The k best keys for each query, exactly reranked (rows index `keys`)."""
        ...
