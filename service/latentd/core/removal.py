"""Removing directions from a space's answers (hard debiasing's "neutralize", Bolukbasi et
al. 2016): every vector, query term and key alike, loses its component along the
directions and is renormalised, and the operation runs as usual in that space.

No index is rebuilt. With B the orthonormal basis of the removed directions, a unit key
v and a neutralised unit query q (q.B = 0):

    cos(q, v - B^T B v) = q.v / sqrt(1 - |B v|^2) = q.v / n(v)

so a neutralised score is the plain score with the neutralised query, divided by the
key's neutral norm n(v), cached per direction (key_projections). The index gives the
best keys by q.v; n(v) <= 1 can only raise a key, so a key outside the candidates
(q.v <= s_min, the lowest candidate score) can beat the k-th best neutralised score s_k
only if n(v) < s_min / s_k. Those few keys (the ones most aligned with the direction)
are scored exactly too, from the cached order of n: the result equals brute force over
neutralised vectors whenever the index's candidates are the true ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from latentd.core.cancellation import checkpoint
from latentd.core.checks import check_searchable
from latentd.core.errors import invalid
from latentd.core.key_projections import VANISHED, NeutralNorms, neutral_norms
from latentd.core.search import (
    CHUNK_BYTES,
    Hits,
    QueryBatch,
    best_candidates,
    cosmul_scores,
    mask_excluded,
    top_k,
    weighted_means,
)
from latentd.core.space import Space
from latentd.core.types import AnalogyMethod, IndexState

# Candidates asked of the index beyond k: room for the keys a removal lifts.
EXTRA_CANDIDATES = 50
# When more than this share of the keys would need exact scores, score them all.
EXACT_SHARE = 0.125


@dataclass(frozen=True)
class Removal:
    """The removed directions as an orthonormal basis (r, d)."""

    basis: np.ndarray

    def neutralised(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors (..., d) without their component in the basis (lengths not restored)."""
        return (vectors - (vectors @ self.basis.T) @ self.basis).astype(np.float32)

    def unit_vectors(self, vectors: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Neutralised unit vectors of unit `vectors` (n, d); InvalidArgument naming the
        first that lay along the removed directions."""
        out = self.neutralised(vectors)
        lengths = np.linalg.norm(out, axis=1)
        gone = np.flatnonzero(lengths < VANISHED)
        if len(gone):
            raise invalid(names[gone[0]], "lies along the removed directions: nothing is left")
        return (out / lengths[:, None]).astype(np.float32)

    def batch(self, batch: QueryBatch, names: Sequence[str]) -> QueryBatch:
        """The queries rebuilt from neutralised unit terms (padding stays zero)."""
        n, t, d = batch.terms.shape
        terms = self.neutralised(batch.terms.reshape(n * t, d)).reshape(n, t, d)
        lengths = np.linalg.norm(terms, axis=2)
        present = batch.weights != 0
        gone = present & (lengths < VANISHED)
        if gone.any():
            query, term = (int(x) for x in np.argwhere(gone)[0])
            raise invalid(
                f"{names[query]}, term {term}",
                "lies along the removed directions: nothing is left of it",
            )
        terms = np.where(present[:, :, None], terms / np.maximum(lengths, VANISHED)[:, :, None], 0)
        terms = terms.astype(np.float32)
        combined, norms = weighted_means(terms, batch.weights)
        cancelled = np.flatnonzero(norms < 1e-6)
        if len(cancelled):
            raise invalid(
                names[cancelled[0]],
                "the terms cancel out once the directions are removed",
            )
        return QueryBatch(combined, terms, batch.weights, batch.exclude)


def orthonormal_basis(directions: Sequence[np.ndarray]) -> np.ndarray:
    """(r, d) orthonormal rows spanning the directions (repeats and dependent ones add
    nothing): removing them one after another from a vector removes this span."""
    matrix = np.vstack(directions).astype(np.float64).T  # (d, n)
    q, r = np.linalg.qr(matrix)
    keep = np.abs(np.diag(r)) > 1e-6
    return np.ascontiguousarray(q[:, keep].T, dtype=np.float32)


Probe = Callable[[QueryBatch, int], Hits]


def search_removed(
    space: Space,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod,
    removal: Removal,
    mask: np.ndarray,
    probe: Probe | None,
    *,
    exact: bool,
) -> Hits:
    """The k best keys for each query of a batch already neutralised (Removal.batch) in
    the space without the removed directions. `mask`: the rows a search may return;
    `probe(batch, wide)`: the space's own search for the plain best `wide` keys."""
    check_searchable(space)
    if not space.unit_keys:
        raise invalid(
            "options.remove",
            f"{space.name!r} does not score by cosine: directions can be removed only "
            "from cosine spaces",
        )
    norms = neutral_norms(space, removal.basis)
    eligible = int(np.count_nonzero(mask))
    k = min(k, eligible)
    wide = min(k + EXTRA_CANDIDATES + max(k, batch.exclude.shape[1]), eligible)
    if (
        exact
        or probe is None
        or method is AnalogyMethod.COSMUL
        or space.index_state is not IndexState.HNSW
        or k == 0
    ):
        rows, scores = _exact(space, batch, k, method, norms.inverse, mask)
        return Hits(rows, scores, IndexState.EXACT)
    hits = probe(batch, wide)
    widened = _widened(space, batch, k, hits, norms, mask)
    if widened is None:  # the bound would need most keys: score them all
        rows, scores = _exact(space, batch, k, method, norms.inverse, mask)
        return Hits(rows, scores, IndexState.EXACT)
    return Hits(*widened, hits.searched_with)


def _exact(
    space: Space,
    batch: QueryBatch,
    k: int,
    method: AnalogyMethod,
    inverse: np.ndarray,
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Every eligible key scored: the plain scores times each key's 1 / n(v)."""
    matrix = space.key_matrix()
    size = len(mask)
    inverse = inverse[:size]
    n = len(batch)
    rows = np.full((n, k), -1, np.int64)
    scores = np.full((n, k), -np.inf, np.float32)
    terms = batch.terms.shape[1] if method is AnalogyMethod.COSMUL else 1
    per_chunk = max(1, CHUNK_BYTES // (max(size, 1) * 4 * terms * 3))
    for start in range(0, n, per_chunk):
        checkpoint()
        chunk = batch.rows(slice(start, start + per_chunk))
        if method is AnalogyMethod.COSMUL:
            c, t, d = chunk.terms.shape
            sims = (chunk.terms.reshape(c * t, d) @ matrix[:size].T).reshape(c, t, size)
            sims *= inverse
            s = cosmul_scores(sims, chunk.weights)
        else:
            s = (chunk.combined @ matrix[:size].T) * inverse
        s[:, ~mask] = -np.inf
        mask_excluded(s, chunk.exclude)
        found, top = top_k(s, k)
        rows[start : start + len(chunk)], scores[start : start + len(chunk)] = found, top
    return rows, scores


def _widened(
    space: Space,
    batch: QueryBatch,
    k: int,
    hits: Hits,
    norms: NeutralNorms,
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Rerank the index's candidates by neutralised score, then add every key whose
    neutral norm is small enough to beat the k-th (see the module's docstring)."""
    matrix = space.key_matrix()
    inverse = norms.inverse
    cand = hits.rows
    present = cand >= 0
    plain = np.where(present, hits.scores, -np.inf)
    neutral = np.where(present, plain * inverse[np.maximum(cand, 0)], -np.inf)
    got = present.sum(axis=1)
    complete = got < cand.shape[1]  # fewer than asked: every searchable key came back
    if complete.all():
        limit = 0.0
    else:
        kth = -np.sort(-neutral[~complete], axis=1)[:, k - 1]
        lowest = np.where(present, plain, np.inf)[~complete].min(axis=1)
        if (kth <= 0).any():
            return None
        limit = float((np.maximum(lowest, 0) / kth).max())  # keys with n < limit
    count = int(np.searchsorted(norms.sorted_norms, np.float32(limit), side="left"))
    if count > EXACT_SHARE * len(mask):
        return None
    extra = norms.order[:count]
    extra = extra[mask[extra]]
    all_rows, all_scores = cand, neutral
    if len(extra):
        checkpoint()
        extra_scores = (batch.combined @ matrix[extra].T) * inverse[extra]
        duplicate = np.zeros(extra_scores.shape, bool)
        for i in range(len(batch)):
            duplicate[i] = np.isin(extra, cand[i][present[i]])
            duplicate[i] |= np.isin(extra, batch.exclude[i])
        extra_scores[duplicate] = -np.inf
        all_rows = np.hstack([cand, np.broadcast_to(extra, (len(batch), len(extra)))])
        all_scores = np.hstack([neutral, extra_scores])
    rows, top = best_candidates(all_rows, all_scores, k)
    return rows, top.astype(np.float32)
