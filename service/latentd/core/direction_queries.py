"""The Directions operations: define and save a direction, project onto it (given terms,
or the keys at both ends of the space), walk along it, test associations (WEAT), and find
the principal axes of a set of terms. Written once against the Space protocol: a word
model, a sentence model (where only text terms exist) and a collection alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from latentd.core.arithmetic import DEFAULT_OPTIONS, neighbors, search_points
from latentd.core.association import WeatResult, check_equal_targets, weat
from latentd.core.checks import check_count, check_k, check_options, check_results, check_searchable
from latentd.core.direction_book import DirectionBook, SavedDirection, check_name
from latentd.core.directions import DefinedDirection, define, removal_for
from latentd.core.documents import Filter
from latentd.core.errors import invalid
from latentd.core.key_projections import projections
from latentd.core.limits import Limits
from latentd.core.space import Space
from latentd.core.terms import TermResolver
from latentd.core.types import (
    DirectionSpec,
    IndexState,
    Neighbor,
    QueryOptions,
    Resolved,
    Term,
)

DEFAULT_NAVIGATE_STEPS = 6
DEFAULT_STEP = 0.1
DEFAULT_NAVIGATE_K = 5
DEFAULT_COMPONENTS = 2


@dataclass(frozen=True)
class Projected:
    """Projections of given terms and, with `top`, the keys at both ends."""

    terms: list[tuple[Resolved, float]]
    from_end: list[Neighbor]  # lowest first
    to_end: list[Neighbor]  # highest first


@dataclass(frozen=True)
class NavigationPoint:
    offset: float
    projection: float
    vector: np.ndarray
    neighbors: list[Neighbor]


@dataclass(frozen=True)
class Navigation:
    points: list[NavigationPoint]
    start: Resolved
    searched_with: IndexState


@dataclass(frozen=True)
class Component:
    vector: np.ndarray
    explained_variance: float
    terms: list[tuple[Resolved, float]]  # lowest projection first


def define_direction(
    space: Space, direction: DirectionSpec, limits: Limits, directions: DirectionBook
) -> DefinedDirection:
    return define(space, direction, limits, directions)


def save_direction(
    space: Space,
    name: str,
    direction: DirectionSpec,
    limits: Limits,
    directions: DirectionBook,
    *,
    description: str = "",
    overwrite: bool = False,
) -> SavedDirection:
    """Define the direction and save it under `name` for the space."""
    check_name(name)
    if direction.kind == "name":
        raise invalid("direction", "give its pairs, poles or vector: a name is what is saved")
    if len(description) > limits.max_text_chars:
        raise invalid(
            "description", f"at most {limits.max_text_chars} characters, got {len(description)}"
        )
    defined = define(space, direction, limits, directions)
    entry = SavedDirection(
        space.name, name, direction, description, defined.explained_variance, defined.vector
    )
    directions.save(entry, overwrite)
    return entry


def project(
    space: Space,
    direction: DirectionSpec,
    limits: Limits,
    directions: DirectionBook,
    *,
    terms: Sequence[Term] = (),
    top: int = 0,
    restrict: int = 0,
    filter: Filter | None = None,
) -> Projected:
    """The projection of each term's unit vector onto the direction (its cosine with
    it), and with `top` the `top` keys at each end of the space."""
    if not terms and not top:
        raise invalid("terms", "give terms to project, top (the keys at each end), or both")
    check_count(terms, "terms", limits.max_inputs, least=0)
    if top:
        check_searchable(space)
        check_k(top, limits, "top")
    if restrict < 0:
        raise invalid("restrict", f"must be 0 (all keys) or positive, got {restrict}")
    vector = define(space, direction, limits, directions).vector
    projected: list[tuple[Resolved, float]] = []
    if terms:
        resolver = TermResolver(space, limits)
        handle = resolver.add(terms, "terms", 1.0)
        resolver.resolve()
        group = resolver.group(handle)
        projected = list(zip(group.resolved, (group.vectors @ vector).tolist(), strict=True))
    from_end: list[Neighbor] = []
    to_end: list[Neighbor] = []
    if top:
        mask = space.key_mask(restrict, filter)
        values = projections(space, vector[None, :])[: len(mask), 0]
        rows = np.flatnonzero(mask)
        low, high = _ends(values[rows], top)
        keys = space.keys
        from_end = [Neighbor(keys[int(rows[i])], float(values[rows[i]])) for i in low]
        to_end = [Neighbor(keys[int(rows[i])], float(values[rows[i]])) for i in high]
    return Projected(projected, from_end, to_end)


def _ends(values: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the `top` lowest values, lowest first, and of the `top` highest,
    highest first: two partitions, then a sort of only what they keep."""
    count = min(top, len(values))
    if count == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    low = np.argpartition(values, count - 1)[:count] if count < len(values) else np.arange(count)
    high = (
        np.argpartition(values, len(values) - count)[len(values) - count :]
        if count < len(values)
        else np.arange(count)
    )
    # Ties broken by position (row order: the more frequent key first), as a stable sort.
    low = low[np.lexsort((low, values[low]))]
    high = high[np.lexsort((high, -values[high]))]
    return low, high


def navigate(
    space: Space,
    start: Term,
    direction: DirectionSpec,
    limits: Limits,
    directions: DirectionBook,
    *,
    steps: int = DEFAULT_NAVIGATE_STEPS,
    step: float | None = None,
    target: float | None = None,
    k: int = DEFAULT_NAVIGATE_K,
    options: QueryOptions = DEFAULT_OPTIONS,
) -> Navigation:
    """Points start + offset * direction (the start as a unit vector, so an offset is in
    units of the start vector's norm) at offsets 0, step, ..., steps * step, or evenly
    spaced up to the offset where the point's cosine with the direction is `target`;
    each decoded to its k nearest keys, the start key excluded. With options.remove the
    walk runs in the space without those directions: the start and the direction are
    neutralised first (projections are on the neutralised direction)."""
    check_searchable(space)
    check_k(k, limits)
    check_options(options, limits)
    if not 1 <= steps < limits.max_steps:
        raise invalid("steps", f"must be between 1 and {limits.max_steps - 1}, got {steps}")
    check_results(steps + 1, k, limits)
    if step is not None and target is not None:
        raise invalid("target", "give step or target, not both")
    if step is None:
        step = DEFAULT_STEP
    if not np.isfinite(step) or step == 0:
        raise invalid("step", f"must be a finite non-zero number, got {step}")
    if target is not None and not -1 < target < 1:
        raise invalid("target", f"is a cosine with the direction: between -1 and 1, got {target}")
    vector = define(space, direction, limits, directions).vector.astype(np.float64)
    resolver = TermResolver(space, limits)
    handle = resolver.add([start], "start", 1.0)
    resolver.resolve()
    group = resolver.group(handle)
    origin = group.vectors[0].astype(np.float64)
    removal = removal_for(space, options.remove, limits, directions)
    if removal is not None:  # the walk runs in the space without those directions
        origin = removal.unit_vectors(origin[None, :], ["start"])[0].astype(np.float64)
        vector = removal.unit_vectors(vector[None, :], ["direction"])[0].astype(np.float64)
    along = float(origin @ vector)
    if target is None:
        offsets = step * np.arange(steps + 1, dtype=np.float64)
    else:
        # The point origin + o d has cosine (p + o) / sqrt(1 - p^2 + (p + o)^2) with d
        # (p: the origin's projection): solve for the o that gives `target`.
        if 1 - along**2 < 1e-9:
            raise invalid("start", "lies along the direction: a walk cannot turn its cosine")
        end = target * np.sqrt((1 - along**2) / (1 - target**2)) - along
        offsets = np.linspace(0.0, end, steps + 1)
    raw = origin[None, :] + offsets[:, None] * vector[None, :]
    lengths = np.linalg.norm(raw, axis=1)
    if (lengths < 1e-6).any():
        raise invalid("step", "a point of the walk is the zero vector: take another step")
    points = (raw / lengths[:, None]).astype(np.float32)
    exclude_rows = [] if options.include_inputs else group.rows
    hits = search_points(space, points, exclude_rows, k, options, limits, directions)
    cosines = (points.astype(np.float64) @ vector).tolist()
    return Navigation(
        [
            NavigationPoint(float(o), float(c), points[i], found)
            for i, (o, c, found) in enumerate(
                zip(offsets.tolist(), cosines, neighbors(space, hits), strict=True)
            )
        ],
        group.resolved[0],
        hits.searched_with,
    )


def associate(
    space: Space,
    targets_x: Sequence[Term],
    targets_y: Sequence[Term],
    attributes_a: Sequence[Term],
    attributes_b: Sequence[Term],
    limits: Limits,
    *,
    permutations: int = 0,
    seed: int = 0,
) -> WeatResult:
    """The Word Embedding Association Test over the terms' vectors (core/association)."""
    sets = {
        "targets_x": targets_x,
        "targets_y": targets_y,
        "attributes_a": attributes_a,
        "attributes_b": attributes_b,
    }
    for name, terms in sets.items():
        check_count(terms, name, limits.max_inputs)
    check_equal_targets(len(targets_x), len(targets_y))  # before any term is resolved
    resolver = TermResolver(space, limits)
    handles = {name: resolver.add(terms, name, 1.0) for name, terms in sets.items()}
    resolver.resolve()
    x, y, a, b = (resolver.group(handles[name]).vectors for name in sets)
    return weat(x, y, a, b, permutations=permutations, seed=seed)


def components(
    space: Space, terms: Sequence[Term], limits: Limits, *, n: int = DEFAULT_COMPONENTS
) -> list[Component]:
    """The first n principal axes of the terms' unit vectors (centred), each with the
    share of variance it explains and every term's coordinate along it. A component's
    sign makes its largest entry positive (scikit-learn's svd_flip, by the axes)."""
    check_count(terms, "terms", limits.max_inputs, least=2)
    most = min(len(terms) - 1, space.dimension)
    if not 1 <= n <= most:
        raise invalid("n", f"must be between 1 and {most} for {len(terms)} terms, got {n}")
    resolver = TermResolver(space, limits)
    handle = resolver.add(terms, "terms", 1.0)
    resolver.resolve()
    group = resolver.group(handle)
    centred = group.vectors.astype(np.float64) - group.vectors.mean(axis=0, dtype=np.float64)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    total = float((singular**2).sum())
    if total < 1e-12:
        raise invalid("terms", "all the terms have the same vector: there are no axes")
    result = []
    for i in range(n):
        axis = vt[i]
        if axis[int(np.argmax(np.abs(axis)))] < 0:
            axis = -axis
        coordinates = centred @ axis
        order = np.argsort(coordinates, kind="stable")
        result.append(
            Component(
                axis.astype(np.float32),
                float(singular[i] ** 2 / total),
                [(group.resolved[j], float(coordinates[j])) for j in order],
            )
        )
    return result
