"""Directions in the core: Define against numpy (Bolukbasi et al.'s PCA as their code
computes it), saved directions on disk, Project, Navigate and Components."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentd.config import ConfigError, load_settings
from latentd.core.direction_book import BOOK_FILE, DirectionBook
from latentd.core.direction_queries import (
    associate,
    components,
    define_direction,
    navigate,
    project,
    save_direction,
)
from latentd.core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from latentd.core.limits import Limits
from latentd.core.types import DirectionMethod, DirectionSpec, QueryOptions, Term
from latentd.core.word_space import WordSpace
from tests.conftest import tiny_vectors

LIMITS = Limits()


@pytest.fixture(scope="module")
def space() -> WordSpace:
    keys, vectors = tiny_vectors()
    return WordSpace("tiny", keys, vectors)


@pytest.fixture
def book(tmp_path: Path) -> DirectionBook:
    return DirectionBook(tmp_path)


def unit(space: WordSpace, key: str) -> np.ndarray:
    return space.unit[space.key_to_index[key]].astype(np.float64)


def pairs(*items: tuple[str, str], method: DirectionMethod = DirectionMethod.PCA) -> DirectionSpec:
    return DirectionSpec(pairs=tuple((Term(key=a), Term(key=b)) for a, b in items), method=method)


GENDER = (("man", "woman"), ("king", "queen"), ("prince", "princess"), ("cat", "dog"))


def bolukbasi_pca(space: WordSpace, items: tuple[tuple[str, str], ...]) -> tuple[np.ndarray, float]:
    """debiaswe's doPCA: each pair centred on its midpoint, both halves as rows, then a
    (centring) PCA; the first component and its explained variance ratio."""
    rows = []
    for a, b in items:
        center = (unit(space, a) + unit(space, b)) / 2
        rows += [unit(space, a) - center, unit(space, b) - center]
    matrix = np.array(rows)
    matrix -= matrix.mean(axis=0)
    _, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return vt[0], float(s[0] ** 2 / (s**2).sum())


def test_pairs_pca_is_bolukbasis_first_component(space: WordSpace, book: DirectionBook) -> None:
    defined = define_direction(space, pairs(*GENDER), LIMITS, book)
    expected, explained = bolukbasi_pca(space, GENDER)
    differences = np.array([unit(space, b) - unit(space, a) for a, b in GENDER])
    # The sign: from the first element of the pairs to the second.
    expected *= np.sign(differences.mean(axis=0) @ expected)
    np.testing.assert_allclose(defined.vector, expected, atol=1e-6)
    assert defined.explained_variance == pytest.approx(explained, abs=1e-6)
    cosines = differences @ expected / np.linalg.norm(differences, axis=1)
    np.testing.assert_allclose(defined.pair_cosines, cosines, atol=1e-6)
    assert float(np.linalg.norm(defined.vector)) == pytest.approx(1, abs=1e-6)
    # cat/dog lie on the same male axis in the fixture, weaker: a lower cosine is shown.
    assert min(defined.pair_cosines) > 0.5


def test_reversed_pairs_reverse_the_direction(space: WordSpace, book: DirectionBook) -> None:
    forward = define_direction(space, pairs(*GENDER), LIMITS, book)
    backward = define_direction(space, pairs(*[(b, a) for a, b in GENDER]), LIMITS, book)
    np.testing.assert_allclose(forward.vector, -backward.vector, atol=1e-6)


def test_mean_difference_and_poles(space: WordSpace, book: DirectionBook) -> None:
    defined = define_direction(
        space, pairs(*GENDER, method=DirectionMethod.MEAN_DIFFERENCE), LIMITS, book
    )
    differences = np.array([unit(space, b) - unit(space, a) for a, b in GENDER])
    mean = differences.mean(axis=0)
    np.testing.assert_allclose(defined.vector, mean / np.linalg.norm(mean), atol=1e-6)
    along = differences @ (mean / np.linalg.norm(mean))
    assert defined.explained_variance == pytest.approx(
        float((along**2).sum() / (differences**2).sum()), abs=1e-6
    )
    poles = DirectionSpec(
        from_terms=(Term(key="man"), Term(key="king")),
        to_terms=(Term(key="woman"), Term(key="queen"), Term(key="princess")),
    )
    defined = define_direction(space, poles, LIMITS, book)
    starts = np.array([unit(space, k) for k in ("man", "king")])
    ends = np.array([unit(space, k) for k in ("woman", "queen", "princess")])
    d = ends.mean(axis=0) - starts.mean(axis=0)
    d /= np.linalg.norm(d)
    np.testing.assert_allclose(defined.vector, d, atol=1e-6)
    np.testing.assert_allclose(defined.from_projections, starts @ d, atol=1e-6)
    np.testing.assert_allclose(defined.to_projections, ends @ d, atol=1e-6)
    every = np.array([e - s for s in starts for e in ends])
    assert defined.explained_variance == pytest.approx(
        float(((every @ d) ** 2).sum() / (every**2).sum()), abs=1e-6
    )


def test_bad_definitions_name_the_item(space: WordSpace, book: DirectionBook) -> None:
    with pytest.raises(InvalidArgument, match=r"direction\.pairs\[1\].*same vector.*'king'"):
        define_direction(space, pairs(("man", "woman"), ("king", "king")), LIMITS, book)
    with pytest.raises(InvalidArgument, match=r"direction\.pairs: must not be empty"):
        define_direction(space, DirectionSpec(pairs=(), form="pairs"), LIMITS, book)
    with pytest.raises(InvalidArgument, match=r"direction: give pairs, poles, a vector or"):
        define_direction(space, DirectionSpec(), LIMITS, book)
    with pytest.raises(InvalidArgument, match=r"direction\.vector: expected 16 values, got 3"):
        define_direction(space, DirectionSpec(vector=np.ones(3, np.float32)), LIMITS, book)
    with pytest.raises(NotFound, match=r"direction\.name: no direction 'gender'"):
        define_direction(space, DirectionSpec(name="gender"), LIMITS, book)
    with pytest.raises(NotFound, match=r"direction\.pairs\[0\]\.b: unknown key 'womann'"):
        define_direction(space, pairs(("man", "womann")), LIMITS, book)
    with pytest.raises(InvalidArgument, match=r"direction\.poles: the two poles have the same"):
        define_direction(
            space,
            DirectionSpec(from_terms=(Term(key="man"),), to_terms=(Term(key="man"),)),
            LIMITS,
            book,
        )


def test_saved_directions_survive_a_restart(
    space: WordSpace, book: DirectionBook, tmp_path: Path
) -> None:
    saved = save_direction(space, "gender", pairs(*GENDER), LIMITS, book, description="m/f")
    with pytest.raises(AlreadyExists, match="overwrite"):
        save_direction(space, "gender", pairs(("man", "woman")), LIMITS, book)
    reopened = DirectionBook(tmp_path)
    entry = reopened.find("tiny", "gender")
    assert entry is not None and entry.description == "m/f"
    np.testing.assert_array_equal(entry.vector, saved.vector)
    assert [(a.key, b.key) for a, b in entry.definition.pairs] == list(GENDER)
    by_name = define_direction(space, DirectionSpec(name="gender"), LIMITS, reopened)
    np.testing.assert_array_equal(by_name.vector, saved.vector)
    save_direction(space, "gender", pairs(("man", "woman")), LIMITS, reopened, overwrite=True)
    assert DirectionBook(tmp_path).find("tiny", "gender").definition.pairs[0][1].key == "woman"  # type: ignore[union-attr]
    reopened.delete("tiny", "gender")
    assert DirectionBook(tmp_path).list() == []
    with pytest.raises(NotFound):
        reopened.delete("tiny", "gender")
    assert not list(tmp_path.glob("*.tmp"))


def test_a_corrupt_book_stops_the_start_rather_than_losing_directions(tmp_path: Path) -> None:
    (tmp_path / BOOK_FILE).write_text("{not json")
    with pytest.raises(InvalidArgument, match="unreadable saved directions"):
        DirectionBook(tmp_path)


def test_bad_names_and_no_data_directory(space: WordSpace, book: DirectionBook) -> None:
    for name in ("", "../x", ".hidden", "a" * 65, "with space"):
        with pytest.raises(InvalidArgument, match="name"):
            save_direction(space, name, pairs(("man", "woman")), LIMITS, book)
    with pytest.raises(FailedPrecondition, match="data directory"):
        save_direction(space, "gender", pairs(("man", "woman")), LIMITS, DirectionBook(None))


def test_config_directions(tmp_path: Path) -> None:
    config = tmp_path / "latent.toml"
    config.write_text(
        '[[directions]]\nname = "gender"\npairs = [["man", "woman"], ["king", "queen"]]\n'
        'method = "mean_difference"\ndescription = "male to female"\n\n'
        '[[directions]]\nname = "royal"\nspace = "tiny"\nfrom = ["man"]\nto = ["king"]\n'
    )
    settings = load_settings(environ={"LATENT_CONFIG": str(config)})
    gender, royal = settings.directions
    assert gender.name == "gender" and gender.space == ""
    assert gender.definition.method is DirectionMethod.MEAN_DIFFERENCE
    assert [(a.key, b.key) for a, b in gender.definition.pairs] == [
        ("man", "woman"),
        ("king", "queen"),
    ]
    assert royal.space == "tiny" and [t.key for t in royal.definition.to_terms] == ["king"]
    config.write_text('[[directions]]\nname = "x"\npairs = [["a"]]\n')
    with pytest.raises(ConfigError, match=r"directions\[0\] \(x\): pairs must be"):
        load_settings(environ={"LATENT_CONFIG": str(config)})
    config.write_text('[[directions]]\nname = "x"\ncolour = 1\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        load_settings(environ={"LATENT_CONFIG": str(config)})


def test_project_terms_and_both_ends(space: WordSpace, book: DirectionBook) -> None:
    spec = pairs(("man", "woman"))
    d = define_direction(space, spec, LIMITS, book).vector.astype(np.float64)
    result = project(space, spec, LIMITS, book, terms=[Term(key="queen"), Term(key="king")], top=3)
    assert [r.key for r, _ in result.terms] == ["queen", "king"]
    np.testing.assert_allclose(
        [v for _, v in result.terms], [unit(space, "queen") @ d, unit(space, "king") @ d], atol=1e-6
    )
    values = space.unit.astype(np.float64) @ d
    order = np.argsort(values)
    assert [n.key for n in result.from_end] == [space.keys[i] for i in order[:3]]
    assert [n.key for n in result.to_end] == [space.keys[i] for i in order[::-1][:3]]
    np.testing.assert_allclose([n.score for n in result.to_end], values[order[::-1][:3]], atol=1e-6)
    restricted = project(space, spec, LIMITS, book, top=2, restrict=10)
    first = np.argsort(values[:10])
    assert [n.key for n in restricted.from_end] == [space.keys[i] for i in first[:2]]
    assert [n.key for n in restricted.to_end] == [space.keys[i] for i in first[::-1][:2]]
    with pytest.raises(InvalidArgument, match="terms"):
        project(space, spec, LIMITS, book)


def test_navigate_walks_from_king_to_queen(space: WordSpace, book: DirectionBook) -> None:
    spec = pairs(("man", "woman"), ("king", "queen"))
    walk = navigate(space, Term(key="king"), spec, LIMITS, book, steps=6, step=0.3, k=3)
    assert [p.offset for p in walk.points] == pytest.approx([0.3 * i for i in range(7)])
    assert all("king" not in [n.key for n in p.neighbors] for p in walk.points)
    assert any(p.neighbors[0].key == "queen" for p in walk.points)
    d = define_direction(space, spec, LIMITS, book).vector
    projections = [p.projection for p in walk.points]
    assert projections == sorted(projections)  # each step moves further along
    for p in walk.points:
        assert p.projection == pytest.approx(float(p.vector @ d), abs=1e-5)
    aimed = navigate(space, Term(key="king"), spec, LIMITS, book, steps=4, target=0.5)
    assert aimed.points[-1].projection == pytest.approx(0.5, abs=1e-5)
    assert aimed.points[0].offset == 0
    with pytest.raises(InvalidArgument, match="target"):
        navigate(space, Term(key="king"), spec, LIMITS, book, target=1.0)
    with pytest.raises(InvalidArgument, match="target: give step or target, not both"):
        navigate(space, Term(key="king"), spec, LIMITS, book, step=0.2, target=0.5)


def test_navigate_with_a_removal_returns_neutralised_points(
    space: WordSpace, book: DirectionBook
) -> None:
    royal = DirectionSpec(from_terms=(Term(key="man"),), to_terms=(Term(key="king"),))
    r = define_direction(space, royal, LIMITS, book).vector
    walk = navigate(
        space,
        Term(key="king"),
        pairs(("man", "woman")),
        LIMITS,
        book,
        steps=3,
        options=QueryOptions(remove=(royal,)),
    )
    for point in walk.points:
        assert abs(float(point.vector @ r)) < 1e-5
        assert float(np.linalg.norm(point.vector)) == pytest.approx(1, abs=1e-5)
    aimed = navigate(
        space,
        Term(key="king"),
        pairs(("man", "woman")),
        LIMITS,
        book,
        steps=3,
        target=0.4,
        options=QueryOptions(remove=(royal,)),
    )
    assert aimed.points[-1].projection == pytest.approx(0.4, abs=1e-5)
    with pytest.raises(InvalidArgument, match="direction: lies along the removed"):
        navigate(
            space,
            Term(key="king"),
            royal,
            LIMITS,
            book,
            options=QueryOptions(remove=(royal,)),
        )


def test_components_are_the_principal_axes(space: WordSpace) -> None:
    words = ["cat", "dog", "kitten", "king", "queen", "france", "germany"]
    result = components(space, [Term(key=w) for w in words], LIMITS, n=2)
    m = np.array([unit(space, w) for w in words])
    centred = m - m.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    for i, component in enumerate(result):
        axis = vt[i] * np.sign(vt[i][np.argmax(np.abs(vt[i]))])
        np.testing.assert_allclose(component.vector, axis, atol=1e-5)
        assert component.explained_variance == pytest.approx(float(s[i] ** 2 / (s**2).sum()))
        coordinates = [v for _, v in component.terms]
        assert coordinates == sorted(coordinates)
        by_word = {r.key: v for r, v in component.terms}
        np.testing.assert_allclose([by_word[w] for w in words], centred @ axis, atol=1e-5)
    with pytest.raises(InvalidArgument, match=r"n: must be between 1 and 6"):
        components(space, [Term(key=w) for w in words], LIMITS, n=7)


def test_associate_checks_sizes(space: WordSpace) -> None:
    x = [Term(key="cat"), Term(key="dog")]
    y = [Term(key="king")]
    a, b = [Term(key="man")], [Term(key="woman")]
    with pytest.raises(InvalidArgument, match="targets_y: must hold as many terms as targets_x"):
        associate(space, x, y, a, b, LIMITS)
    result = associate(space, x, [Term(key="king"), Term(key="queen")], a, b, LIMITS)
    assert result.exact and result.partitions == 6


def test_book_file_is_plain_json(space: WordSpace, book: DirectionBook, tmp_path: Path) -> None:
    """Operators can read (and back up) the saved directions."""
    save_direction(
        space, "royal", DirectionSpec(vector=np.eye(16, dtype=np.float32)[0]), LIMITS, book
    )
    document = json.loads((tmp_path / BOOK_FILE).read_text())
    [entry] = document["directions"]
    assert entry["space"] == "tiny" and entry["name"] == "royal"
    assert entry["definition"]["vector"][0] == 1.0


def test_forgetting_a_space_keeps_the_config_directions(
    space: WordSpace, book: DirectionBook, tmp_path: Path
) -> None:
    from latentd.core.direction_book import SavedDirection

    save_direction(
        space, "axis", DirectionSpec(vector=np.eye(16, dtype=np.float32)[0]), LIMITS, book
    )
    configured = SavedDirection(
        "tiny", "gender", pairs(("man", "woman")), "", 1.0, np.eye(16, dtype=np.float32)[1], True
    )
    book.add_from_config(configured)
    book.forget_space("tiny")
    assert [e.name for e in book.list("tiny")] == ["gender"]
    assert DirectionBook(tmp_path).list() == []  # the file no longer has the saved one
