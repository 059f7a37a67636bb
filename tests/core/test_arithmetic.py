"""Arithmetic over a tiny word space, checked against gensim on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from latentd.core import arithmetic as A
from latentd.core import checks, comparison, encoding
from latentd.core.errors import FailedPrecondition, InvalidArgument, NotFound
from latentd.core.index import HnswParams
from latentd.core.limits import Limits
from latentd.core.terms import TermResolver, build_batch
from latentd.core.types import (
    AnalogyMethod,
    IndexState,
    InterpolationPath,
    QueryOptions,
    Resolved,
    SearchResult,
    Term,
)
from latentd.core.word_space import WordSpace

LIMITS = Limits()
EXACT = QueryOptions(exact=True)


@pytest.fixture(scope="module")
def space(tiny_kv: KeyedVectors) -> WordSpace:
    s = WordSpace("tiny", list(tiny_kv.index_to_key), tiny_kv.vectors)
    s.start_index(HnswParams(m=16, ef_construction=100, ef=64), None, background=False)
    assert s.index_state is IndexState.HNSW
    return s


def keys(words: list[str]) -> list[Term]:
    return [Term(key=w) for w in words]


def all_triples(kv: KeyedVectors, n: int = 60) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(1)
    words = kv.index_to_key
    return [tuple(rng.choice(words, 3, replace=False)) for _ in range(n)]  # type: ignore[misc]


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("method", [AnalogyMethod.COSADD, AnalogyMethod.COSMUL])
def test_analogy_matches_gensim(
    space: WordSpace, tiny_kv: KeyedVectors, exact: bool, method: AnalogyMethod
) -> None:
    triples = all_triples(tiny_kv)
    queries = [(keys([b, c]), keys([a])) for a, b, c in triples]
    results = A.analogy(
        space,
        queries,
        LIMITS,
        k=5,
        method=method,
        options=QueryOptions(exact=exact),
        prefix="queries[{i}].",
    )
    gensim_call = (
        tiny_kv.most_similar if method is AnalogyMethod.COSADD else tiny_kv.most_similar_cosmul
    )
    for (a, b, c), result in zip(triples, results, strict=True):
        expected = gensim_call(positive=[b, c], negative=[a], topn=5)
        if method is AnalogyMethod.COSMUL and not exact:
            # HNSW gives 3CosAdd candidates, reranked by 3CosMul: the best one must agree.
            expected = expected[:1]
            result_neighbors = result.neighbors[:1]
        else:
            result_neighbors = result.neighbors
        assert [n.key for n in result_neighbors] == [k for k, _ in expected]
        np.testing.assert_allclose(
            [n.score for n in result_neighbors], [s for _, s in expected], rtol=1e-4, atol=1e-5
        )
        assert result.searched_with is (IndexState.EXACT if exact else IndexState.HNSW)


def test_king_minus_man_plus_woman(space: WordSpace) -> None:
    [result] = A.analogy(space, [(keys(["king", "woman"]), keys(["man"]))], LIMITS, k=3)
    assert result.neighbors[0].key == "queen"
    assert not {"king", "woman", "man"} & {n.key for n in result.neighbors}


@pytest.mark.parametrize("method", [AnalogyMethod.COSADD, AnalogyMethod.COSMUL])
@pytest.mark.parametrize("exact", [True, False])
def test_restrict_is_honoured_for_both_methods(
    space: WordSpace, method: AnalogyMethod, exact: bool
) -> None:
    restrict = 20
    [result] = A.analogy(
        space,
        [(keys(["king", "woman"]), keys(["man"]))],
        LIMITS,
        k=30,
        method=method,
        options=QueryOptions(exact=exact, restrict=restrict),
    )
    rows = [space.key_to_index[n.key] for n in result.neighbors]
    assert rows and max(rows) < restrict
    assert len(rows) == restrict - 3  # every candidate but the inputs


def test_include_inputs_keeps_query_keys(space: WordSpace) -> None:
    [plain] = A.nearest(space, [keys(["cat"])], LIMITS, k=3)
    [kept] = A.nearest(
        space, [keys(["cat"])], LIMITS, k=3, options=QueryOptions(include_inputs=True)
    )
    assert "cat" not in [n.key for n in plain.neighbors]
    assert kept.neighbors[0].key == "cat"
    assert kept.neighbors[0].score == pytest.approx(1.0, abs=1e-5)


def test_k_above_space_size_returns_whole_space(space: WordSpace) -> None:
    for options in (EXACT, QueryOptions()):
        [result] = A.nearest(space, [keys(["cat"])], LIMITS, k=1000, options=options)
        assert len(result.neighbors) == space.size - 1
        scores = [n.score for n in result.neighbors]
        assert scores == sorted(scores, reverse=True)


def test_weighted_nearest_is_weighted_mean_of_unit_vectors(space: WordSpace) -> None:
    terms = [Term(key="cat", weight=2.0), Term(key="king", weight=0.5)]
    [result] = A.nearest(space, [terms], LIMITS, k=5, options=EXACT)
    u = space.unit
    q = 2.0 * u[space.key_to_index["cat"]] + 0.5 * u[space.key_to_index["king"]]
    q /= np.linalg.norm(q)
    scores = u @ q
    scores[[space.key_to_index["cat"], space.key_to_index["king"]]] = -np.inf
    assert [n.key for n in result.neighbors] == [space.keys[i] for i in np.argsort(-scores)[:5]]


@pytest.mark.parametrize("scale", [3e38, 1e20, 1e-30, 1e-45])
def test_a_vector_of_extreme_finite_values_has_its_direction(
    space: WordSpace, scale: float
) -> None:
    # Found by probing after the fuzz: the norm was taken in float32, so 1e20 (squares
    # overflow) or 1e-30 (squares underflow) gave "the terms cancel out" or a zero vector.
    direction = space.unit[space.key_to_index["cat"]]
    extreme = (np.sign(direction) * np.float32(scale)).astype(np.float32)
    plain = np.sign(direction).astype(np.float32)
    [got] = A.nearest(space, [[Term(vector=extreme)]], LIMITS, k=5, options=EXACT)
    [want] = A.nearest(space, [[Term(vector=plain)]], LIMITS, k=5, options=EXACT)
    assert [n.key for n in got.neighbors] == [n.key for n in want.neighbors]
    [[score]] = comparison.similarity(
        space, [Term(vector=extreme)], [Term(vector=plain)], LIMITS
    ).scores
    assert score == pytest.approx(1.0, abs=1e-6)


def test_weights_near_the_float32_limit_weigh_as_their_ratio(space: WordSpace) -> None:
    # Found by probing after the fuzz: two weights of 3e38 made the weighted sum infinite,
    # and Nearest answered OK with no neighbours.
    huge = [Term(key="cat", weight=3e38), Term(key="king", weight=3e38)]
    [got] = A.nearest(space, [huge], LIMITS, k=5, options=EXACT)
    [want] = A.nearest(space, [keys(["cat", "king"])], LIMITS, k=5, options=EXACT)
    assert [n.key for n in got.neighbors] == [n.key for n in want.neighbors]
    assert [n.score for n in got.neighbors] == pytest.approx([n.score for n in want.neighbors])


def test_key_exact_first_then_lowercase(space: WordSpace) -> None:
    assert space.lookup("Paris").key == "Paris"  # exact key wins
    assert space.lookup("KING").key == "king"  # lowercase fallback
    [result] = A.nearest(space, [keys(["KING"])], LIMITS, k=2)
    assert result.resolved[0][0].key == "king"
    assert result.resolved[0][0].input == "KING"


def test_unknown_keys_are_all_named_with_suggestions(space: WordSpace) -> None:
    with pytest.raises(NotFound) as err:
        A.analogy(space, [(keys(["kingg", "woman"]), keys(["mann"]))], LIMITS)
    message = str(err.value)
    assert "'kingg'" in message and "'mann'" in message
    assert "did you mean: king" in message and "did you mean: man" in message


def test_text_term_mean_of_tokens_and_unknown_tokens(space: WordSpace) -> None:
    encoded = encoding.encode(space, ["cat dog", "zzz cat"], LIMITS, normalize=False)
    u = (space.vectors[space.key_to_index["cat"]] + space.vectors[space.key_to_index["dog"]]) / 2
    np.testing.assert_allclose(encoded.vectors[0], u, rtol=1e-6)
    np.testing.assert_allclose(encoded.vectors[1], space.vectors[space.key_to_index["cat"]])
    assert encoded.unknown_tokens == [[], ["zzz"]]
    with pytest.raises(NotFound, match=r"inputs\[1\].*'qqq'"):
        encoding.encode(space, ["cat", "qqq"], LIMITS)


def test_encode_dimensions_truncate_and_renormalise(space: WordSpace) -> None:
    encoded = encoding.encode(space, ["cat"], LIMITS, dimensions=4)
    assert encoded.vectors.shape == (1, 4)
    assert np.linalg.norm(encoded.vectors[0]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(InvalidArgument, match="dimensions"):
        encoding.encode(space, ["cat"], LIMITS, dimensions=17)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: A.analogy(s, [([], [])], LIMITS), "positive"),
        (lambda s: A.analogy(s, [(keys(["cat"]), [])], LIMITS, k=0), "k"),
        (lambda s: A.analogy(s, [(keys(["cat"]), [])], LIMITS, k=1001), "k"),
        (lambda s: A.nearest(s, [[Term(key="")]], LIMITS), "query[0].key"),
        (lambda s: A.nearest(s, [[Term(vector=np.ones(3))]], LIMITS), "expected 16 values, got 3"),
        (lambda s: A.nearest(s, [[Term(vector=np.full(16, np.nan))]], LIMITS), "NaN"),
        (lambda s: A.nearest(s, [[Term(vector=np.zeros(16))]], LIMITS), "all zeros"),
        (lambda s: A.nearest(s, [[Term()]], LIMITS), "exactly one of key, text or vector"),
        (lambda s: A.nearest(s, [[Term(key="cat", weight=float("inf"))]], LIMITS), "weight"),
        (lambda s: A.nearest(s, [[Term(key="x" * 10_001)]], LIMITS), "at most 10000 characters"),
        (lambda s: A.nearest(s, [keys(["cat"] * 65)], LIMITS), "at most 64 items"),
        (lambda s: A.nearest(s, [], LIMITS), "queries"),
        (
            lambda s: A.nearest(s, [[Term(key="cat"), Term(key="cat", weight=-1)]], LIMITS),
            "cancel out",
        ),
        (lambda s: encoding.encode(s, [], LIMITS), "inputs"),
        (lambda s: encoding.encode(s, ["a"] * 257, LIMITS), "at most 256"),
        (lambda s: A.interpolate(s, Term(key="cat"), Term(key="dog"), LIMITS, steps=1), "steps"),
        (lambda s: A.nearest(s, [keys(["cat"])], LIMITS, options=QueryOptions(ef=10**6)), "ef"),
        (lambda s: comparison.doesnt_match(s, keys(["cat"]), LIMITS), "at least 2"),
        (lambda s: A.nearest(s, [keys(["cat"])] * 1001, LIMITS, k=1000), "at most 1000000"),
        (
            lambda s: A.interpolate(
                s, Term(key="cat"), Term(key="dog"), Limits(max_results=10), steps=3, k=4
            ),
            "12 neighbours",
        ),
    ],
)
def test_bad_input_names_the_field(space: WordSpace, call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match=field.replace("[", r"\[").replace("]", r"\]")):
        call(space)


@pytest.mark.parametrize("path", [InterpolationPath.LERP, InterpolationPath.SLERP])
def test_interpolation_ends_and_no_nan(space: WordSpace, path: InterpolationPath) -> None:
    result = A.interpolate(space, Term(key="cat"), Term(key="dog"), LIMITS, steps=5, path=path, k=3)
    assert [p.t for p in result.points] == [0.0, 0.25, 0.5, 0.75, 1.0]
    np.testing.assert_allclose(
        result.points[0].vector, space.unit[space.key_to_index["cat"]], atol=1e-6
    )
    np.testing.assert_allclose(
        result.points[-1].vector, space.unit[space.key_to_index["dog"]], atol=1e-6
    )
    for point in result.points:
        assert {"cat", "dog"}.isdisjoint(n.key for n in point.neighbors)
    v = np.ones(16, np.float32)
    for start, end in ((v, v), (v, -v)):
        result = A.interpolate(
            space, Term(vector=start), Term(vector=end), LIMITS, steps=7, path=path, k=1
        )
        vectors = np.stack([p.vector for p in result.points])
        assert np.all(np.isfinite(vectors))
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(vectors[-1], end / np.linalg.norm(end), atol=1e-5)


def test_slerp_keeps_constant_angle_steps(space: WordSpace) -> None:
    result = A.interpolate(
        space, Term(key="cat"), Term(key="king"), LIMITS, steps=5, path=InterpolationPath.SLERP, k=1
    )
    vectors = np.stack([p.vector for p in result.points]).astype(np.float64)
    angles = np.arccos(np.clip(np.sum(vectors[:-1] * vectors[1:], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-3)


def test_similarity_is_the_cosine_matrix(space: WordSpace, tiny_kv: KeyedVectors) -> None:
    result = comparison.similarity(
        space, keys(["cat", "king"]), keys(["dog", "queen", "frog"]), LIMITS
    )
    assert result.scores.shape == (2, 3)
    assert result.scores[0, 0] == pytest.approx(tiny_kv.similarity("cat", "dog"), abs=1e-5)
    assert result.scores[1, 1] == pytest.approx(tiny_kv.similarity("king", "queen"), abs=1e-5)


def test_doesnt_match_equals_gensim(space: WordSpace, tiny_kv: KeyedVectors) -> None:
    words = ["cat", "dog", "kitten", "queen"]
    result = comparison.doesnt_match(space, keys(words), LIMITS)
    assert result.key == tiny_kv.doesnt_match(words) == "queen"
    assert result.index == 3


def test_sentence_model_is_not_searchable() -> None:
    class FakeSentence:  # only the attributes check_searchable() reads
        name = "s"
        kind = "sentence"
        has_keys = False

    with pytest.raises(FailedPrecondition, match="no keys to search"):
        checks.check_searchable(FakeSentence())  # type: ignore[arg-type]


def test_building_space_answers_exactly(tiny_kv: KeyedVectors) -> None:
    fresh = WordSpace("fresh", list(tiny_kv.index_to_key), tiny_kv.vectors)
    assert fresh.index is None
    [result] = A.analogy(fresh, [(keys(["king", "woman"]), keys(["man"]))], LIMITS, k=1)
    assert result.neighbors[0].key == "queen"
    assert result.searched_with is IndexState.EXACT


# -- a batch is matrix work, and answers each query as a request of its own would ---------


def mixed_queries(space: WordSpace) -> list[tuple[list[Term], list[Term]]]:
    """Analogy queries with every kind of term: keys (one by its uppercase form), texts,
    raw vectors, weights, repeated keys and no negative terms; of different lengths."""
    rng = np.random.default_rng(7)
    words = space.keys
    queries: list[tuple[list[Term], list[Term]]] = [
        (keys(["king", "woman"]), keys(["man"])),
        (keys(["KING"]), []),
        ([Term(text="cat dog"), Term(key="queen", weight=2.5)], keys(["king", "king"])),
        ([Term(vector=rng.normal(size=16).astype(np.float32))], keys(["cat"])),
        ([Term(vector=rng.normal(size=16)), Term(key="Paris", weight=0.5)], []),
        (keys(["frog"]), [Term(text="zzz kitten"), Term(vector=rng.normal(size=16), weight=-3)]),
    ]
    for _ in range(30):
        pos = [Term(key=str(w)) for w in rng.choice(words, rng.integers(1, 5), replace=False)]
        neg = [Term(key=str(w)) for w in rng.choice(words, rng.integers(0, 3), replace=False)]
        queries.append((pos, neg))
    return queries


def assert_same_result(together: SearchResult, alone: SearchResult) -> None:
    """Same keys in the same order and the same resolved terms; the scores may differ in
    the last bit (BLAS multiplies a matrix of queries and a single one differently)."""
    assert [n.key for n in together.neighbors] == [n.key for n in alone.neighbors]
    np.testing.assert_allclose(
        [n.score for n in together.neighbors], [n.score for n in alone.neighbors], rtol=1e-6
    )
    assert together.resolved == alone.resolved
    assert together.searched_with is alone.searched_with


@pytest.mark.parametrize(
    "options", [EXACT, QueryOptions(), QueryOptions(include_inputs=True), QueryOptions(restrict=40)]
)
@pytest.mark.parametrize("method", [AnalogyMethod.COSADD, AnalogyMethod.COSMUL])
def test_batch_analogy_equals_each_query_alone(
    space: WordSpace, method: AnalogyMethod, options: QueryOptions
) -> None:
    queries = mixed_queries(space)
    batch = A.analogy(
        space, queries, LIMITS, k=7, method=method, options=options, prefix="queries[{i}]."
    )
    assert len(batch) == len(queries)
    for query, together in zip(queries, batch, strict=True):
        [alone] = A.analogy(space, [query], LIMITS, k=7, method=method, options=options)
        assert_same_result(together, alone)
    assert batch[1].resolved == [[Resolved(input="KING", key="king")], []]
    assert batch[5].resolved[1][0].unknown_tokens == ("zzz",)
    if not options.include_inputs:
        assert {"king", "woman", "man"}.isdisjoint(n.key for n in batch[0].neighbors)


@pytest.mark.parametrize("options", [EXACT, QueryOptions(), QueryOptions(include_inputs=True)])
def test_batch_nearest_equals_each_query_alone(space: WordSpace, options: QueryOptions) -> None:
    queries = [pos + neg for pos, neg in mixed_queries(space) if pos + neg]
    batch = A.nearest(space, queries, LIMITS, k=5, options=options, prefix="queries[{i}].")
    for query, together in zip(queries, batch, strict=True):
        [alone] = A.nearest(space, [query], LIMITS, k=5, options=options)
        assert_same_result(together, alone)


def test_resolver_batch_equals_the_joined_groups(space: WordSpace) -> None:
    """TermResolver.batch (array indexing over every term at once) builds the same arrays
    as build_batch over each query's groups joined, and group() the same vectors as
    normalising that group alone."""
    queries = mixed_queries(space)
    for include_inputs in (False, True):
        resolver = TermResolver(space, LIMITS)
        handles = [
            (resolver.add(p, f"q{i}.positive", 1.0), resolver.add(n, f"q{i}.negative", -1.0))
            for i, (p, n) in enumerate(queries)
        ]
        resolver.resolve()
        names = [f"q{i}" for i in range(len(queries))]
        fast = resolver.batch(handles, names, include_inputs)
        groups = [resolver.group(p).joined(resolver.group(n)) for p, n in handles]
        slow = build_batch(groups, names, include_inputs)
        for field in ("combined", "terms", "weights", "exclude"):
            np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field), field)
        for (p, n), (pos, neg) in zip(handles, queries, strict=True):
            for handle, given in ((p, pos), (n, neg)):
                group = resolver.group(handle)
                alone = TermResolver(space, LIMITS)
                alone_handle = alone.add(given, "x", 1.0)
                alone.resolve()
                np.testing.assert_array_equal(group.vectors, alone.group(alone_handle).vectors)


def test_cancelling_terms_in_a_batch_name_their_query(space: WordSpace) -> None:
    queries = [(keys(["cat"]), []), (keys(["dog"]), keys(["dog"]))]
    with pytest.raises(InvalidArgument, match=r"queries\[1\]\.positive.*cancel out"):
        A.analogy(space, queries, LIMITS, prefix="queries[{i}].")
