"""Encode: texts to vectors with a space's encoder."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentd.core.checks import check_count, check_text
from latentd.core.direction_book import DirectionBook
from latentd.core.directions import removal_for
from latentd.core.errors import invalid
from latentd.core.geometry import unit
from latentd.core.limits import Limits
from latentd.core.space import Space
from latentd.core.terms import not_in_space
from latentd.core.types import DirectionSpec, EncodeResult


def encode(
    space: Space,
    inputs: Sequence[str],
    limits: Limits,
    *,
    normalize: bool = True,
    dimensions: int = 0,
    prompt_name: str = "",
    truncate: bool = False,
    remove: Sequence[DirectionSpec] = (),
    directions: DirectionBook | None = None,
) -> EncodeResult:
    """Vectors of `inputs`: without the `remove` directions' components, then unit
    length unless not `normalize`, cut to their first `dimensions` when given
    (Matryoshka models)."""
    check_count(inputs, "inputs", limits.max_inputs)
    for i, text in enumerate(inputs):
        check_text(text, f"inputs[{i}]", limits)
    if dimensions < 0 or dimensions > space.dimension:
        raise invalid(
            "dimensions",
            f"must be between 1 and {space.dimension} (the model's dimension), got {dimensions}",
        )
    if remove and dimensions:
        raise invalid(
            "remove",
            "cannot be combined with dimensions: a direction spans every dimension, so a "
            "cut vector would keep part of it",
        )
    removal = removal_for(space, remove, limits, directions, "remove")
    embedded = space.embed(
        inputs,
        prompt_name=prompt_name,
        truncate=truncate,
        max_request_tokens=limits.max_request_tokens,
    )
    # A single word is reported like an unknown key, with suggestions.
    missing = [
        (f"inputs[{i}]", text, len(text.split()) == 1)
        for i, (text, known) in enumerate(zip(inputs, embedded.known, strict=True))
        if not known
    ]
    if missing:
        raise not_in_space(space, missing)
    vectors = embedded.vectors[:, :dimensions] if dimensions else embedded.vectors
    if removal is not None:
        vectors = removal.neutralised(vectors)
    if normalize:
        vectors = unit(vectors)
    return EncodeResult(
        np.ascontiguousarray(vectors, np.float32), embedded.truncated, embedded.unknown_tokens
    )
