"""The blocked top-k selection against a plain sort."""

from __future__ import annotations

import numpy as np
import pytest

from latentd.core.search import TOP_K_BLOCK, _top_k


@pytest.mark.parametrize("k", [1, 3, 17, 40])
@pytest.mark.parametrize("m", [TOP_K_BLOCK * 160, TOP_K_BLOCK * 160 + 77])
def test_top_k_equals_a_full_sort(k: int, m: int) -> None:
    rng = np.random.default_rng(k + m)
    scores = rng.normal(size=(30, m)).astype(np.float32)
    scores[:, rng.choice(m, 500, replace=False)] = -np.inf  # excluded keys
    scores[0, : m - 2] = -np.inf  # a row with fewer finite scores than k
    rows, top = _top_k(scores.copy(), k)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    expected_scores = np.take_along_axis(scores, expected, axis=1)
    np.testing.assert_array_equal(top, expected_scores)
    np.testing.assert_array_equal(rows, np.where(np.isfinite(expected_scores), expected, -1))
