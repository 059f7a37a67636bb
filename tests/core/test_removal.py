"""Removing directions (options.remove): every answer equals brute force over explicitly
neutralised vectors (each key's and each term's unit vector without its component along
the directions, renormalised), on the index path as on the exact one; no index is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

from latentd.core.arithmetic import analogy, interpolate, nearest
from latentd.core.comparison import similarity
from latentd.core.direction_book import DirectionBook
from latentd.core.encoding import encode
from latentd.core.errors import InvalidArgument
from latentd.core.hnsw_params import HnswParams
from latentd.core.limits import Limits
from latentd.core.removal import Removal, orthonormal_basis, search_removed
from latentd.core.search import QueryBatch
from latentd.core.types import AnalogyMethod, DirectionSpec, IndexState, QueryOptions, Term
from latentd.core.word_space import WordSpace

LIMITS = Limits()
DIM = 24


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def space() -> WordSpace:
    """4,000 random keys, and 40 that lie close to the first axis with a little of the
    second: a removal of the first axis turns them towards the second, which the index's
    plain candidates for the second would miss."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4000, DIM)).astype(np.float32)
    vectors[:40] = 0.1 * vectors[:40]
    vectors[:40, 0] += 3 + rng.random(40)
    vectors[:40, 1] += 0.6
    keys = [f"k{i}" for i in range(len(vectors))]
    space = WordSpace("random", keys, vectors)
    space.start_index(HnswParams(m=16, ef_construction=200, ef=200), None, background=False)
    assert space.index_state is IndexState.HNSW
    return space


def neutral_matrix(space: WordSpace, directions: list[np.ndarray]) -> np.ndarray:
    basis = orthonormal_basis(directions).astype(np.float64)
    m = space.unit.astype(np.float64)
    m = m - (m @ basis.T) @ basis
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.where(norms > 1e-4, m / np.maximum(norms, 1e-12), 0)


def brute_nearest(
    space: WordSpace, directions: list[np.ndarray], terms: list[str], weights: list[float], k: int
) -> tuple[list[str], np.ndarray]:
    m = neutral_matrix(space, directions)
    rows = [space.key_to_index[t] for t in terms]
    query = (np.array(weights)[:, None] * m[rows]).sum(axis=0) / np.abs(weights).sum()
    scores = m @ _unit(query)
    scores[rows] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    return [space.keys[i] for i in top], scores[top]


def axis(i: int) -> np.ndarray:
    return np.eye(DIM, dtype=np.float32)[i]


def vector_spec(v: np.ndarray) -> DirectionSpec:
    return DirectionSpec(vector=v)


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("query", ["k5", "k100", "k3999", "k1"])
def test_nearest_equals_brute_force_over_neutralised_vectors(
    space: WordSpace, exact: bool, query: str
) -> None:
    removed = axis(0)
    [result] = nearest(
        space,
        [[Term(key=query)]],
        LIMITS,
        k=15,
        options=QueryOptions(exact=exact, remove=(vector_spec(removed),)),
    )
    keys, scores = brute_nearest(space, [removed], [query], [1.0], 15)
    assert [n.key for n in result.neighbors] == keys
    np.testing.assert_allclose([n.score for n in result.neighbors], scores, atol=1e-5)
    assert result.searched_with is (IndexState.EXACT if exact else IndexState.HNSW)


def test_keys_lifted_by_the_removal_are_found_beyond_the_index_candidates(
    space: WordSpace,
) -> None:
    """The aligned keys score low for the second axis before the removal (their first
    axis dominates) and highest after it, so they come from the exact supplement."""
    target = axis(1)
    removed = axis(0)
    plain = nearest(space, [[Term(vector=target)]], LIMITS, k=10)[0]
    [result] = nearest(
        space,
        [[Term(vector=target)]],
        LIMITS,
        k=10,
        options=QueryOptions(remove=(vector_spec(removed),)),
    )
    m = neutral_matrix(space, [removed])
    scores = m @ _unit(target - (target @ removed) * removed)
    top = np.argsort(-scores)[:10]
    assert [n.key for n in result.neighbors] == [space.keys[i] for i in top]
    lifted = {space.keys[i] for i in range(40)}
    assert lifted & {n.key for n in result.neighbors}
    assert not lifted & {n.key for n in plain.neighbors}
    assert result.searched_with is IndexState.HNSW


def test_two_directions_and_restrict(space: WordSpace) -> None:
    first, second = axis(0), _unit(axis(1) + axis(2))
    [result] = nearest(
        space,
        [[Term(key="k7"), Term(key="k8", weight=0.5)]],
        LIMITS,
        k=8,
        options=QueryOptions(restrict=1000, remove=(vector_spec(first), vector_spec(second))),
    )
    m = neutral_matrix(space, [first, second])[:1000]
    q = _unit(m[7] + 0.5 * m[8])
    scores = m @ q
    scores[[7, 8]] = -np.inf
    top = np.argsort(-scores)[:8]
    assert [n.key for n in result.neighbors] == [space.keys[i] for i in top]


@pytest.mark.parametrize("method", [AnalogyMethod.COSADD, AnalogyMethod.COSMUL])
def test_analogy_equals_brute_force(space: WordSpace, method: AnalogyMethod) -> None:
    removed = _unit(axis(0) + axis(3))
    [result] = analogy(
        space,
        [([Term(key="k10"), Term(key="k11")], [Term(key="k12")])],
        LIMITS,
        k=10,
        method=method,
        options=QueryOptions(remove=(vector_spec(removed),)),
    )
    m = neutral_matrix(space, [removed])
    a, b, c = m[10], m[11], m[12]
    if method is AnalogyMethod.COSADD:
        scores = m @ _unit((a + b - c) / 3)
    else:
        sims = m @ np.stack([a, b, c]).T  # (n, 3)
        shifted = (1 + sims) / 2
        scores = shifted[:, 0] * shifted[:, 1] / (shifted[:, 2] + 1e-6)
    scores[[10, 11, 12]] = -np.inf
    top = np.argsort(-scores)[:10]
    assert [n.key for n in result.neighbors] == [space.keys[i] for i in top]
    np.testing.assert_allclose([n.score for n in result.neighbors], scores[top], atol=1e-5)


def test_batches_answer_each_query_as_alone(space: WordSpace) -> None:
    options = QueryOptions(remove=(vector_spec(axis(0)),))
    queries = [[Term(key=f"k{i}")] for i in (2, 50, 700, 1500)]
    together = nearest(space, queries, LIMITS, k=5, options=options, prefix="queries[{i}].")
    for query, result in zip(queries, together, strict=True):
        [alone] = nearest(space, [query], LIMITS, k=5, options=options)
        assert [n.key for n in result.neighbors] == [n.key for n in alone.neighbors]


def test_interpolate_points_lie_outside_the_removed_direction(space: WordSpace) -> None:
    removed = _unit(axis(0) + axis(5))
    result = interpolate(
        space,
        Term(key="k3"),
        Term(key="k9"),
        LIMITS,
        steps=4,
        options=QueryOptions(remove=(vector_spec(removed),)),
    )
    for point in result.points:
        assert abs(float(point.vector @ removed)) < 1e-5
        assert abs(float(np.linalg.norm(point.vector)) - 1) < 1e-5


def test_similarity_and_encode_without_the_direction(space: WordSpace) -> None:
    removed = axis(0)
    plain = similarity(space, [Term(key="k1")], [Term(key="k2")], LIMITS)
    result = similarity(
        space, [Term(key="k1")], [Term(key="k2")], LIMITS, remove=(vector_spec(removed),)
    )
    m = neutral_matrix(space, [removed])
    assert result.scores[0, 0] == pytest.approx(float(m[1] @ m[2]), abs=1e-5)
    assert result.scores[0, 0] != pytest.approx(float(plain.scores[0, 0]), abs=1e-3)
    encoded = encode(space, ["k1 k2", "k5"], LIMITS, remove=(vector_spec(removed),))
    np.testing.assert_allclose(encoded.vectors @ removed, 0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(encoded.vectors, axis=1), 1, atol=1e-5)
    raw = encode(space, ["k5"], LIMITS, normalize=False, remove=(vector_spec(removed),))
    original = space.raw_vector(5)
    np.testing.assert_allclose(
        raw.vectors[0], original - (original @ removed) * removed, rtol=1e-5, atol=1e-5
    )
    with pytest.raises(InvalidArgument, match="dimensions"):
        encode(space, ["k5"], LIMITS, dimensions=8, remove=(vector_spec(removed),))


def test_a_term_along_the_removed_direction_is_refused(space: WordSpace) -> None:
    with pytest.raises(InvalidArgument, match="removed directions"):
        nearest(
            space,
            [[Term(vector=axis(0))]],
            LIMITS,
            options=QueryOptions(remove=(vector_spec(axis(0)),)),
        )


def test_a_saved_direction_is_removed_by_name(space: WordSpace, tmp_path) -> None:
    from latentd.core.direction_queries import save_direction

    book = DirectionBook(tmp_path)
    save_direction(space, "first", vector_spec(axis(0)), LIMITS, book)
    by_name = nearest(
        space,
        [[Term(key="k5")]],
        LIMITS,
        options=QueryOptions(remove=(DirectionSpec(name="first"),)),
        directions=book,
    )
    by_vector = nearest(
        space, [[Term(key="k5")]], LIMITS, options=QueryOptions(remove=(vector_spec(axis(0)),))
    )
    assert [n.key for n in by_name[0].neighbors] == [n.key for n in by_vector[0].neighbors]


def test_search_removed_never_touches_the_index(space: WordSpace) -> None:
    """The index is asked for wider candidates, never rebuilt: the same index object,
    the same element count, the same space version."""
    index = space.index
    assert index is not None
    before = index.size
    removal = Removal(orthonormal_basis([axis(0)]))
    batch = QueryBatch(
        space.unit[[5]],
        space.unit[[5]][:, None, :],
        np.ones((1, 1), np.float32),
        np.array([[5]], np.int64),
    )
    neutral = removal.batch(batch, ["query"])
    probe_calls = []

    def probe(queries: QueryBatch, wide: int):  # type: ignore[no-untyped-def]
        probe_calls.append(wide)
        return space.search(queries, wide, AnalogyMethod.COSADD, exact=False, restrict=0, ef=0)

    search_removed(
        space, neutral, 5, AnalogyMethod.COSADD, removal, space.key_mask(), probe, exact=False
    )
    assert probe_calls and probe_calls[0] > 5
    assert space.index is index and index.size == before == space.size
    assert space.version == 0


def test_3cosmul_with_a_removal_is_bounded_as_exact_work(space: WordSpace) -> None:
    tight = Limits(max_exact_scores=10_000)
    with pytest.raises(InvalidArgument, match=r"options\.remove: 3CosMul with removed directions"):
        analogy(
            space,
            [([Term(key="k10"), Term(key="k11")], [Term(key="k12")])],
            tight,
            method=AnalogyMethod.COSMUL,
            options=QueryOptions(remove=(vector_spec(axis(0)),)),
        )
