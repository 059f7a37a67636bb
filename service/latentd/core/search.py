"""Top-k search over a word space for a batch of queries, as matrix work.

Two scorers: COSADD ranks keys by cosine with the combined query vector (gensim
`most_similar`); COSMUL by the product of shifted cosines with the positive terms over
that of the negative ones (gensim `most_similar_cosmul`, Levy & Goldberg 2014, eq. 4).

Two paths: exact scores every candidate key with one matrix product per chunk of
queries; HNSW takes candidates for the combined vector from the index (one knn_query
for the whole batch) and reranks them exactly with the same scorer. A query whose
candidates run short after exclusions and `restrict` is answered exactly instead.

With `restrict`, the path is chosen by estimated cost: to find k keys among the first
`restrict` of N, HNSW must be asked for about k * N / restrict candidates, so a small
`restrict` or a large k makes it dearer than scoring those `restrict` rows exactly.
CPU ms for 100 COSADD queries on GloVe 6B 50d (N = 400k, 2 cores), exact over the first
`restrict` rows / HNSW with the widened probe (its size in brackets; * estimated from
fewer queries):

    restrict   k=1               k=10               k=100               k=1000
    10         0.06/10456*(80k)  0.09/35593*(400k)  -                   -
    100        0.11/932 (8k)     0.11/5728*(44k)    0.36/35325*(400k)   -
    1k         15/109 (808)      16/594 (4.4k)      15/5554*(40k)       22/36061*(400k)
    10k        16/34 (88)        17/77 (448)        16/535 (4k)         21/5045*(40k)
    50k        29/33 (24)        31/26 (96)         33/104 (816)        63/960 (8k)
    100k       61/39 (16)        58/37 (52)         97/57 (412)         62/489 (4k)
    300k       165/29 (11)       159/35 (23)        170/33 (143)        258/165 (1343)
    (all) 400k 215/23 (2)        217/23 (11)        288/23 (101)        309/121 (1001)

HNSW costs about 1 us per candidate, and searches at least its default ef (128) deep;
exact about 5 ns per row in a batch (20 ns for a lone query). 3CosMul (3 terms) costs
about 30 ns per row exactly and 3 us per candidate (two probes) with HNSW.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentd.core.cancellation import checkpoint
from latentd.core.types import AnalogyMethod, IndexState

if TYPE_CHECKING:  # word_space.py calls search(); the import would be circular
    from latentd.core.word_space import WordSpace

# Memory for one chunk of the score matrix (queries x keys x terms), in bytes.
CHUNK_BYTES = 256 * 1024 * 1024
# 3CosMul's best key is often far down 3CosAdd's list (rank > 100 for 1 question in 10
# on GloVe 50d): it favours keys far from the negative terms. Candidates therefore also
# come from a second probe with the negative weights multiplied by this factor; on
# GloVe the union of 50 from each held the 3CosMul best for all of 300 sampled questions.
COSMUL_NEGATIVE_BOOST = 2.0
# hnswlib searches max(ef, k) deep: 200 candidates a probe keep that breadth at 200 under
# the default ef of 128 (at 100, top-1 agreement with gensim's most_similar_cosmul fell
# from >= 0.99 to 0.983 on the e2e sample).
COSMUL_MIN_CANDIDATES = 200
# Columns per block in the blocked top-k selection.
TOP_K_BLOCK = 128
# gensim's guard against dividing by a zero negative product.
COSMUL_EPSILON = 1e-6
# Rows scored exactly for the CPU of one HNSW candidate (see the table above). With no
# ef given, hnswlib searches at least the index's default ef deep.
HNSW_COST_PER_CANDIDATE = 100
# Queries per hnswlib call: between calls the work stops if its caller has gone (10,000
# queries take seconds), and each call still spreads over every core.
PROBE_CHUNK = 1024


@dataclass(frozen=True)
class QueryBatch:
    """n queries in matrix form.

    combined: (n, d) unit vectors, the weighted mean of each query's unit term vectors.
    terms: (n, t, d) unit term vectors, zero-padded; weights: (n, t), 0 for padding.
    exclude: (n, e) rows never returned for the query, -1 padded.
    """

    combined: np.ndarray
    terms: np.ndarray
    weights: np.ndarray
    exclude: np.ndarray

    def __len__(self) -> int:
        return len(self.combined)

    def rows(self, sel: slice | np.ndarray) -> QueryBatch:
        return QueryBatch(self.combined[sel], self.terms[sel], self.weights[sel], self.exclude[sel])


@dataclass(frozen=True)
class Hits:
    """(n, k) rows of the space and their scores, best first; -1 where there is none."""

    rows: np.ndarray
    scores: np.ndarray
    searched_with: IndexState


def weighted_means(terms: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gensim's mean of each query: the weighted sum of its unit term vectors over the total
    |weight|, normalised. terms (n, t, d) zero-padded, weights (n, t) with 0 for padding.
    Returns the (n, d) unit means and the norms before normalising (0: terms cancel)."""
    # The weights are scaled to a total |weight| of 1 first: weights near float32's
    # limit (3e38) made the sum infinite, and the query NaN.
    total = np.abs(weights).astype(np.float64).sum(axis=1, keepdims=True)
    means = np.einsum("nt,ntd->nd", weights / np.where(total == 0, 1, total), terms)
    norms = np.linalg.norm(means, axis=1)
    return (means / np.maximum(norms, 1e-12)[:, None]).astype(np.float32), norms


def cosmul_scores(sims: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sims (n, t, m) cosines of each term with m keys; weights (n, t). Returns (n, m).
    A weight w raises that term's shifted cosine (1 + cos) / 2 to |w|: with weights +-1
    this is exactly gensim's formula.

    Memory-bound (millions of scores a query), so each score is touched few times: with
    weights +-1 the halving is one factor per row, not a division per score, and each
    term is multiplied in place into the positive or the negative product."""
    n, t, m = sims.shape
    w = weights.astype(np.float32)
    magnitude = np.abs(w)
    one = np.float32(1)
    if np.any((magnitude != 1) & (magnitude != 0)):
        shifted = ((sims + one) / 2) ** magnitude[:, :, None]
        pos_scale = neg_scale = np.ones(n, np.float32)
    else:
        shifted = sims + one
        pos_scale = np.float32(0.5) ** (w > 0).sum(axis=1, dtype=np.float32)
        neg_scale = np.float32(0.5) ** (w < 0).sum(axis=1, dtype=np.float32)
    pos = np.ones((n, m), np.float32)
    neg = np.ones((n, m), np.float32)
    for j in range(t):
        np.multiply(pos, shifted[:, j, :], out=pos, where=(w[:, j] > 0)[:, None])
        np.multiply(neg, shifted[:, j, :], out=neg, where=(w[:, j] < 0)[:, None])
    pos *= pos_scale[:, None]
    neg *= neg_scale[:, None]
    neg += np.float32(COSMUL_EPSILON)
    pos /= neg
    return pos


def search(
    space: WordSpace,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod = AnalogyMethod.COSADD,
    exact: bool = False,
    restrict: int = 0,
    ef: int = 0,
) -> Hits:
    limit = space.size if restrict <= 0 else min(restrict, space.size)
    k = min(k, limit)
    index = space.index
    wanted = _probe_size(space.size, limit, k + batch.exclude.shape[1], method)
    # Only `restrict` widens the probe; an unrestricted one stays within k + exclusions.
    if (
        exact
        or index is None
        or len(batch) == 0
        or (
            limit < space.size
            and _exact_is_cheaper(batch, method, limit, wanted, ef or index.default_ef)
        )
    ):
        rows, scores = _exact(space.unit[:limit], batch, k, method)
        return Hits(rows, scores, IndexState.EXACT)
    rows, scores = _hnsw(space, batch, k, method, limit, wanted, ef)
    if k == 0 or (rows[:, k - 1] >= 0).all():
        return Hits(rows, scores, IndexState.HNSW)  # every query has its k (the usual case)
    short = _short_rows(rows, batch.exclude, k, limit)
    if short.any():
        fix_rows, fix_scores = _exact(space.unit[:limit], batch.rows(short), k, method)
        rows[short], scores[short] = fix_rows, fix_scores
    return Hits(rows, scores, IndexState.HNSW)


def _exact(
    matrix: np.ndarray, batch: QueryBatch, k: int, method: AnalogyMethod
) -> tuple[np.ndarray, np.ndarray]:
    n, limit = len(batch), len(matrix)
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    per_chunk = max(1, CHUNK_BYTES // (limit * 4 * terms * 3))
    rows = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    for start in range(0, n, per_chunk):
        checkpoint()
        chunk = batch.rows(slice(start, start + per_chunk))
        if method is AnalogyMethod.COSMUL:
            c, t, d = chunk.terms.shape
            sims = (chunk.terms.reshape(c * t, d) @ matrix.T).reshape(c, t, limit)
            s = cosmul_scores(sims, chunk.weights)
        else:
            s = chunk.combined @ matrix.T
        mask_excluded(s, chunk.exclude)
        r, v = top_k(s, k)
        rows[start : start + len(chunk)], scores[start : start + len(chunk)] = r, v
    return rows, scores


def _probe_size(size: int, limit: int, wanted: int, method: AnalogyMethod) -> int:
    """Candidates to ask HNSW for so that `wanted` of them likely fall in the first
    `limit` of `size` keys."""
    if limit < size:
        # Candidates past `restrict` are dropped: ask for proportionally more.
        wanted = math.ceil(wanted * size / limit) + 8
    if method is AnalogyMethod.COSMUL:
        wanted = max(wanted, COSMUL_MIN_CANDIDATES)
    return min(wanted, size)


def _exact_is_cheaper(
    batch: QueryBatch, method: AnalogyMethod, limit: int, wanted: int, ef: int
) -> bool:
    """Whether scoring the first `limit` rows exactly costs less CPU than an HNSW probe
    for `wanted` candidates (per query; both grow linearly with the batch). This also
    bounds the probe: HNSW never asks for more than limit / HNSW_COST_PER_CANDIDATE."""
    breadth = max(wanted, ef)
    if method is AnalogyMethod.COSMUL:
        # Two probes; exact scores every term against every row.
        return 2 * breadth * HNSW_COST_PER_CANDIDATE > limit * batch.terms.shape[1]
    return breadth * HNSW_COST_PER_CANDIDATE > limit


def _hnsw(
    space: WordSpace,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod,
    limit: int,
    wanted: int,
    ef: int,
) -> tuple[np.ndarray, np.ndarray]:
    assert space.index is not None
    labels = _probe(space, batch.combined, wanted, ef)
    if method is AnalogyMethod.COSMUL:
        boosted = np.where(batch.weights < 0, batch.weights * COSMUL_NEGATIVE_BOOST, batch.weights)
        probe, _ = weighted_means(batch.terms, boosted)
        more = _probe(space, probe, wanted, ef)
        labels = _unique_rows(np.hstack([labels, more]))
        wanted = labels.shape[1]

    n = len(batch)
    rows = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    per_chunk = max(1, CHUNK_BYTES // (wanted * space.dimension * 4 * (terms + 1)))
    for start in range(0, n, per_chunk):
        checkpoint()
        stop = min(start + per_chunk, n)
        cand = labels[start:stop]
        chunk = batch.rows(slice(start, stop))
        vectors = space.unit[cand]  # (c, wanted, d); -1 (no candidate) is masked below
        if method is AnalogyMethod.COSMUL:
            sims = np.einsum("ntd,nkd->ntk", chunk.terms, vectors)
            s = cosmul_scores(sims, chunk.weights)
        else:
            s = np.einsum("nkd,nd->nk", vectors, chunk.combined)
        excluded = (cand[:, :, None] == chunk.exclude[:, None, :]).any(axis=2)
        s[excluded | (cand >= limit) | (cand < 0)] = -np.inf
        found, top = best_candidates(cand, s, k)
        rows[start:stop, : found.shape[1]] = found
        scores[start:stop, : found.shape[1]] = top
    return rows, scores


def best_candidates(
    candidates: np.ndarray, scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k best of its (n, c) candidate rows by their exact scores, best first
    (ties: in candidate order); -1 where the score is -inf (excluded, or no candidate)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    return np.where(np.isfinite(top), np.take_along_axis(candidates, order, axis=1), -1), top


def _probe(space: WordSpace, queries: np.ndarray, wanted: int, ef: int) -> np.ndarray:
    """HNSW candidate labels (n, wanted) for unit query vectors, a chunk at a time."""
    assert space.index is not None
    parts = []
    for start in range(0, len(queries), PROBE_CHUNK):
        checkpoint()
        labels, _ = space.index.query(queries[start : start + PROBE_CHUNK], wanted, ef)
        parts.append(labels)
    return np.vstack(parts)


def _unique_rows(labels: np.ndarray) -> np.ndarray:
    """Each row's labels with repeats replaced by -1."""
    ordered = np.sort(labels, axis=1)
    repeat = np.zeros_like(ordered, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return np.where(repeat, -1, ordered)


def mask_excluded(scores: np.ndarray, exclude: np.ndarray) -> None:
    limit = scores.shape[1]
    r, c = np.nonzero((exclude >= 0) & (exclude < limit))
    scores[r, exclude[r, c]] = -np.inf


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows' k best columns, best first, -1 where the score is -inf. The k best lie in the
    k blocks with the largest maxima, so a partition over those blocks replaces one over
    the whole row: one max-reduction pass instead of a selection over every score."""
    m = scores.shape[1]
    if k * TOP_K_BLOCK * 4 <= m:
        columns = _best_block_columns(scores, k)
        candidates = np.take_along_axis(scores, np.minimum(columns, m - 1), axis=1)
        candidates[columns >= m] = -np.inf
        part = _largest(candidates, k)
        part_columns = np.take_along_axis(columns, part, axis=1)
    elif k < m:
        candidates = scores
        part = part_columns = _largest(scores, k)
    else:
        candidates = scores
        part = part_columns = np.broadcast_to(np.arange(m), scores.shape)
    part_scores = np.take_along_axis(candidates, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    rows = np.take_along_axis(part_columns, order, axis=1)
    top = np.take_along_axis(part_scores, order, axis=1)
    return np.where(np.isfinite(top), rows, -1), top


def _largest(values: np.ndarray, k: int) -> np.ndarray:
    """Columns of each row's k largest values, in no order. (Selecting the last k of a
    row is several times faster in numpy than the first k of its negation.)"""
    width = values.shape[1]
    return np.argpartition(values, width - k, axis=1)[:, width - k :]


def _best_block_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """(n, k * TOP_K_BLOCK) columns of the k blocks with the largest maxima; columns past
    the row's end (in a short last block) are >= m."""
    n, m = scores.shape
    full = m // TOP_K_BLOCK
    block_max = scores[:, : full * TOP_K_BLOCK].reshape(n, full, TOP_K_BLOCK).max(axis=2)
    if m > full * TOP_K_BLOCK:
        tail = scores[:, full * TOP_K_BLOCK :].max(axis=1, keepdims=True)
        block_max = np.hstack([block_max, tail])
    blocks = _largest(block_max, k)
    return (blocks[:, :, None] * TOP_K_BLOCK + np.arange(TOP_K_BLOCK)).reshape(n, -1)


def _short_rows(rows: np.ndarray, exclude: np.ndarray, k: int, limit: int) -> np.ndarray:
    """Queries that got fewer hits than the space can give them."""
    found = (rows >= 0).sum(axis=1)
    in_range = np.sort(np.where((exclude >= 0) & (exclude < limit), exclude, -1), axis=1)
    first = np.ones_like(in_range, dtype=bool)
    first[:, 1:] = in_range[:, 1:] != in_range[:, :-1]
    excluded = ((in_range >= 0) & first).sum(axis=1)
    return found < np.minimum(k, limit - excluded)
