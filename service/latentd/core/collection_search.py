"""Search (and Recommend) over a collection: the query and the positive terms pull, the
negative terms push, exactly as in Analogy; the same term resolution and the same
combined vector, then the collection's own search with its filter."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from latentd.core.arithmetic import DEFAULT_K, DEFAULT_OPTIONS
from latentd.core.checks import check_count, check_exact_work, check_k, check_options
from latentd.core.collection import MAX_RAW_NORM
from latentd.core.direction_book import DirectionBook
from latentd.core.directions import removal_for
from latentd.core.documents import Filter, Hit, Metric, SearchHits, SearchQuery
from latentd.core.errors import invalid
from latentd.core.filters import check_filter
from latentd.core.limits import Limits
from latentd.core.removal import search_removed
from latentd.core.search import Hits, QueryBatch
from latentd.core.terms import ResolvedTerms, TermResolver, build_batch
from latentd.core.types import AnalogyMethod, QueryOptions, Term

if TYPE_CHECKING:
    from latentd.core.collections import AnyCollection


def search(
    collection: AnyCollection,
    queries: Sequence[SearchQuery],
    limits: Limits,
    *,
    k: int = DEFAULT_K,
    filter: Filter | None = None,
    options: QueryOptions = DEFAULT_OPTIONS,
    with_text: bool = False,
    with_metadata: bool = False,
    with_vector: bool = False,
    score_threshold: float | None = None,
    prefix: str = "",
    directions: DirectionBook | None = None,
) -> list[SearchHits]:
    """`prefix` names the fields of a batch (`queries[i].`); empty for a single query.
    With options.remove, the search of the collection without those directions."""
    check_k(k, limits)
    check_options(options, limits)
    check_count(queries, "queries", limits.max_batch)
    if score_threshold is not None and math.isnan(score_threshold):
        # Every comparison with NaN is false: it would silently drop every hit.
        raise invalid("score_threshold", "must be a number, got NaN")
    if filter is not None:
        check_filter(filter)
    resolver = TermResolver(collection, limits)
    handles, names = [], []
    for i, query in enumerate(queries):
        name = prefix.format(i=i)
        positive: list[Term] = [query.query] if query.query is not None else []
        positive += query.positive
        if not positive and not query.negative:
            raise invalid(f"{name}query", "needs a text, a vector, an id or positive terms")
        check_count(positive, f"{name}positive", limits.max_terms, least=0)
        check_count(query.negative, f"{name}negative", limits.max_terms, least=0)
        handles.append(
            (
                resolver.add(positive, f"{name}positive", 1.0),
                resolver.add(query.negative, f"{name}negative", -1.0),
            )
        )
        names.append(f"{name}query")
    resolver.resolve()
    # Cosine works on unit vectors; dot and L2 on the vectors as given.
    unit = collection.settings.metric is Metric.COSINE
    groups = []
    for pos, neg in handles:
        p, n = resolver.group(pos, normalize=unit), resolver.group(neg, normalize=unit)
        groups.append(p.joined(n))
    batch = (
        build_batch(groups, names, options.include_inputs)
        if unit
        else _raw_batch(groups, names, options.include_inputs)
    )
    check_exact_work(collection, batch, AnalogyMethod.COSADD, options, limits)
    removal = removal_for(collection, options.remove, limits, directions)
    if removal is None:
        hits = collection.search(
            batch,
            k,
            AnalogyMethod.COSADD,
            exact=options.exact,
            restrict=options.restrict,
            ef=options.ef,
            filter=filter,
        )
    else:

        def probe(queries: QueryBatch, wide: int) -> Hits:
            return collection.search(
                queries,
                wide,
                AnalogyMethod.COSADD,
                exact=False,
                restrict=0,
                ef=options.ef,
                filter=filter,
            )

        hits = search_removed(
            collection,
            removal.batch(batch, names),
            k,
            AnalogyMethod.COSADD,
            removal,
            collection.key_mask(options.restrict, filter),
            probe,
            exact=options.exact,
        )
    results = []
    for rows, scores in zip(hits.rows, hits.scores, strict=True):
        keep = [
            (int(r), float(s))
            for r, s in zip(rows, scores, strict=True)
            if r >= 0 and (score_threshold is None or s >= score_threshold)
        ]
        documents = collection.documents_at([r for r, _ in keep], with_vector=with_vector)
        results.append(
            SearchHits(
                [
                    Hit(
                        doc.id,
                        score,
                        doc.text if with_text else "",
                        doc.metadata if with_metadata else {},
                        doc.vector,
                    )
                    for (_, score), doc in zip(keep, documents, strict=True)
                    if doc is not None
                ],
                hits.searched_with,
            )
        )
    return results


def _raw_batch(
    groups: Sequence[ResolvedTerms], names: Sequence[str], include_inputs: bool
) -> QueryBatch:
    """build_batch's shape without normalising: the weighted mean of the vectors as
    given (dot and L2 collections score lengths too)."""
    unit_batch = build_batch(groups, names, include_inputs)  # checks, padding, exclusions
    # Weights scaled to a total |weight| of 1 first, in float64, so none overflows.
    weights = unit_batch.weights.astype(np.float64)
    weights /= np.abs(weights).sum(axis=1, keepdims=True)
    combined = np.einsum("nt,ntd->nd", weights, unit_batch.terms)
    lengths = np.linalg.norm(combined, axis=1)
    for name, length in zip(names, lengths, strict=True):
        if length > MAX_RAW_NORM:
            raise invalid(
                name,
                f"is longer than {MAX_RAW_NORM:.0e}: the scores of a dot or L2 collection "
                "would overflow",
            )
    return QueryBatch(
        combined.astype(np.float32), unit_batch.terms, unit_batch.weights, unit_batch.exclude
    )
