"""Latent: typed Python client for latentd (word/sentence embeddings, analogies, neighbours,
directions of a space, and semantic search over collections of your documents).

>>> import latent
>>> with latent.Client("127.0.0.1:50051") as client:
...     client.analogy(["king", "woman"], ["man"]).neighbors[0].key
'queen'

A direction is a saved name, ``(a, b)`` pairs, :class:`Pairs`, :class:`Poles` or a vector:
``client.project([("man", "woman"), ("he", "she")], ["nurse", "engineer"])``, and
``remove=`` takes directions out of a query: ``client.nearest("doctor", remove=["gender"])``.

``Client`` and ``AsyncClient`` are loaded on first use, so that ``import latent`` does
not pay for grpc and numpy until a client is made.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from latent.errors import (
    AlreadyExists,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LatentError,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServerUnreachable,
    Unauthenticated,
    Unavailable,
)
from latent.types import (
    AnalogyResult,
    AssociationResult,
    CallInfo,
    CollectionInfo,
    Component,
    DirectionFit,
    Document,
    DoesntMatchResult,
    EncodeResult,
    GetResult,
    Hit,
    InterpolateResult,
    InterpolationPoint,
    ModelInfo,
    NavigateResult,
    NavigationPoint,
    NearestResult,
    Neighbor,
    Pairs,
    Poles,
    Projection,
    ProjectResult,
    ResolvedTerm,
    SavedDirection,
    ScrollResult,
    SearchQuery,
    SearchResult,
    SimilarityResult,
    Term,
    Text,
)

if TYPE_CHECKING:
    from latent.async_client import AsyncClient
    from latent.client import Client

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "AnalogyResult",
    "AssociationResult",
    "AsyncClient",
    "CallInfo",
    "Client",
    "CollectionInfo",
    "Component",
    "DataLoss",
    "DeadlineExceeded",
    "DirectionFit",
    "Document",
    "DoesntMatchResult",
    "EncodeResult",
    "FailedPrecondition",
    "GetResult",
    "Hit",
    "Internal",
    "InterpolateResult",
    "InterpolationPoint",
    "InvalidArgument",
    "LatentError",
    "ModelInfo",
    "NavigateResult",
    "NavigationPoint",
    "NearestResult",
    "Neighbor",
    "NotFound",
    "Pairs",
    "PermissionDenied",
    "Poles",
    "ProjectResult",
    "Projection",
    "ResolvedTerm",
    "ResourceExhausted",
    "SavedDirection",
    "ScrollResult",
    "SearchQuery",
    "SearchResult",
    "ServerUnreachable",
    "SimilarityResult",
    "Term",
    "Text",
    "Unauthenticated",
    "Unavailable",
    "__version__",
]

# Name -> module, for the grpc-backed clients (PEP 562: imported when first asked for).
_LAZY = {"Client": "latent.client", "AsyncClient": "latent.async_client"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
