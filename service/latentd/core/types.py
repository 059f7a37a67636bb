"""Plain data passed between the edge and the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class IndexState(Enum):
    NONE = "none"  # nothing to search (a sentence model)
    EXACT = "exact"  # brute force only
    BUILDING = "building"  # brute force while the HNSW index is built
    HNSW = "hnsw"  # HNSW candidates, reranked exactly


class AnalogyMethod(Enum):
    COSADD = "cosadd"
    COSMUL = "cosmul"


class InterpolationPath(Enum):
    LERP = "lerp"
    SLERP = "slerp"


@dataclass(frozen=True)
class Term:
    """One operand: exactly one of key, text or vector, with an optional weight."""

    key: str | None = None
    text: str | None = None
    vector: np.ndarray | None = None
    weight: float | None = None


@dataclass(frozen=True)
class Resolved:
    """How a term became a vector: the key used, and tokens of a text the space lacks."""

    input: str = ""
    key: str = ""
    unknown_tokens: tuple[str, ...] = ()


class DirectionMethod(Enum):
    PCA = "pca"  # first principal component of the pair differences (Bolukbasi et al.)
    MEAN_DIFFERENCE = "mean_difference"


@dataclass(frozen=True)
class DirectionSpec:
    """A direction as a caller gives it: exactly one of pairs (from a to b), poles (from
    from_terms to to_terms), a raw vector, or the name of a saved direction."""

    pairs: tuple[tuple[Term, Term], ...] = ()
    method: DirectionMethod = DirectionMethod.PCA
    from_terms: tuple[Term, ...] = ()
    to_terms: tuple[Term, ...] = ()
    vector: np.ndarray | None = None
    name: str = ""
    # The form the caller chose, where it says more than the values (zero pairs given).
    form: str = ""

    @property
    def kind(self) -> str:
        """The form: pairs, poles, vector or name; empty when nothing was given."""
        if self.form:
            return self.form
        if self.name:
            return "name"
        if self.vector is not None:
            return "vector"
        if self.from_terms or self.to_terms:
            return "poles"
        return "pairs" if self.pairs else ""


@dataclass(frozen=True)
class QueryOptions:
    exact: bool = False
    ef: int = 0  # 0: the index's default
    restrict: int = 0  # 0: every key is a candidate
    include_inputs: bool = False
    remove: tuple[DirectionSpec, ...] = ()  # directions projected out before scoring


@dataclass(frozen=True)
class Neighbor:
    key: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Neighbours of one query, and the terms it was built from."""

    neighbors: list[Neighbor]
    resolved: list[list[Resolved]]  # one list per term group (positive, negative / query)
    searched_with: IndexState


@dataclass(frozen=True)
class KeyLookup:
    index: int | None  # row of the key; None for an out-of-vocabulary fastText vector
    key: str  # the key that was used (exact, or its lowercase form)
    vector: np.ndarray  # raw vector


@dataclass(frozen=True)
class Embedded:
    """Texts as a space's encoder sees them: raw vectors, and per text whether the
    encoder knew it at all (a word space knows no text without a known word)."""

    vectors: np.ndarray  # (n, dim) float32; zero rows where not known
    known: list[bool]
    truncated: list[bool]
    unknown_tokens: list[list[str]]


@dataclass(frozen=True)
class EncodeResult:
    vectors: np.ndarray  # (n, dim) float32
    truncated: list[bool]
    unknown_tokens: list[list[str]]


@dataclass(frozen=True)
class InterpolationPoint:
    t: float
    vector: np.ndarray
    neighbors: list[Neighbor]


@dataclass(frozen=True)
class InterpolateResult:
    points: list[InterpolationPoint]
    start: Resolved
    end: Resolved
    searched_with: IndexState


@dataclass(frozen=True)
class SimilarityResult:
    scores: np.ndarray  # (len(a), len(b)) float32
    a: list[Resolved]
    b: list[Resolved]


@dataclass(frozen=True)
class DoesntMatchResult:
    index: int
    key: str
    score: float
    terms: list[Resolved] = field(default_factory=list)
