"""Directions of a space: a unit vector defined from pairs of terms, two poles, a raw
vector or a saved name, with figures that say how well the inputs agree on it.

Pairs (a, b), PCA (Bolukbasi et al. 2016, "Man is to computer programmer as woman is to
homemaker?", section 5): the first principal component of the centred pair differences.
Their code centres each pair on its midpoint, so the rows are +-(b - a) / 2 and their
mean is zero: the component is the first right singular vector of the differences
b - a. Its sign is chosen so that the direction points from the a's to the b's (the
mean difference projects positive). MEAN_DIFFERENCE is the mean of b - a, normalised.
Poles: mean(to) - mean(from). Every term enters as its unit vector, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentd.core.checks import check_count, check_vector
from latentd.core.errors import FailedPrecondition, NotFound, invalid, shown
from latentd.core.geometry import unit
from latentd.core.limits import Limits
from latentd.core.removal import Removal, orthonormal_basis
from latentd.core.space import Space
from latentd.core.terms import TermResolver
from latentd.core.types import DirectionMethod, DirectionSpec

if TYPE_CHECKING:
    from latentd.core.direction_book import DirectionBook

# A pair whose two unit vectors are closer than this has no direction.
MIN_DIFFERENCE = 1e-6


@dataclass(frozen=True)
class DefinedDirection:
    """A unit direction and how coherent its definition is."""

    vector: np.ndarray  # (d,) float32, unit length
    explained_variance: float
    pair_cosines: list[float]  # pairs: cos(b - a, direction), in order
    from_projections: list[float]  # poles: each from-term's projection
    to_projections: list[float]
    name: str = ""  # the saved name, when given by one


def define(
    space: Space,
    spec: DirectionSpec,
    limits: Limits,
    book: DirectionBook | None = None,
    *,
    field: str = "direction",
) -> DefinedDirection:
    """The direction `spec` describes in `space`. Errors name `field` and the item."""
    kind = spec.kind
    if kind == "name":
        return _saved(space, spec.name, book, f"{field}.name")
    if kind == "vector":
        assert spec.vector is not None
        vector = check_vector(spec.vector, f"{field}.vector", space.dimension)
        return DefinedDirection(unit(vector), 1.0, [], [], [])
    if kind == "poles":
        return _from_poles(space, spec, limits, f"{field}.poles")
    if kind == "pairs":
        return _from_pairs(space, spec, limits, f"{field}.pairs")
    raise invalid(field, "give pairs, poles, a vector or the name of a saved direction")


def define_all(
    space: Space,
    specs: Sequence[DirectionSpec],
    limits: Limits,
    book: DirectionBook | None,
    field: str,
) -> list[DefinedDirection]:
    check_count(specs, field, limits.max_terms, least=0)
    return [
        define(space, spec, limits, book, field=f"{field}[{i}]") for i, spec in enumerate(specs)
    ]


def _saved(space: Space, name: str, book: DirectionBook | None, field: str) -> DefinedDirection:
    saved = book.find(space.name, name) if book is not None else None
    if saved is None:
        known = book.names(space.name) if book is not None else []
        raise NotFound(
            f"{field}: no direction {shown(name)} is saved for space {space.name!r}; "
            f"saved: {', '.join(known) or 'none'}"
        )
    if len(saved.vector) != space.dimension:
        raise FailedPrecondition(
            f"{field}: direction {name!r} has {len(saved.vector)} dimensions but space "
            f"{space.name!r} has {space.dimension} (the model changed): save it again"
        )
    return DefinedDirection(saved.vector, saved.explained_variance, [], [], [], name)


def _from_pairs(space: Space, spec: DirectionSpec, limits: Limits, field: str) -> DefinedDirection:
    check_count(spec.pairs, field, limits.max_terms)
    resolver = TermResolver(space, limits)
    handles = [
        (resolver.add_one(a, f"{field}[{i}].a", 1.0), resolver.add_one(b, f"{field}[{i}].b", 1.0))
        for i, (a, b) in enumerate(spec.pairs)
    ]
    resolver.resolve()
    starts = np.vstack([resolver.group(h).vectors for h, _ in handles])
    ends = np.vstack([resolver.group(h).vectors for _, h in handles])
    differences = (ends - starts).astype(np.float64)
    lengths = np.linalg.norm(differences, axis=1)
    for i, length in enumerate(lengths):
        if length < MIN_DIFFERENCE:
            a, b = resolver.resolved(handles[i][0])[0], resolver.resolved(handles[i][1])[0]
            same = f" (both are {a.key!r})" if a.key and a.key == b.key else ""
            raise invalid(f"{field}[{i}]", f"a and b are the same vector{same}: no direction")
    mean = differences.mean(axis=0)
    if spec.method is DirectionMethod.MEAN_DIFFERENCE:
        if np.linalg.norm(mean) < MIN_DIFFERENCE:
            raise invalid(field, "the pair differences cancel out: their mean is zero")
        direction = mean / np.linalg.norm(mean)
    else:
        _, _, vt = np.linalg.svd(differences, full_matrices=False)
        direction = vt[0]
        # From the a's to the b's: the differences' mean (else the majority) is positive.
        along = differences @ direction
        if mean @ direction < 0 or (mean @ direction == 0 and along.sum() < 0):
            direction = -direction
    along = differences @ direction
    explained = float((along**2).sum() / (lengths**2).sum())
    cosines = (along / lengths).tolist()
    return DefinedDirection(direction.astype(np.float32), explained, cosines, [], [])


def _from_poles(space: Space, spec: DirectionSpec, limits: Limits, field: str) -> DefinedDirection:
    check_count(spec.from_terms, f"{field}.from_terms", limits.max_terms)
    check_count(spec.to_terms, f"{field}.to_terms", limits.max_terms)
    resolver = TermResolver(space, limits)
    start_handle = resolver.add(spec.from_terms, f"{field}.from_terms", 1.0)
    end_handle = resolver.add(spec.to_terms, f"{field}.to_terms", 1.0)
    resolver.resolve()
    starts = resolver.group(start_handle).vectors.astype(np.float64)
    ends = resolver.group(end_handle).vectors.astype(np.float64)
    difference = ends.mean(axis=0) - starts.mean(axis=0)
    if np.linalg.norm(difference) < MIN_DIFFERENCE:
        raise invalid(field, "the two poles have the same mean: no direction")
    direction = difference / np.linalg.norm(difference)
    from_projections, to_projections = starts @ direction, ends @ direction
    # Share along the direction of the variance of every (to - from) difference:
    # sum_ij ((e_j - s_i).d)^2 / sum_ij |e_j - s_i|^2, without forming the m x n pairs.
    m, n = len(starts), len(ends)
    along = (
        m * (to_projections**2).sum()
        + n * (from_projections**2).sum()
        - 2 * from_projections.sum() * to_projections.sum()
    )
    total = m * (ends**2).sum() + n * (starts**2).sum() - 2 * starts.sum(axis=0) @ ends.sum(axis=0)
    return DefinedDirection(
        direction.astype(np.float32),
        float(along / total),
        [],
        from_projections.tolist(),
        to_projections.tolist(),
    )


def removal_for(
    space: Space,
    specs: Sequence[DirectionSpec],
    limits: Limits,
    book: DirectionBook | None,
    field: str = "options.remove",
) -> Removal | None:
    """The directions to remove from a query's vectors, as one basis (None: none)."""
    if not specs:
        return None
    defined = define_all(space, specs, limits, book, field)
    return Removal(orthonormal_basis([d.vector for d in defined]))
