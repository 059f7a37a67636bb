"""The Word Embedding Association Test (WEAT; Caliskan, Bryson and Narayanan, Science
2017): do the targets X associate with the attributes A (against B) more than the
targets Y do?

For a word w, s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b). The statistic is
s(X, Y, A, B) = sum_x s(x, A, B) - sum_y s(y, A, B), the effect size is
(mean_x s - mean_y s) / std_{w in X∪Y} s, and the one-sided p-value is the share of
the equal-size partitions (X_i, Y_i) of X∪Y whose statistic is at least the observed one.

A partition's statistic is 2 * (sum of s over X_i) - (sum of s over X∪Y), so the test
only needs the sum of s over each X-part: every partition is one row of indices into
the n + n associations, and a chunk of partitions is one gather and one row sum.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentd.core.cancellation import checkpoint
from latentd.core.errors import invalid

# Random partitions of X∪Y drawn when the partitions are too many to enumerate.
DEFAULT_PERMUTATIONS = 10_000
MAX_PERMUTATIONS = 1_000_000
# Index cells (partitions x |X|) gathered at a time, so memory stays bounded (8 MB of
# int64 indices) whatever the number of partitions.
CHUNK_CELLS = 1 << 20
# A partition is a hit when its X-part sum is >= the observed one minus this much (times
# the scale of the sums): a partition with the same words in another order, or with
# equal vectors swapped, must tie with the observed one although its float sum may differ
# in the last bits.
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class WeatResult:
    effect_size: float  # (mean_x s(x,A,B) - mean_y s(y,A,B)) / std_{w in X∪Y} s(w,A,B)
    p_value: float  # one-sided, permutation test over equal-size partitions of X∪Y
    statistic: float  # s(X,Y,A,B) = sum_x s(x,A,B) - sum_y s(y,A,B)
    exact: bool  # every partition enumerated
    partitions: int  # partitions evaluated (all of them when exact, else the samples)
    x_associations: np.ndarray  # s(x,A,B) per x, in order
    y_associations: np.ndarray


def weat(
    x: Any,
    y: Any,
    a: Any,
    b: Any,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> WeatResult:
    """x, y, a, b: (n, d) float32 arrays of vectors (any length; cosines are computed).

    X and Y must have the same size. The p-value is exact (every partition of X∪Y into
    two halves) when there are at most `permutations` partitions; otherwise it is
    estimated from `permutations` random partitions drawn with
    `numpy.random.default_rng(seed)`, so it is reproducible. `permutations` 0 means
    DEFAULT_PERMUTATIONS."""
    if permutations == 0:
        permutations = DEFAULT_PERMUTATIONS
    if not 1 <= permutations <= MAX_PERMUTATIONS:
        raise invalid(
            "permutations",
            f"must be between 1 and {MAX_PERMUTATIONS:,} (0 for the default "
            f"{DEFAULT_PERMUTATIONS:,}), got {permutations:,}",
        )
    sets = {"targets_x": x, "targets_y": y, "attributes_a": a, "attributes_b": b}
    units = {field: _unit_rows(field, vectors) for field, vectors in sets.items()}
    dimensions = {field: m.shape[1] for field, m in units.items()}
    if len(set(dimensions.values())) > 1:
        shown = ", ".join(f"{field} {d}" for field, d in dimensions.items())
        field = next(f for f, d in dimensions.items() if d != dimensions["targets_x"])
        raise invalid(field, f"every vector must have the same dimension, got {shown}")
    n = len(units["targets_x"])
    check_equal_targets(n, len(units["targets_y"]))

    targets = np.vstack([units["targets_x"], units["targets_y"]])
    associations = (targets @ units["attributes_a"].T).mean(axis=1) - (
        targets @ units["attributes_b"].T
    ).mean(axis=1)
    sx, sy = associations[:n], associations[n:]
    statistic = float(sx.sum() - sy.sum())
    # Population standard deviation (ddof=0), as wefe's WEAT effect size computes it
    # (np.std with its default ddof); Caliskan et al. write std_dev_{w in X∪Y}.
    std = float(associations.std())
    difference = float(sx.mean() - sy.mean())
    # All associations equal: no difference to measure (0/0), reported as 0.
    effect_size = difference / std if std > 0 else 0.0

    total = math.comb(2 * n, n)
    exact = total <= permutations
    if exact:
        hits, partitions = _exact_hits(associations, n), total
        # The observed partition is one of those enumerated and counts itself, so p > 0.
        p_value = hits / partitions
    else:
        hits, partitions = _sampled_hits(associations, n, permutations, seed), permutations
        # Phipson & Smyth (2010): the observed partition counts as one more sample.
        p_value = (1 + hits) / (1 + partitions)
    return WeatResult(
        effect_size=effect_size,
        p_value=p_value,
        statistic=statistic,
        exact=exact,
        partitions=partitions,
        x_associations=sx,
        y_associations=sy,
    )


def check_equal_targets(x_count: int, y_count: int) -> None:
    """X and Y are split into halves of the same size: they must hold as many terms."""
    if x_count != y_count:
        raise invalid(
            "targets_y",
            f"must hold as many terms as targets_x (the same size), got {x_count} and {y_count}",
        )


def _unit_rows(field: str, vectors: Any) -> np.ndarray:
    """float64 unit rows of one set; a zero vector stays zero (cosine 0 with everything,
    as scikit-learn's cosine_similarity, which wefe uses, gives)."""
    m = np.asarray(vectors, dtype=np.float64)
    if m.size == 0 and m.ndim <= 2 and (m.ndim < 2 or m.shape[0] == 0):
        raise invalid(field, "must hold at least one vector")
    if m.ndim != 2:
        raise invalid(field, f"must be a matrix of vectors (n, d), got shape {m.shape}")
    if m.shape[1] == 0:
        raise invalid(field, "vectors must have at least one dimension")
    if not np.isfinite(m).all():
        row = int(np.flatnonzero(~np.isfinite(m).all(axis=1))[0])
        raise invalid(field, f"vector {row} is not finite")
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1, norms)


def _threshold(associations: np.ndarray, n: int) -> float:
    """The X-part sum a partition needs to count as a hit: the observed one, less a
    tolerance for float rounding (the observed partition then always counts itself)."""
    observed = float(associations[:n].sum())
    return observed - RELATIVE_TOLERANCE * (1.0 + float(np.abs(associations).sum()))


def _exact_hits(associations: np.ndarray, n: int) -> int:
    """Partitions of the 2n associations into n + n whose X-part sum reaches the
    observed one, over every C(2n, n) choice of the X-part, a chunk at a time.
    itertools makes the index tuples in C and np.fromiter reads them without a Python
    step per partition."""
    threshold = _threshold(associations, n)
    combinations = itertools.chain.from_iterable(itertools.combinations(range(2 * n), n))
    chunk = max(1, CHUNK_CELLS // n)
    hits = 0
    while True:
        flat = np.fromiter(itertools.islice(combinations, chunk * n), dtype=np.intp)
        if flat.size == 0:
            return hits
        sums = associations[flat.reshape(-1, n)].sum(axis=1)
        hits += int(np.count_nonzero(sums >= threshold))
        checkpoint()


def _sampled_hits(associations: np.ndarray, n: int, samples: int, seed: int) -> int:
    """Hits among `samples` uniformly random X-parts (n of the 2n associations), drawn
    in chunks: the n smallest of 2n uniform keys per row are a uniform n-subset."""
    threshold = _threshold(associations, n)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // (2 * n))
    hits = 0
    for start in range(0, samples, chunk):
        rows = min(chunk, samples - start)
        keys = rng.random((rows, 2 * n))
        parts = np.argpartition(keys, n - 1, axis=1)[:, :n]
        sums = associations[parts].sum(axis=1)
        hits += int(np.count_nonzero(sums >= threshold))
        checkpoint()
    return hits
