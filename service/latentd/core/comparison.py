"""Comparisons between terms: Similarity (every term of one list with every term of the
other) and DoesntMatch (the odd one out)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentd.core.checks import check_count
from latentd.core.direction_book import DirectionBook
from latentd.core.directions import removal_for
from latentd.core.geometry import unit
from latentd.core.limits import Limits
from latentd.core.space import Space
from latentd.core.terms import TermResolver
from latentd.core.types import DirectionSpec, DoesntMatchResult, SimilarityResult, Term


def similarity(
    space: Space,
    a: Sequence[Term],
    b: Sequence[Term],
    limits: Limits,
    *,
    remove: Sequence[DirectionSpec] = (),
    directions: DirectionBook | None = None,
) -> SimilarityResult:
    """Cosines of every a with every b; with `remove`, of their neutralised vectors."""
    check_count(a, "a", limits.max_inputs)
    check_count(b, "b", limits.max_inputs)
    resolver = TermResolver(space, limits)
    ha, hb = resolver.add(a, "a", 1.0), resolver.add(b, "b", 1.0)
    resolver.resolve()
    ga, gb = resolver.group(ha), resolver.group(hb)
    va, vb = ga.vectors, gb.vectors
    removal = removal_for(space, remove, limits, directions, "remove")
    if removal is not None:
        va = removal.unit_vectors(va, [f"a[{i}]" for i in range(len(va))])
        vb = removal.unit_vectors(vb, [f"b[{i}]" for i in range(len(vb))])
    return SimilarityResult(va @ vb.T, ga.resolved, gb.resolved)


def doesnt_match(space: Space, terms: Sequence[Term], limits: Limits) -> DoesntMatchResult:
    """gensim's doesnt_match: the term whose unit vector is furthest from the mean."""
    check_count(terms, "terms", limits.max_terms, least=2)
    resolver = TermResolver(space, limits)
    handle = resolver.add(terms, "terms", 1.0)
    resolver.resolve()
    group = resolver.group(handle)
    mean = unit(group.vectors.mean(axis=0))
    scores = group.vectors @ mean
    odd = int(np.argmin(scores))
    return DoesntMatchResult(odd, group.resolved[odd].key, float(scores[odd]), group.resolved)
