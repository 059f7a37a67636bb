"""The blocked top-k selection against a plain sort; the choice between exact and HNSW
search under `restrict`."""

from __future__ import annotations

import numpy as np
import pytest

from latentd.core.index import HnswParams
from latentd.core.search import (
    HNSW_COST_PER_CANDIDATE,
    TOP_K_BLOCK,
    QueryBatch,
    search,
    top_k,
    weighted_means,
)
from latentd.core.types import AnalogyMethod, IndexState
from latentd.core.word_space import WordSpace


@pytest.mark.parametrize("k", [1, 3, 17, 40])
@pytest.mark.parametrize("m", [TOP_K_BLOCK * 160, TOP_K_BLOCK * 160 + 77])
def test_top_k_equals_a_full_sort(k: int, m: int) -> None:
    rng = np.random.default_rng(k + m)
    scores = rng.normal(size=(30, m)).astype(np.float32)
    scores[:, rng.choice(m, 500, replace=False)] = -np.inf  # excluded keys
    scores[0, : m - 2] = -np.inf  # a row with fewer finite scores than k
    rows, top = top_k(scores.copy(), k)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    expected_scores = np.take_along_axis(scores, expected, axis=1)
    np.testing.assert_array_equal(top, expected_scores)
    np.testing.assert_array_equal(rows, np.where(np.isfinite(expected_scores), expected, -1))


# -- restrict: exact over the first keys when a widened HNSW probe would cost more -------


@pytest.fixture(scope="module")
def space() -> WordSpace:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    s = WordSpace("random", [f"w{i}" for i in range(len(vectors))], vectors)
    s.start_index(HnswParams(m=8, ef_construction=60), None, background=False)
    assert s.index is not None
    return s


def queries(space: WordSpace, n: int = 40) -> QueryBatch:
    """Queries for keys of the space, each excluding its own key (as Nearest does)."""
    rows = np.random.default_rng(n).choice(space.size, n, replace=False)
    unit = space.unit[rows]
    return QueryBatch(
        unit, unit[:, None, :], np.ones((n, 1), np.float32), rows[:, None].astype(np.int64)
    )


def brute_force(
    space: WordSpace, batch: QueryBatch, k: int, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    scores = batch.combined @ space.unit[:limit].T
    for i, excluded in enumerate(batch.exclude):
        scores[i, excluded[(excluded >= 0) & (excluded < limit)]] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    return np.where(np.isfinite(top), order, -1), top


@pytest.fixture
def probes(space: WordSpace, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The candidate counts the space's HNSW index is asked for."""
    assert space.index is not None
    asked: list[int] = []
    real_query = space.index.query

    def recording_query(queries: np.ndarray, k: int, ef: int = 0):  # type: ignore[no-untyped-def]
        asked.append(k)
        return real_query(queries, k, ef)

    monkeypatch.setattr(space.index, "query", recording_query)
    return asked


@pytest.mark.parametrize("restrict", [1, 2, 7, 50, 400])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_small_restrict_scores_the_first_keys_exactly(
    space: WordSpace, probes: list[int], restrict: int, k: int
) -> None:
    batch = queries(space)
    hits = search(space, batch, k, restrict=restrict)
    assert hits.searched_with is IndexState.EXACT
    assert probes == []  # the index was not asked at all
    expected_rows, expected_scores = brute_force(space, batch, min(k, restrict), restrict)
    np.testing.assert_array_equal(hits.rows, expected_rows)
    np.testing.assert_allclose(hits.scores, expected_scores, rtol=1e-5, atol=1e-6)


def test_small_restrict_with_cosmul_is_exact(space: WordSpace, probes: list[int]) -> None:
    rng = np.random.default_rng(5)
    rows = rng.choice(space.size, (20, 3), replace=False)
    terms = space.unit[rows]
    weights = np.tile(np.array([1, 1, -1], np.float32), (20, 1))
    combined, _ = weighted_means(terms, weights)
    batch = QueryBatch(combined, terms, weights, rows.astype(np.int64))
    hits = search(space, batch, 10, AnalogyMethod.COSMUL, restrict=300)
    expected = search(space, batch, 10, AnalogyMethod.COSMUL, exact=True, restrict=300)
    assert hits.searched_with is IndexState.EXACT and probes == []
    np.testing.assert_array_equal(hits.rows, expected.rows)
    np.testing.assert_array_equal(hits.scores, expected.scores)


@pytest.mark.parametrize("k", [1, 10, 100])
def test_restricted_hnsw_probe_is_bounded_by_the_exact_cost(
    space: WordSpace, probes: list[int], k: int
) -> None:
    # A small ef lets HNSW win for the larger restricts of this small space too.
    batch = queries(space)
    paths = set()
    for restrict in [1, 3, 10, 30, 100, 300, 1000, 2000, 2900]:
        probes.clear()
        hits = search(space, batch, k, restrict=restrict, ef=8)
        paths.add(hits.searched_with)
        # Never more candidates than a scan of the first `restrict` keys is worth.
        assert all(p * HNSW_COST_PER_CANDIDATE <= restrict for p in probes), (restrict, probes)
        assert hits.rows.max() < restrict
        if hits.searched_with is IndexState.EXACT:
            assert probes == []
            expected_rows, _ = brute_force(space, batch, min(k, restrict), restrict)
            np.testing.assert_array_equal(hits.rows, expected_rows)
    assert IndexState.EXACT in paths
    if k < 100:  # k=100 is dearer through HNSW for every restrict of 3000 keys
        assert IndexState.HNSW in paths


def test_the_path_under_restrict_follows_the_index_default_ef() -> None:
    """With no ef in the request, the cost of HNSW is judged at the index's own default
    ef: a shallow default makes a probe cheaper than scoring 2,000 rows, a deep one not."""
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    paths = {}
    for default_ef in (8, 200):
        s = WordSpace("random", [f"w{i}" for i in range(len(vectors))], vectors)
        s.start_index(HnswParams(m=8, ef_construction=60, ef=default_ef), None, background=False)
        assert s.index is not None and s.index.default_ef == default_ef
        batch = queries(s)
        hits = search(s, batch, 1, restrict=2000)
        paths[default_ef] = hits.searched_with
        assert hits.rows.max() < 2000
        # The same choice as naming that ef in the request.
        assert search(s, batch, 1, restrict=2000, ef=default_ef).searched_with is hits.searched_with
    assert paths == {8: IndexState.HNSW, 200: IndexState.EXACT}
