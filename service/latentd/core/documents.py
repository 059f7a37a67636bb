"""Plain data of collections: their settings, documents, filters and search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from latentd.core.types import IndexState, Term

# Metadata values a document may carry: the JSON scalars and lists of strings.
MetadataValue = str | float | int | bool | list[str]


class Metric(Enum):
    COSINE = "cosine"  # score: cosine similarity
    DOT = "dot"  # score: inner product of the vectors as given
    L2 = "l2"  # score: minus the Euclidean distance


@dataclass(frozen=True)
class CollectionSettings:
    name: str
    model: str  # a sentence model's name; "" for a collection of your own vectors
    dimension: int
    metric: Metric = Metric.COSINE
    m: int = 16
    ef_construction: int = 200
    backend: str = "embedded"  # where the documents are kept: "embedded" or "milvus"


@dataclass(frozen=True)
class CollectionInfo:
    settings: CollectionSettings
    count: int
    index_state: IndexState
    disk_bytes: int


@dataclass(frozen=True)
class Document:
    id: str
    text: str = ""
    vector: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Range:
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Condition:
    """One test on one metadata key: exactly one of equals, any_of, range, exists."""

    key: str
    equals: str | float | bool | None = None
    any_of: tuple[str | float | bool, ...] | None = None
    range: Range | None = None
    exists: bool | None = None


@dataclass(frozen=True)
class Filter:
    """A condition, and/or all / any / none of other filters (all must hold together)."""

    condition: Condition | None = None
    all: tuple[Filter, ...] = ()
    any: tuple[Filter, ...] = ()
    none: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """A text, a vector or a stored document (as a term), plus Recommend's positive
    and negative terms; at least one term in all."""

    query: Term | None = None
    positive: tuple[Term, ...] = ()
    negative: tuple[Term, ...] = ()


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class SearchHits:
    hits: list[Hit]
    searched_with: IndexState
