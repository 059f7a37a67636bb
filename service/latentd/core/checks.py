"""Argument checks shared by the operations: counts, texts, vectors, search options and
the work a search may cost. Each raises InvalidArgument (or FailedPrecondition, NotReady)
naming the field and the limit; nothing has been done when one fails."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentd.core.errors import FailedPrecondition, NotReady, invalid
from latentd.core.limits import Limits
from latentd.core.search import QueryBatch
from latentd.core.space import Space
from latentd.core.types import AnalogyMethod, IndexState, QueryOptions


def check_k(k: int, limits: Limits, name: str = "k") -> None:
    if not 1 <= k <= limits.max_k:
        raise invalid(name, f"must be between 1 and {limits.max_k}, got {k}")


def check_options(options: QueryOptions, limits: Limits) -> None:
    if options.ef < 0 or options.ef > limits.max_ef:
        raise invalid(
            "options.ef",
            f"must be between 0 (server default) and {limits.max_ef}, got {options.ef}",
        )
    if options.restrict < 0:
        raise invalid(
            "options.restrict", f"must be 0 (all keys) or positive, got {options.restrict}"
        )


def check_count(items: Sequence[object], name: str, most: int, least: int = 1) -> None:
    if len(items) < least:
        raise invalid(
            name,
            "must not be empty"
            if least == 1
            else f"needs at least {least} items, got {len(items)}",
        )
    if len(items) > most:
        raise invalid(name, f"at most {most} items, got {len(items)}")


def check_text(text: str, name: str, limits: Limits) -> None:
    if not text.strip():
        raise invalid(name, "must not be empty")
    if len(text) > limits.max_text_chars:
        raise invalid(name, f"at most {limits.max_text_chars} characters, got {len(text)}")


def check_vector(values: np.ndarray, name: str, dimension: int) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32).reshape(-1)
    if len(vector) != dimension:
        raise invalid(name, f"expected {dimension} values, got {len(vector)}")
    if not np.all(np.isfinite(vector)):
        raise invalid(name, "contains NaN or Inf")
    if not np.any(vector):
        raise invalid(name, "is all zeros (it has no direction)")
    return vector


def check_searchable(space: Space) -> None:
    if not space.has_keys:
        raise FailedPrecondition(
            f"space {space.name!r} is a {space.kind} model: it has no keys to search "
            "(use a word space, or Encode / Similarity with this model)"
        )


def check_search(
    space: Space, queries: Sequence[object], k: int, options: QueryOptions, limits: Limits
) -> None:
    """The checks every batch search starts with."""
    check_searchable(space)
    check_k(k, limits)
    check_options(options, limits)
    check_count(queries, "queries", limits.max_batch)
    check_results(len(queries), k, limits)


def check_results(queries: int, k: int, limits: Limits) -> None:
    if queries * k > limits.max_results:
        raise invalid(
            "k",
            f"{queries} queries x k={k} asks for {queries * k} neighbours; at "
            f"most {limits.max_results} in one request (lower k or split the batch)",
        )


def check_removed_cosmul_work(
    space: Space, batch: QueryBatch, options: QueryOptions, limits: Limits
) -> None:
    """3CosMul with removed directions scores every key for every term, index or not."""
    keys = min(options.restrict, space.size) if options.restrict > 0 else space.size
    scores = len(batch) * keys * batch.terms.shape[1]
    if scores > limits.max_exact_scores:
        raise invalid(
            "options.remove",
            f"3CosMul with removed directions scores every key exactly: {len(batch)} queries "
            f"x {keys} keys x {batch.terms.shape[1]} terms = {scores:,} scores, at most "
            f"{limits.max_exact_scores:,} in one request (use COSADD, a smaller restrict, "
            "or split the batch)",
        )


def check_exact_work(
    space: Space, batch: QueryBatch, method: AnalogyMethod, options: QueryOptions, limits: Limits
) -> None:
    """An exact search scores every key searched for every query (and every term, for
    3CosMul): bound that work, since a request that asks for it may cost minutes."""
    if not options.exact and space.index_state is IndexState.HNSW:
        return
    keys = min(options.restrict, space.size) if options.restrict > 0 else space.size
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    scores = len(batch) * keys * terms
    if scores <= limits.max_exact_scores:
        return
    per_term = f" x {terms} terms" if terms > 1 else ""
    work = (
        f"{len(batch)} queries x {keys} keys{per_term} = {scores:,} scores, at most "
        f"{limits.max_exact_scores:,} in one request"
    )
    if options.exact:
        raise invalid(
            "options.exact",
            f"an exact search of {work} (search the HNSW index, "
            "set a smaller restrict, or split the batch)",
        )
    if space.index_state is IndexState.BUILDING:
        raise NotReady(
            f"space {space.name!r} is still building its HNSW index and searches "
            f"exactly until then: {work}; retry when ListModels reports HNSW, or "
            "split the batch"
        )
    raise invalid(
        "queries",
        f"space {space.name!r} has no HNSW index and searches exactly: {work}; split the batch",
    )
