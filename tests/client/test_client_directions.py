"""Directions through the client: the DirectionLike forms (no server), then Define, Save,
List, Delete, Project, Navigate, Associate and Components, and ``remove=`` on every query
method, against a real latentd. Expected values are computed with numpy from the tiny
fixture space's vectors (tests/conftest.py).

The tests that save use a server of this module (`book_server`, with a direction from
its config), so that they meet no other test's saved directions."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import latent
from latent import _convert as cv
from latent.v1 import latent_pb2 as pb

SENTENCE = "all-minilm-l6-v2"
TINY_DIM = 16  # tests/conftest.py
GENDER = [("man", "woman"), ("king", "queen"), ("prince", "princess")]

FloatArray = npt.NDArray[np.floating[Any]]


def unit(v: FloatArray) -> FloatArray:
    return np.asarray(v / np.linalg.norm(v, axis=-1, keepdims=True), dtype=np.float64)


def neutralised(vectors: FloatArray, *directions: FloatArray) -> FloatArray:
    """Unit vectors without their components along ``directions`` (orthonormalised)."""
    basis, _ = np.linalg.qr(np.stack(directions).T.astype(np.float64))
    out = vectors - (vectors @ basis) @ basis.T
    return unit(out)


@dataclass(frozen=True)
class Tiny:
    """The fixture space as numpy: keys in order, raw and unit vectors (float64)."""

    keys: list[str]
    raw: FloatArray
    unit: FloatArray

    @property
    def row(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys)}

    def vec(self, word: str) -> FloatArray:
        return self.unit[self.keys.index(word)]

    def of(self, words: Sequence[str]) -> FloatArray:
        return self.unit[[self.keys.index(w) for w in words]]

    def top(
        self, scores: FloatArray, k: int, exclude: Sequence[str] = ()
    ) -> list[tuple[str, float]]:
        """The k best keys by ``scores`` (one per key), best first, without ``exclude``."""
        order = [i for i in np.argsort(-scores, kind="stable") if self.keys[i] not in exclude]
        return [(self.keys[i], float(scores[i])) for i in order[:k]]


@pytest.fixture(scope="module")
def tiny(tiny_kv: Any) -> Tiny:
    raw = np.asarray(tiny_kv.vectors, dtype=np.float64)
    return Tiny(list(tiny_kv.index_to_key), raw, unit(raw))


def neighbors(result: latent.NearestResult | latent.AnalogyResult) -> list[tuple[str, float]]:
    return [(n.key, n.score) for n in result.neighbors]


def assert_neighbors(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [k for k, _ in got] == [k for k, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=2e-4)


@pytest.fixture(scope="module")
def client(server_target: str) -> Iterator[latent.Client]:
    with latent.Client(server_target, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def gender(client: latent.Client) -> FloatArray:
    """The unit vector of GENDER (PCA), as the server defines it."""
    return client.define_direction(GENDER).vector.astype(np.float64)


@pytest.fixture(scope="module")
def book_server(tmp_path_factory: pytest.TempPathFactory, tiny_kv: Any) -> Iterator[str]:
    """A latentd of this module over the tiny space (no sentence model), with the
    direction `royalty` from its config, so that saving meets a clean book."""
    from latentd.config import DirectionConfig, Settings
    from latentd.core.types import DirectionSpec
    from latentd.testing import start_test_server

    royal = np.eye(TINY_DIM, dtype=np.float32)[0]
    config = DirectionConfig("royalty", "", DirectionSpec(vector=royal), "from the config")
    with start_test_server(
        tiny_kv,
        tmp_path_factory.mktemp("book-cache"),
        sentence_model=False,
        settings=Settings(directions=(config,)),
        data_dir=tmp_path_factory.mktemp("book-data"),
    ) as target:
        yield target


@pytest.fixture(scope="module")
def book(book_server: str) -> Iterator[latent.Client]:
    with latent.Client(book_server, timeout=60) as c:
        yield c


# ---------------------------------------------------------------------------
# DirectionLike, no server


def test_direction_forms() -> None:
    assert cv.direction("gender") == pb.Direction(name="gender")
    pairs = cv.direction([("man", "woman"), ("he", "she")])
    assert pairs.WhichOneof("definition") == "pairs"
    assert [(p.a.key, p.b.key) for p in pairs.pairs.pairs] == [("man", "woman"), ("he", "she")]
    assert pairs.pairs.method == pb.PCA
    mean = cv.direction(latent.Pairs([("man", latent.Text("a woman"))], "mean_difference"))
    assert mean.pairs.method == pb.MEAN_DIFFERENCE
    assert mean.pairs.pairs[0].b.text == "a woman"
    poles = cv.direction(latent.Poles("bad", ["good", "great"]))
    assert [t.key for t in poles.poles.from_terms] == ["bad"]
    assert [t.key for t in poles.poles.to_terms] == ["good", "great"]
    vector = cv.direction(np.arange(3, dtype=np.float64))
    assert np.frombuffer(vector.vector.packed, "<f4").tolist() == [0.0, 1.0, 2.0]
    assert cv.direction([0.5, 1.5]).vector.packed  # a list of numbers is a vector
    message = pb.Direction(name="x")
    assert cv.direction(message) is message


def test_directions_one_or_many() -> None:
    assert [d.name for d in cv.directions("gender")] == ["gender"]
    assert len(cv.directions([("man", "woman"), ("he", "she")])) == 1  # one pairs direction
    assert len(cv.directions(["gender", [("man", "woman")], np.ones(3)])) == 3
    assert len(cv.directions([[0.1, 0.2], [0.3, 0.4]])) == 2  # two vectors
    assert cv.directions(()) == []
    options = cv.options(False, None, None, False, ["gender", latent.Poles("a", "b")])
    assert [d.WhichOneof("definition") for d in options.remove] == ["name", "poles"]


@pytest.mark.parametrize("value", [("man", "woman"), 3, [("man",)], ["man:woman"], {"a": "b"}])
def test_bad_directions_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError), match="direction"):
        cv.direction(value)  # type: ignore[arg-type]


def test_pairs_and_poles_are_plain_values() -> None:
    assert latent.Pairs([["man", "woman"]]) == latent.Pairs((("man", "woman"),))
    assert latent.Pairs([("a", "b")]) != latent.Pairs([("a", "b")], "mean_difference")
    vector_pair = latent.Pairs([(np.ones(2), "b")])
    assert vector_pair.pairs[0][0] == latent.Term(vector=[1.0, 1.0])
    assert hash(vector_pair)
    assert latent.Poles("cold", "hot") == latent.Poles(["cold"], ("hot",))
    assert latent.Poles(np.ones(2), [[1.0, 0.0]]).from_terms == (latent.Term(vector=[1.0, 1.0]),)
    with pytest.raises(ValueError, match="method"):
        latent.Pairs([("a", "b")], "mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"pairs\[0\]"):
        latent.Pairs([("a", "b", "c")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a str"):
        latent.Pairs("ab")  # type: ignore[arg-type]


def test_saved_definition_round_trips() -> None:
    for value in (
        latent.Pairs(
            [("man", "woman"), (latent.Text("he said"), latent.Term(key="she", weight=2))]
        ),
        latent.Pairs([("a", "b")], "mean_difference"),
        latent.Poles(["bad", latent.Term(vector=[1.0, 2.0])], ["good"]),
    ):
        assert cv.definition(cv.direction(value)) == value
    vector = cv.definition(cv.direction([1.0, 2.0]))
    assert isinstance(vector, np.ndarray) and vector.tolist() == [1.0, 2.0]


def test_requests_carry_remove_and_packed_vectors() -> None:
    encode = cv.encode_request(["a"], "", None, None, None, False, "gender")
    assert [d.name for d in encode.remove] == ["gender"]
    similarity = cv.similarity_request("a", "b", "", [[("man", "woman")]])
    assert similarity.remove[0].pairs.pairs[0].a.key == "man"
    assert cv.define_request("g", "").vector_format == pb.PACKED
    navigate = cv.navigate_request(
        "king", "g", None, None, None, None, "", cv.options(False, None, None, False)
    )
    assert navigate.vector_format == pb.PACKED
    assert not navigate.HasField("steps") and not navigate.HasField("step")
    assert not navigate.HasField("target") and not navigate.HasField("k")
    project = cv.project_request("g", "cat", None, None, None, "")
    assert [t.key for t in project.terms] == ["cat"] and not project.HasField("top")
    components = cv.components_request(["a", "b"], None, "")
    assert not components.HasField("n") and components.vector_format == pb.PACKED
    with pytest.raises(TypeError, match="targets_x"):
        cv.associate_request("abc", ["a"], ["b"], ["c"], None, 0, "")


# ---------------------------------------------------------------------------
# Define


def test_define_pairs(tiny: Tiny, client: latent.Client) -> None:
    fit = client.define_direction(GENDER)
    assert isinstance(fit, latent.DirectionFit)
    assert fit.space == "tiny" and fit.name == ""
    assert fit.vector.dtype == np.float32 and fit.vector.shape == (TINY_DIM,)
    assert np.linalg.norm(fit.vector) == pytest.approx(1.0, abs=1e-5)
    # The first principal component of the differences b - a of the unit vectors.
    diffs = np.stack([tiny.vec(b) - tiny.vec(a) for a, b in GENDER])
    _, singular, vt = np.linalg.svd(diffs, full_matrices=False)
    axis = vt[0] * np.sign(vt[0] @ diffs.mean(axis=0))  # from a to b
    np.testing.assert_allclose(fit.vector, axis, atol=1e-4)
    # The fixture's gender axis is dimension 1 (male): from man to woman it is negative.
    assert fit.vector[1] < -0.95
    assert fit.explained_variance == pytest.approx(singular[0] ** 2 / (singular**2).sum(), abs=1e-4)
    expected = [float(unit(d) @ fit.vector) for d in diffs]
    np.testing.assert_allclose(fit.pair_cosines, expected, atol=1e-4)
    assert fit.from_projections == [] and fit.to_projections == []


def test_define_mean_difference_poles_and_vector(tiny: Tiny, client: latent.Client) -> None:
    mean = client.define_direction(latent.Pairs(GENDER, method="mean_difference"))
    diffs = np.stack([tiny.vec(b) - tiny.vec(a) for a, b in GENDER])
    np.testing.assert_allclose(mean.vector, unit(diffs.mean(axis=0)), atol=1e-4)

    poles = client.define_direction(latent.Poles(["man", "king"], ["woman", "queen"]))
    expected = unit(
        tiny.unit[[tiny.row["woman"], tiny.row["queen"]]].mean(0)
        - tiny.unit[[tiny.row["man"], tiny.row["king"]]].mean(0)
    )
    np.testing.assert_allclose(poles.vector, expected, atol=1e-4)
    np.testing.assert_allclose(
        poles.from_projections, tiny.unit[[tiny.row["man"], tiny.row["king"]]] @ expected, atol=1e-4
    )
    np.testing.assert_allclose(
        poles.to_projections,
        tiny.unit[[tiny.row["woman"], tiny.row["queen"]]] @ expected,
        atol=1e-4,
    )
    assert poles.pair_cosines == []

    raw = np.zeros(TINY_DIM)
    raw[3] = 2.0
    vector = client.define_direction(raw)
    np.testing.assert_allclose(vector.vector, unit(raw), atol=1e-6)
    assert vector.explained_variance == pytest.approx(1.0)


def test_define_errors(client: latent.Client) -> None:
    with pytest.raises(latent.NotFound, match="wommman"):
        client.define_direction([("man", "wommman")])
    with pytest.raises(latent.NotFound, match="nosuch"):
        client.define_direction("nosuch")
    with pytest.raises(latent.InvalidArgument, match=r"direction\.vector"):
        client.define_direction([1.0, 2.0])
    with pytest.raises(latent.InvalidArgument, match="zero"):
        client.define_direction(np.zeros(TINY_DIM))
    with pytest.raises(latent.InvalidArgument):
        client.define_direction(latent.Pairs([]))
    with pytest.raises(latent.NotFound):
        client.define_direction(GENDER, space="nosuch-space")


# ---------------------------------------------------------------------------
# Save, List, Delete (book_server)


def test_save_list_define_and_delete(book: latent.Client) -> None:
    saved = book.save_direction("gender", GENDER, description="man -> woman")
    assert isinstance(saved, latent.SavedDirection)
    assert (saved.space, saved.name, saved.description) == ("tiny", "gender", "man -> woman")
    assert saved.definition == latent.Pairs(GENDER)
    assert saved.vector is not None and not saved.from_config
    fit = book.define_direction(GENDER)
    np.testing.assert_allclose(saved.vector, fit.vector, atol=1e-6)
    assert saved.explained_variance == pytest.approx(fit.explained_variance, abs=1e-6)

    by_name = book.define_direction("gender")
    assert by_name.name == "gender"
    np.testing.assert_allclose(by_name.vector, fit.vector, atol=1e-6)

    listed = {d.name: d for d in book.list_directions()}
    assert set(listed) >= {"gender", "royalty"}
    assert listed["gender"].vector is None  # only with with_vector
    assert listed["gender"].definition == latent.Pairs(GENDER)
    assert listed["royalty"].from_config
    with_vectors = {d.name: d for d in book.list_directions(space="tiny", with_vector=True)}
    assert with_vectors["gender"].vector is not None
    np.testing.assert_allclose(with_vectors["gender"].vector, fit.vector, atol=1e-6)
    assert book.list_directions(space="no-such-space") == []

    book.delete_direction("gender")
    assert "gender" not in {d.name for d in book.list_directions()}
    with pytest.raises(latent.NotFound, match="gender"):
        book.delete_direction("gender")


def test_save_forms_and_overwrite(book: latent.Client) -> None:
    poles = latent.Poles(["man", "king"], ["woman", "queen"])
    saved = book.save_direction("poles", poles)
    assert saved.definition == poles
    with pytest.raises(latent.AlreadyExists, match="overwrite"):
        book.save_direction("poles", GENDER)
    replaced = book.save_direction("poles", np.eye(TINY_DIM)[2] * 3, overwrite=True)
    assert isinstance(replaced.definition, np.ndarray)
    assert replaced.vector is not None
    np.testing.assert_allclose(replaced.vector, np.eye(TINY_DIM)[2], atol=1e-6)
    book.delete_direction("poles")


def test_save_errors(book: latent.Client) -> None:
    with pytest.raises(latent.InvalidArgument, match="name"):
        book.save_direction("bad name", GENDER)
    with pytest.raises(latent.FailedPrecondition, match="config"):
        book.save_direction("royalty", GENDER, overwrite=True)
    with pytest.raises(latent.FailedPrecondition, match="config"):
        book.delete_direction("royalty")
    with pytest.raises(latent.NotFound, match="wommman"):
        book.save_direction("typo", [("man", "wommman")])


def test_saved_directions_work_by_name_everywhere(book: latent.Client) -> None:
    book.save_direction("gender-everywhere", GENDER)
    try:
        inline = book.nearest("king", k=5, exact=True, remove=[GENDER])
        named = book.nearest("king", k=5, exact=True, remove="gender-everywhere")
        assert inline.keys == named.keys
        assert book.project("gender-everywhere", ["man"]).projections[0].projection < -0.5
        assert book.similarity("king", "queen", remove="royalty").scores.shape == (1, 1)
    finally:
        book.delete_direction("gender-everywhere")


# ---------------------------------------------------------------------------
# Project, Navigate, Associate, Components


def test_project_terms_and_ends(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    terms = ["man", "woman", "cat", "King"]
    result = client.project(GENDER, terms, top=4)
    assert isinstance(result, latent.ProjectResult) and result.space == "tiny"
    assert [p.term.key for p in result.projections] == ["man", "woman", "cat", "king"]
    assert result.projections[3].term.input == "King"
    expected = tiny.unit[[tiny.row[t.lower()] for t in terms]] @ gender
    np.testing.assert_allclose([p.projection for p in result.projections], expected, atol=1e-4)
    scores = tiny.unit @ gender
    assert [n.key for n in result.from_end] == [k for k, _ in tiny.top(-scores, 4)]
    np.testing.assert_allclose([n.score for n in result.from_end], np.sort(scores)[:4], atol=1e-4)
    assert_neighbors([(n.key, n.score) for n in result.to_end], tiny.top(scores, 4))


def test_project_restrict_and_terms_only(
    tiny: Tiny, client: latent.Client, gender: FloatArray
) -> None:
    restricted = client.project(GENDER, top=2, restrict=14)
    scores = tiny.unit[:14] @ gender
    assert [n.key for n in restricted.to_end] == [tiny.keys[i] for i in np.argsort(-scores)[:2]]
    assert [n.key for n in restricted.from_end] == [tiny.keys[i] for i in np.argsort(scores)[:2]]
    assert restricted.projections == []
    terms_only = client.project(GENDER, "queen")
    assert len(terms_only.projections) == 1
    assert terms_only.from_end == [] and terms_only.to_end == []
    with pytest.raises(latent.NotFound, match="kingg"):
        client.project(GENDER, ["kingg"])


def test_navigate_steps(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    result = client.navigate("king", GENDER, steps=3, step=0.25, k=4)
    assert isinstance(result, latent.NavigateResult)
    assert result.start.key == "king" and result.space == "tiny"
    assert len(result.points) == 4
    start = tiny.vec("king")
    for i, point in enumerate(result.points):
        expected = unit(start + i * 0.25 * gender)
        assert point.offset == pytest.approx(i * 0.25, abs=1e-5)
        np.testing.assert_allclose(point.vector, expected, atol=1e-4)
        assert point.projection == pytest.approx(float(expected @ gender), abs=1e-4)
        assert_neighbors(
            [(n.key, n.score) for n in point.neighbors], tiny.top(tiny.unit @ expected, 4, {"king"})
        )
    # From king towards woman: queen comes first at the end of the walk.
    assert result.points[-1].neighbors[0].key == "queen"
    projections = [p.projection for p in result.points]
    assert projections == sorted(projections)


def test_navigate_defaults_and_target(client: latent.Client) -> None:
    default = client.navigate("king", GENDER)
    assert len(default.points) == 7  # server defaults: 6 steps, 5 neighbours
    assert all(len(p.neighbors) == 5 for p in default.points)
    target = client.navigate("king", GENDER, steps=4, target=0.5, k=2)
    assert len(target.points) == 5
    assert target.points[-1].projection == pytest.approx(0.5, abs=1e-4)
    offsets = [p.offset for p in target.points]  # evenly spaced steps
    np.testing.assert_allclose(np.diff(offsets), offsets[1], atol=1e-5)
    backwards = client.navigate("queen", GENDER, steps=2, step=-0.5, k=1)
    assert backwards.points[-1].projection < backwards.points[0].projection
    with pytest.raises(latent.InvalidArgument, match="steps"):
        client.navigate("king", GENDER, steps=100_000)


def weat_expected(
    tiny: Tiny, x: list[str], y: list[str], a: list[str], b: list[str]
) -> tuple[list[float], list[float], float, float]:
    def s(w: str) -> float:
        v = tiny.vec(w)
        return float(
            (tiny.unit[[tiny.row[t] for t in a]] @ v).mean()
            - (tiny.unit[[tiny.row[t] for t in b]] @ v).mean()
        )

    sx, sy = [s(w) for w in x], [s(w) for w in y]
    effect = (np.mean(sx) - np.mean(sy)) / np.std(sx + sy)
    statistic = sum(sx) - sum(sy)
    both = sx + sy
    splits = list(itertools.combinations(range(len(both)), len(x)))
    higher = sum(
        1
        for chosen in splits
        if sum(both[i] for i in chosen) - sum(both[i] for i in range(len(both)) if i not in chosen)
        >= statistic - 1e-6
    )
    return sx, sy, float(effect), higher / len(splits)


def test_associate_exact(tiny: Tiny, client: latent.Client) -> None:
    x, y = ["king", "prince", "cat"], ["queen", "princess", "dog"]
    a, b = ["man"], ["woman"]
    result = client.associate(x, y, a, b)
    assert isinstance(result, latent.AssociationResult) and result.space == "tiny"
    sx, sy, effect, p_value = weat_expected(tiny, x, y, a, b)
    np.testing.assert_allclose(result.x_associations, sx, atol=1e-4)
    np.testing.assert_allclose(result.y_associations, sy, atol=1e-4)
    assert result.effect_size == pytest.approx(effect, abs=1e-3)
    assert result.statistic == pytest.approx(sum(sx) - sum(sy), abs=1e-3)
    assert result.exact and result.partitions == math.comb(6, 3)
    assert result.p_value == pytest.approx(p_value)
    assert result.effect_size > 1.5  # the male targets lean to the male attribute


def test_associate_sampled_and_errors(client: latent.Client) -> None:
    x = ["king", "prince", "cat", "kitten", "man", "word1", "word2"]
    y = ["queen", "princess", "dog", "frog", "woman", "word3", "word4"]
    first = client.associate(x, y, ["man"], ["woman"], permutations=200, seed=3)
    again = client.associate(x, y, ["man"], ["woman"], permutations=200, seed=3)
    assert not first.exact and first.partitions == 200
    assert first.p_value == again.p_value
    assert 0.0 <= first.p_value <= 1.0
    with pytest.raises(latent.InvalidArgument, match="targets_y"):
        client.associate(["king"], ["queen", "princess"], ["man"], ["woman"])


def test_components(tiny: Tiny, client: latent.Client) -> None:
    terms = ["cat", "dog", "king", "queen", "Paris", "berlin"]
    components = client.components(terms, 2)
    assert len(components) == 2 and all(isinstance(c, latent.Component) for c in components)
    vectors = tiny.unit[[tiny.row[t] for t in terms]].astype(np.float64)
    centred = vectors - vectors.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for i, component in enumerate(components):
        axis = vt[i] if vt[i][np.argmax(np.abs(vt[i]))] > 0 else -vt[i]
        np.testing.assert_allclose(component.vector, axis, atol=1e-4)
        share = singular[i] ** 2 / (singular**2).sum()
        assert component.explained_variance == pytest.approx(share, abs=1e-4)
        coordinates = dict(zip(terms, centred @ axis, strict=True))
        got = [(p.term.input, p.projection) for p in component.terms]
        assert [t for t, _ in got] == sorted(terms, key=coordinates.__getitem__)
        np.testing.assert_allclose([v for _, v in got], sorted(coordinates.values()), atol=1e-4)
    assert len(client.components(terms)) == 2  # the server's default
    with pytest.raises(latent.InvalidArgument, match="terms"):
        client.components(["cat"])


# ---------------------------------------------------------------------------
# remove= on every query method


def test_nearest_and_batch_nearest_remove(
    tiny: Tiny, client: latent.Client, gender: FloatArray
) -> None:
    space = neutralised(tiny.unit, gender)
    for exact in (True, False):
        result = client.nearest("king", k=5, exact=exact, remove=[GENDER])
        assert_neighbors(neighbors(result), tiny.top(space @ space[tiny.row["king"]], 5, {"king"}))
    plain = client.nearest("king", k=1)
    assert plain.keys != ["queen"]  # without the removal, queen is not first
    assert client.nearest("king", k=1, remove=[GENDER]).keys == ["queen"]
    batch = client.batch_nearest(["king", "man"], k=3, exact=True, remove=gender)
    assert_neighbors(neighbors(batch[0]), tiny.top(space @ space[tiny.row["king"]], 3, {"king"}))
    assert_neighbors(neighbors(batch[1]), tiny.top(space @ space[tiny.row["man"]], 3, {"man"}))


def test_remove_two_directions(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    animal = np.eye(TINY_DIM)[2]
    space = neutralised(tiny.unit, gender, animal)
    result = client.nearest("kitten", k=4, exact=True, remove=[GENDER, animal])
    assert_neighbors(neighbors(result), tiny.top(space @ space[tiny.row["kitten"]], 4, {"kitten"}))


def test_analogy_and_batch_analogy_remove(
    tiny: Tiny, client: latent.Client, gender: FloatArray
) -> None:
    space = neutralised(tiny.unit, gender)
    query = unit(space[tiny.row["Paris"]] - space[tiny.row["france"]] + space[tiny.row["germany"]])
    expected = tiny.top(space @ query, 3, {"Paris", "france", "germany"})
    result = client.analogy(["Paris", "germany"], ["france"], k=3, exact=True, remove=[GENDER])
    assert_neighbors(neighbors(result), expected)
    (batch,) = client.batch_analogy(
        [(["Paris", "germany"], ["france"])], k=3, exact=True, remove=[GENDER]
    )
    assert_neighbors(neighbors(batch), expected)


def test_similarity_remove(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    space = neutralised(tiny.unit, gender)
    a, b = ["king", "man"], ["queen", "woman", "cat"]
    result = client.similarity(a, b, remove=[GENDER])
    expected = space[[tiny.row[t] for t in a]] @ space[[tiny.row[t] for t in b]].T
    np.testing.assert_allclose(result.scores, expected, atol=1e-4)
    assert result.scores[0, 0] > 0.95  # king ~ queen once gender is gone


def test_encode_remove(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    words = ["king", "cat"]
    vectors = client.encode(words, "tiny", remove=[GENDER])
    np.testing.assert_allclose(vectors @ gender, 0, atol=1e-5)
    np.testing.assert_allclose(
        vectors, neutralised(tiny.unit[[tiny.row[w] for w in words]], gender), atol=1e-4
    )
    raw = client.encode(words, "tiny", normalize=False, remove=[GENDER])
    np.testing.assert_allclose(raw @ gender, 0, atol=1e-4)
    detailed = client.encode_detailed("king", "tiny", remove=gender)
    np.testing.assert_allclose(detailed.vectors, vectors[:1], atol=1e-5)


def test_encode_remove_sentence_model(client: latent.Client) -> None:
    texts = ["The king spoke.", "The queen spoke."]
    direction = latent.Pairs([(latent.Text("he"), latent.Text("she"))])
    axis = client.define_direction(direction, space=SENTENCE).vector
    vectors = client.encode(texts, SENTENCE, remove=[direction])
    np.testing.assert_allclose(vectors @ axis, 0, atol=1e-4)
    plain = client.encode(texts, SENTENCE)
    assert float(vectors[0] @ vectors[1]) > float(plain[0] @ plain[1])


def test_interpolate_remove(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    result = client.interpolate("king", "cat", steps=3, k=2, exact=True, remove=[GENDER])
    space = neutralised(tiny.unit, gender)
    for point in result.points:
        assert float(point.vector @ gender) == pytest.approx(0.0, abs=1e-4)
    np.testing.assert_allclose(result.points[0].vector, space[tiny.row["king"]], atol=1e-4)
    assert_neighbors(
        [(n.key, n.score) for n in result.points[0].neighbors],
        tiny.top(space @ space[tiny.row["king"]], 2, {"king", "cat"}),
    )


def test_navigate_remove(tiny: Tiny, client: latent.Client, gender: FloatArray) -> None:
    animal = np.eye(TINY_DIM)[2]
    result = client.navigate("king", GENDER, steps=2, k=3, exact=True, remove=animal)
    assert len(result.points) == 3
    space = neutralised(tiny.unit, animal)
    for point in result.points:
        # The walk's points are as without removal; their neighbours are those of the
        # neutralised point among the neutralised keys.
        query = neutralised(point.vector.astype(np.float64)[None], animal)[0]
        assert_neighbors(
            [(n.key, n.score) for n in point.neighbors], tiny.top(space @ query, 3, {"king"})
        )


@pytest.fixture(scope="module")
def vectors_collection(tiny: Tiny, client: latent.Client) -> str:
    """The tiny space's first 14 keys as documents of a collection of own vectors."""
    name = "directions-remove"
    client.create_collection(name, dimension=TINY_DIM)
    client.upsert(name, [{"id": k, "vector": tiny.raw[tiny.row[k]]} for k in tiny.keys[:14]])
    return name


def test_search_recommend_batch_search_remove(
    tiny: Tiny, client: latent.Client, vectors_collection: str, gender: FloatArray
) -> None:
    docs = neutralised(tiny.unit[:14], gender)
    query = tiny.vec("king")
    expected_scores = docs @ neutralised(query[None], gender)[0]
    order = np.argsort(-expected_scores)[:3]
    expected = [(tiny.keys[i], float(expected_scores[i])) for i in order]

    result = client.search(vectors_collection, query, k=3, exact=True, remove=gender)
    assert result.hits[0].id == "king"
    assert_neighbors([(h.id, h.score) for h in result.hits], expected)
    (batch,) = client.batch_search(vectors_collection, [query], k=3, exact=True, remove=gender)
    assert_neighbors([(h.id, h.score) for h in batch.hits], expected)

    recommended = client.recommend(vectors_collection, ["king"], k=2, exact=True, remove=gender)
    without_king = [(k, s) for k, s in expected if k != "king"][:2]
    assert_neighbors([(h.id, h.score) for h in recommended.hits], without_king)
    # A direction given by the collection's own documents (ids) works too.
    by_ids = client.search(vectors_collection, query, k=3, exact=True, remove=[[("man", "woman")]])
    assert by_ids.hits[0].id == "king"


def test_remove_errors(client: latent.Client) -> None:
    with pytest.raises(latent.NotFound, match="remove"):
        client.nearest("king", remove="no-such-direction")
    with pytest.raises(latent.InvalidArgument, match="remove"):
        client.similarity("king", "queen", remove=[[1.0, 2.0]])
    with pytest.raises(latent.NotFound, match="wommman"):
        client.encode("king", "tiny", remove=[[("man", "wommman")]])


# ---------------------------------------------------------------------------
# AsyncClient: the same methods, generated


def test_async_client_directions(server_target: str, gender: FloatArray) -> None:
    async def run() -> None:
        async with latent.AsyncClient(server_target, timeout=60) as client:
            fit = await client.define_direction(GENDER)
            np.testing.assert_allclose(fit.vector, gender, atol=1e-6)
            result = await client.project(GENDER, ["man"], top=1)
            assert result.projections[0].projection < 0
            nearest = await client.nearest("king", k=1, remove=[GENDER])
            assert nearest.keys == ["queen"]
            components = await client.components(["cat", "dog", "king"], 1)
            assert len(components) == 1

    asyncio.run(run())
