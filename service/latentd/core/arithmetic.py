"""Arithmetic over a space: Analogy (3CosAdd, 3CosMul), Nearest and Interpolate. Each
checks its input against the limits, resolves the terms (naming every unknown key at
once), then searches the space with all its queries as one matrix batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentd.core.checks import (
    check_count,
    check_exact_work,
    check_k,
    check_options,
    check_removed_cosmul_work,
    check_results,
    check_search,
    check_searchable,
)
from latentd.core.direction_book import DirectionBook
from latentd.core.directions import removal_for
from latentd.core.errors import invalid
from latentd.core.geometry import interpolation_path
from latentd.core.limits import Limits
from latentd.core.removal import search_removed
from latentd.core.search import Hits, QueryBatch
from latentd.core.space import Space
from latentd.core.terms import TermResolver
from latentd.core.types import (
    AnalogyMethod,
    InterpolateResult,
    InterpolationPath,
    InterpolationPoint,
    Neighbor,
    QueryOptions,
    SearchResult,
    Term,
)

# The defaults of the operations: the API leaves them unset unless a caller sets them.
DEFAULT_K = 10
DEFAULT_STEPS = 5
DEFAULT_OPTIONS = QueryOptions()


def neighbors(space: Space, hits: Hits) -> list[list[Neighbor]]:
    """Each query's neighbours. Converted to Python numbers once for the whole batch:
    numpy scalars one by one cost more than the search of a query."""
    keys = space.keys
    return [
        [Neighbor(keys[r], s) for r, s in zip(rows, scores, strict=True) if r >= 0]
        for rows, scores in zip(hits.rows.tolist(), hits.scores.tolist(), strict=True)
    ]


def search(
    space: Space,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod,
    options: QueryOptions,
    limits: Limits,
    names: Sequence[str],
    directions: DirectionBook | None,
) -> Hits:
    """The space's search, or with options.remove the search of the space without those
    directions (core/removal.py). `names` name each query in errors."""
    removal = removal_for(space, options.remove, limits, directions)
    if removal is None:
        check_exact_work(space, batch, method, options, limits)
        return space.search(
            batch, k, method, exact=options.exact, restrict=options.restrict, ef=options.ef
        )
    if method is AnalogyMethod.COSMUL:
        # 3CosMul has no index path once directions are removed: bounded as exact work.
        check_removed_cosmul_work(space, batch, options, limits)
    else:
        check_exact_work(space, batch, method, options, limits)
    neutral = removal.batch(batch, names)

    def probe(queries: QueryBatch, wide: int) -> Hits:
        return space.search(
            queries,
            wide,
            AnalogyMethod.COSADD,
            exact=False,
            restrict=options.restrict,
            ef=options.ef,
        )

    mask = space.key_mask(options.restrict)
    return search_removed(space, neutral, k, method, removal, mask, probe, exact=options.exact)


def search_points(
    space: Space,
    points: np.ndarray,
    exclude_rows: Sequence[int],
    k: int,
    options: QueryOptions,
    limits: Limits,
    directions: DirectionBook | None,
) -> Hits:
    """The k nearest keys of each unit point of a path (Interpolate, Navigate), the keys
    at `exclude_rows` left out of every answer."""
    n = len(points)
    exclude = np.array([list(exclude_rows)] * n, dtype=np.int64).reshape(n, len(exclude_rows))
    batch = QueryBatch(points, points[:, None, :], np.ones((n, 1), np.float32), exclude)
    names = [f"points[{i}]" for i in range(n)]
    return search(space, batch, k, AnalogyMethod.COSADD, options, limits, names, directions)


def analogy(
    space: Space,
    queries: Sequence[tuple[Sequence[Term], Sequence[Term]]],
    limits: Limits,
    *,
    k: int = DEFAULT_K,
    method: AnalogyMethod = AnalogyMethod.COSADD,
    options: QueryOptions = DEFAULT_OPTIONS,
    prefix: str = "",
    directions: DirectionBook | None = None,
) -> list[SearchResult]:
    """`prefix` names the fields of a batch (`queries[i].`); empty for a single query.
    `directions`: the saved directions that options.remove may name."""
    check_search(space, queries, k, options, limits)
    resolver = TermResolver(space, limits)
    handles, names = [], []
    for i, (positive, negative) in enumerate(queries):
        name = prefix.format(i=i) if prefix else ""
        check_count(positive, f"{name}positive", limits.max_terms)
        check_count(negative, f"{name}negative", limits.max_terms, least=0)
        handles.append(
            (
                resolver.add(positive, f"{name}positive", 1.0),
                resolver.add(negative, f"{name}negative", -1.0),
            )
        )
        names.append(f"{name}positive")
    resolver.resolve()
    batch = resolver.batch(handles, names, options.include_inputs)
    hits = search(space, batch, k, method, options, limits, names, directions)
    return [
        SearchResult(found, [resolver.resolved(p), resolver.resolved(n)], hits.searched_with)
        for found, (p, n) in zip(neighbors(space, hits), handles, strict=True)
    ]


def nearest(
    space: Space,
    queries: Sequence[Sequence[Term]],
    limits: Limits,
    *,
    k: int = DEFAULT_K,
    options: QueryOptions = DEFAULT_OPTIONS,
    prefix: str = "",
    directions: DirectionBook | None = None,
) -> list[SearchResult]:
    check_search(space, queries, k, options, limits)
    resolver = TermResolver(space, limits)
    handles, names = [], []
    for i, query in enumerate(queries):
        name = f"{prefix.format(i=i)}query" if prefix else "query"
        check_count(query, name, limits.max_terms)
        handles.append(resolver.add(query, name, 1.0))
        names.append(name)
    resolver.resolve()
    batch = resolver.batch([[h] for h in handles], names, options.include_inputs)
    hits = search(space, batch, k, AnalogyMethod.COSADD, options, limits, names, directions)
    return [
        SearchResult(found, [resolver.resolved(h)], hits.searched_with)
        for found, h in zip(neighbors(space, hits), handles, strict=True)
    ]


def interpolate(
    space: Space,
    start: Term,
    end: Term,
    limits: Limits,
    *,
    steps: int = DEFAULT_STEPS,
    path: InterpolationPath = InterpolationPath.LERP,
    k: int = DEFAULT_K,
    options: QueryOptions = DEFAULT_OPTIONS,
    directions: DirectionBook | None = None,
) -> InterpolateResult:
    """With options.remove, the path runs between the neutralised ends: every point
    then lies in the space without those directions."""
    check_searchable(space)
    check_k(k, limits)
    check_options(options, limits)
    if not 2 <= steps <= limits.max_steps:
        raise invalid(
            "steps", f"must be between 2 and {limits.max_steps} (both ends included), got {steps}"
        )
    check_results(steps, k, limits)
    resolver = TermResolver(space, limits)
    a_handle = resolver.add([start], "start", 1.0)
    b_handle = resolver.add([end], "end", 1.0)
    resolver.resolve()
    a, b = resolver.group(a_handle), resolver.group(b_handle)
    start_vector, end_vector = a.vectors[0], b.vectors[0]
    removal = removal_for(space, options.remove, limits, directions)
    if removal is not None:
        start_vector, end_vector = removal.unit_vectors(
            np.vstack([start_vector, end_vector]), ["start", "end"]
        )
    ts = np.linspace(0.0, 1.0, steps, dtype=np.float64)
    points = interpolation_path(
        start_vector.astype(np.float64), end_vector.astype(np.float64), ts, path
    ).astype(np.float32)
    rows = [] if options.include_inputs else sorted(set(a.rows + b.rows))
    hits = search_points(space, points, rows, k, options, limits, directions)
    return InterpolateResult(
        [
            InterpolationPoint(float(t), points[i], found)
            for i, (t, found) in enumerate(zip(ts, neighbors(space, hits), strict=True))
        ],
        a.resolved[0],
        b.resolved[0],
        hits.searched_with,
    )
