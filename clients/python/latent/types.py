"""Plain values the client takes and returns: term wrappers and frozen result dataclasses.

Names follow the wire: RPC ``Foo`` returns ``FooResult`` (from ``FooResponse``); the
responses that are only a list (ListModels, BatchAnalogy, BatchNearest, ListCollections,
BatchSearch) come back as a list of their items, and those that are only a number
(Upsert, Delete, Count) as that number; any other dataclass is named after its message
(``ModelInfo``, ``Neighbor``, ``ResolvedTerm``, ``InterpolationPoint``, ``Term``,
``CollectionInfo``, ``Document``, ``Hit``, ``SearchQuery``). ``Text`` is the client's own
shorthand for ``Term(text=...)``.

Kept free of grpc and numpy imports so that ``import latent`` stays fast; numpy appears
only in annotations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from latent._convert import TermLike, TermsLike

    FloatArray: TypeAlias = npt.NDArray[np.float32]

ModelKind: TypeAlias = Literal["word", "sentence", "unspecified"]
IndexState: TypeAlias = Literal["exact", "building", "hnsw"]
AnalogyMethod: TypeAlias = Literal["cosadd", "cosmul"]
InterpolationPath: TypeAlias = Literal["lerp", "slerp"]
Metric: TypeAlias = Literal["cosine", "dot", "l2"]


@dataclass(frozen=True, slots=True)
class Text:
    """Free text for the space's encoder to embed (sent as ``Term.text``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Term:
    """One operand with an explicit form and, optionally, a weight.

    Exactly one of ``key``, ``text`` or ``vector`` is given. The weight defaults on the
    server to +1 for positive and query terms and -1 for negative terms.
    """

    key: str | None = None
    text: str | None = None
    vector: Sequence[float] | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        given = sum(v is not None for v in (self.key, self.text, self.vector))
        if given != 1:
            raise ValueError("Term takes exactly one of key=, text= or vector=")
        if self.vector is not None:
            # A tuple keeps the frozen dataclass comparable and hashable (an ndarray is not).
            object.__setattr__(self, "vector", tuple(float(x) for x in self.vector))


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model the server has loaded (ListModels)."""

    name: str
    kind: ModelKind
    dimension: int
    num_keys: int
    source: str
    index_state: IndexState | None  # None: nothing to search (a sentence model)
    is_default: bool
    max_tokens: int
    prompt_names: list[str]
    has_subwords: bool


@dataclass(frozen=True, slots=True)
class Neighbor:
    """One search result: a key of the space and its score (cosine, or 3CosMul)."""

    key: str
    score: float


@dataclass(frozen=True, slots=True)
class ResolvedTerm:
    """How the server resolved one input term."""

    input: str  # what was sent (a key or a text; empty for a raw vector)
    key: str  # the key that was used, e.g. after the lowercase fallback
    unknown_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False)
class EncodeResult:
    """Encode with everything the server reported; ``vectors`` has shape (n, dimension)."""

    model: str
    dimension: int
    vectors: FloatArray
    truncated: list[bool]
    unknown_tokens: list[list[str]]


@dataclass(frozen=True, slots=True)
class AnalogyResult:
    """Neighbours of ``sum(positive) - sum(negative)``, best first, inputs excluded."""

    space: str
    neighbors: list[Neighbor]
    positive: list[ResolvedTerm]
    negative: list[ResolvedTerm]
    searched_with: IndexState | None

    @property
    def keys(self) -> list[str]:
        """The neighbours' keys, best first."""
        return [n.key for n in self.neighbors]


@dataclass(frozen=True, slots=True)
class NearestResult:
    """Neighbours of the (weighted mean of the) query terms, best first."""

    space: str
    neighbors: list[Neighbor]
    query: list[ResolvedTerm]
    searched_with: IndexState | None

    @property
    def keys(self) -> list[str]:
        """The neighbours' keys, best first."""
        return [n.key for n in self.neighbors]


@dataclass(frozen=True, slots=True, eq=False)
class InterpolationPoint:
    """One point of a path: its position ``t`` in [0, 1], unit vector and neighbours."""

    t: float
    vector: FloatArray
    neighbors: list[Neighbor]


@dataclass(frozen=True, slots=True, eq=False)
class InterpolateResult:
    """Points from ``start`` (t=0) to ``end`` (t=1), both included."""

    space: str
    points: list[InterpolationPoint]
    start: ResolvedTerm
    end: ResolvedTerm
    searched_with: IndexState | None


@dataclass(frozen=True, slots=True, eq=False)
class SimilarityResult:
    """Cosine matrix: ``scores[i, j] = cos(a[i], b[j])``, shape (len(a), len(b))."""

    space: str
    scores: FloatArray
    a: list[ResolvedTerm]
    b: list[ResolvedTerm]


@dataclass(frozen=True, slots=True)
class DoesntMatchResult:
    """The odd one out: its position in the input, its key and its cosine to the mean."""

    space: str
    index: int
    key: str
    score: float
    terms: list[ResolvedTerm]


# ---------------------------------------------------------------------------
# Collections


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection's settings and state (CreateCollection, GetCollection, ListCollections)."""

    name: str
    model: str  # the sentence model that encodes its texts; "" for your own vectors
    dimension: int
    metric: Metric
    m: int  # HNSW graph degree
    ef_construction: int  # HNSW build breadth
    count: int  # documents
    index_state: IndexState | None
    disk_bytes: int


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """One document of a collection: its id, text, vector and metadata.

    To upsert, give ``text`` (encoded by the collection's model) or ``vector`` (any
    sequence of floats, or a numpy array), or both. Metadata values are strings,
    numbers, bools and lists of strings. Read back (Get, Scroll), ``vector`` is a
    float32 array when asked for (``with_vector=True``), else None; numbers travel as
    doubles, and whole numbers come back as ``int``.
    """

    id: str
    text: str = ""
    vector: FloatArray | Sequence[float] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class GetResult:
    """Get: the documents found, in the order asked, and the ids not found."""

    documents: list[Document]
    missing: list[str]


@dataclass(frozen=True, slots=True, eq=False)
class ScrollResult:
    """One page of Scroll, in id order; ``next_page_token`` is "" after the last page."""

    documents: list[Document]
    next_page_token: str


@dataclass(frozen=True, slots=True, eq=False)
class SearchQuery:
    """One query of ``batch_search``: what to search for, plus Recommend's terms.

    ``query`` is a text (a ``str`` or :class:`Text`), a vector, or a stored document
    (``Term(key=id)``); ``positive`` and ``negative`` are terms as in ``analogy``, where a
    ``str`` is a document id and :class:`Text` a text. At least one term in all.
    """

    query: TermLike | None = None
    positive: TermsLike = ()
    negative: TermsLike = ()


@dataclass(frozen=True, slots=True, eq=False)
class Hit:
    """One search result: a document's id and score, with what was asked for of it."""

    id: str
    score: float  # by the collection's metric: cosine, dot product, or minus L2 distance
    text: str
    metadata: dict[str, Any]
    vector: FloatArray | None  # with_vector=True only


@dataclass(frozen=True, slots=True, eq=False)
class SearchResult:
    """Search (and each query of BatchSearch): hits best first."""

    collection: str
    hits: list[Hit]
    searched_with: IndexState | None

    @property
    def ids(self) -> list[str]:
        """The hits' ids, best first."""
        return [h.id for h in self.hits]
