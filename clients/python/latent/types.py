"""Plain values the client takes and returns: term wrappers and frozen result dataclasses.

Names follow the wire: RPC ``Foo`` returns ``FooResult`` (from ``FooResponse``); the
responses that are only a list (ListModels, BatchAnalogy, BatchNearest, ListCollections,
BatchSearch, Directions.List, Directions.Components) come back as a list of their items,
and those that are only a number (Upsert, Delete, Count) as that number; any other
dataclass is named after its message (``ModelInfo``, ``Neighbor``, ``ResolvedTerm``,
``InterpolationPoint``, ``Term``, ``CollectionInfo``, ``Document``, ``Hit``,
``SearchQuery``, ``SavedDirection``, ``Projection``, ``NavigationPoint``, ``Component``).
The Directions service's Define and Associate, whose names say little alone, return
``DirectionFit`` and ``AssociationResult``. ``Text`` is the client's own shorthand for
``Term(text=...)``; ``Pairs`` and ``Poles`` are its forms of a direction's definition.
``CallInfo`` holds what a call's trailing metadata says (request id, server timing).

Kept free of grpc and numpy imports so that ``import latent`` stays fast; numpy appears
only in annotations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Real
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
DirectionMethod: TypeAlias = Literal["pca", "mean_difference"]


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
    disk_bytes: int  # its directory under the server's data directory (0 on Milvus)
    backend: str = "embedded"  # where its documents are kept: "embedded" or "milvus"


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


# ---------------------------------------------------------------------------
# Directions


def _direction_term(value: TermLike) -> TermLike:
    """A term of a direction's definition, hashable: a vector becomes ``Term(vector=...)``."""
    if isinstance(value, str | Text | Term):
        return value
    return Term(vector=value)  # type: ignore[arg-type]  # Term checks it is a vector


def _pole(value: TermsLike, field_name: str) -> tuple[TermLike, ...]:
    if isinstance(value, str | Text | Term):
        return (value,)
    try:
        items = list(value)
    except TypeError:
        raise TypeError(
            f"Poles.{field_name}: expected a term or terms, not {type(value).__name__}"
        ) from None
    if items and all(isinstance(x, Real) and not isinstance(x, bool) for x in items):
        return (Term(vector=items),)  # one vector, given as its numbers
    return tuple(_direction_term(x) for x in items)


@dataclass(frozen=True, slots=True)
class Pairs:
    """A direction from term pairs ``(a, b)``, pointing from each ``a`` to its ``b``:
    ``Pairs([("man", "woman"), ("he", "she")])``.

    ``method`` is ``"pca"`` (the first principal component of the pair differences; the
    server's default) or ``"mean_difference"`` (the mean of the differences ``b - a``).
    Terms are as everywhere (``str`` key, :class:`Text`, :class:`Term`, or a vector); a
    vector is kept as ``Term(vector=...)`` so that the value stays comparable.
    """

    pairs: Sequence[tuple[TermLike, TermLike]]
    method: DirectionMethod = "pca"

    def __post_init__(self) -> None:
        if self.method not in ("pca", "mean_difference"):
            raise ValueError(f"method must be 'pca' or 'mean_difference', not {self.method!r}")
        if isinstance(self.pairs, str):
            raise TypeError("Pairs takes a sequence of (a, b) pairs, not a str")
        pairs = []
        for i, pair in enumerate(self.pairs):
            if isinstance(pair, str) or len(pair) != 2:
                raise ValueError(f"pairs[{i}]: expected an (a, b) pair of terms, got {pair!r}")
            pairs.append((_direction_term(pair[0]), _direction_term(pair[1])))
        object.__setattr__(self, "pairs", tuple(pairs))


@dataclass(frozen=True, slots=True)
class Poles:
    """A direction from two sets of terms: ``mean(to_terms) - mean(from_terms)`` of their
    unit vectors: ``Poles(["bad", "awful"], ["good", "great"])``. A single term may be
    given alone (``Poles("cold", "hot")``)."""

    from_terms: Sequence[TermLike]
    to_terms: Sequence[TermLike]

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_terms", _pole(self.from_terms, "from_terms"))
        object.__setattr__(self, "to_terms", _pole(self.to_terms, "to_terms"))


@dataclass(frozen=True, slots=True, eq=False)
class DirectionFit:
    """Define: the direction's unit vector and how well its inputs agree on it.

    ``explained_variance``: the share of the pair differences' variance along the
    direction (poles: of every "to" term's difference from every "from" term; 1 for a
    vector). ``pair_cosines``: for pairs, ``cos(b - a, direction)`` of each pair, in
    order (a low one is the pair that does not fit). ``from_projections`` and
    ``to_projections``: for poles, each term's projection, in order. ``name``: the saved
    name, when the direction was given by name.
    """

    space: str
    vector: FloatArray
    explained_variance: float
    pair_cosines: list[float]
    from_projections: list[float]
    to_projections: list[float]
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class SavedDirection:
    """A named direction of a space (Save, List).

    ``definition`` is as it was given: :class:`Pairs`, :class:`Poles` or a vector (None
    if the server sent none). ``vector`` is the unit vector (from Save, and from List
    with ``with_vector=True``; else None). ``from_config``: defined by the server's
    config file, so it cannot be deleted or replaced.
    """

    space: str
    name: str
    definition: Pairs | Poles | FloatArray | None
    description: str
    explained_variance: float
    vector: FloatArray | None
    from_config: bool


@dataclass(frozen=True, slots=True)
class Projection:
    """A term and its scalar projection on a direction (the cosine, for a unit vector)."""

    term: ResolvedTerm
    projection: float


@dataclass(frozen=True, slots=True)
class ProjectResult:
    """Project: the terms' projections, in order, and with ``top`` the keys at each end:
    ``from_end`` lowest projection first, ``to_end`` highest first (their ``score`` is
    the projection)."""

    space: str
    projections: list[Projection]
    from_end: list[Neighbor]
    to_end: list[Neighbor]


@dataclass(frozen=True, slots=True, eq=False)
class NavigationPoint:
    """One point of a walk along a direction: the distance walked (in units of the
    start's norm), its projection on the direction, its unit vector and neighbours."""

    offset: float
    projection: float
    vector: FloatArray
    neighbors: list[Neighbor]


@dataclass(frozen=True, slots=True, eq=False)
class NavigateResult:
    """Navigate: the points of the walk, the start first; the start key is excluded
    from the neighbours."""

    space: str
    points: list[NavigationPoint]
    start: ResolvedTerm
    searched_with: IndexState | None


@dataclass(frozen=True, slots=True)
class AssociationResult:
    """Associate, the Word Embedding Association Test (Caliskan et al. 2017).

    ``effect_size`` is Cohen's d of ``s(w, A, B)`` between the targets X and Y;
    ``p_value`` is one-sided, from ``partitions`` partitions of X and Y (all of them when
    ``exact``, else sampled); ``statistic`` is ``sum_x s(x, A, B) - sum_y s(y, A, B)``;
    ``x_associations`` and ``y_associations`` are ``s(w, A, B)`` per target, in order.
    """

    space: str
    effect_size: float
    p_value: float
    statistic: float
    exact: bool
    partitions: int
    x_associations: list[float]
    y_associations: list[float]


@dataclass(frozen=True, slots=True, eq=False)
class Component:
    """A principal axis of a set of terms (Components): its unit vector, its share of
    the terms' variance, and every term's projection, lowest first."""

    vector: FloatArray
    explained_variance: float
    terms: list[Projection]


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the server said about one call, in its trailing metadata
    (``Client.last_call``). None where the server sent nothing: an older server, or a
    call that never reached it.

    ``request_id`` is the call's id in the server's log (the one the caller sent with
    ``Client.request_id()``, or one the server made); ``total_ms`` the server's time from
    the call's arrival to its answer; ``queue_ms`` and ``inference_ms``, for calls that
    ran a sentence model (Encode, Upsert of texts, text terms), the time its inputs
    waited for the model and the time the model took.
    """

    request_id: str | None = None
    total_ms: float | None = None
    queue_ms: float | None = None
    inference_ms: float | None = None
