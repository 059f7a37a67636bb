"""Latent: typed Python client for latentd (word/sentence embeddings, analogies, neighbours).

>>> import latent
>>> with latent.Client("127.0.0.1:50051") as client:
...     client.analogy(["king", "woman"], ["man"]).neighbors[0].key
'queen'

``Client`` and ``AsyncClient`` are loaded on first use, so that ``import latent`` does
not pay for grpc and numpy until a client is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latent.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LatentError,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from latent.types import (
    AnalogyResult,
    DoesntMatchResult,
    EncodeResult,
    InterpolateResult,
    InterpolationPoint,
    ModelInfo,
    NearestResult,
    Neighbor,
    Resolved,
    SimilarityResult,
    Term,
    Text,
)

if TYPE_CHECKING:
    from latent.client import AsyncClient, Client

__version__ = "0.1.0"

__all__ = [
    "AnalogyResult",
    "AsyncClient",
    "Client",
    "DeadlineExceeded",
    "DoesntMatchResult",
    "EncodeResult",
    "FailedPrecondition",
    "Internal",
    "InterpolateResult",
    "InterpolationPoint",
    "InvalidArgument",
    "LatentError",
    "ModelInfo",
    "NearestResult",
    "Neighbor",
    "NotFound",
    "Resolved",
    "ResourceExhausted",
    "SimilarityResult",
    "Term",
    "Text",
    "Unavailable",
    "__version__",
]

_LAZY = {"Client", "AsyncClient"}


def __getattr__(name: str) -> Any:
    # PEP 562: import the grpc-backed clients only when first asked for.
    if name in _LAZY:
        from latent import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'latent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
