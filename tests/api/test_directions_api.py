"""The Directions service and `remove` at the gRPC edge, over real servers on port 0 and
the raw generated stubs: Define against numpy, bad input (status code, the item named,
the server still serving), Save / List / Delete with persistence and config directions,
removal on the query RPCs against brute force over neutralised vectors, Project,
Navigate, Associate (WEAT) and a collection of own vectors."""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf import struct_pb2

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.config import DirectionConfig, Settings, load_settings
from latentd.core.types import DirectionSpec, Term
from latentd.testing import start_test_server

Code = grpc.StatusCode
TIMEOUT = 60
SENTENCE = "all-minilm-l6-v2"
GENDER = [("man", "woman"), ("king", "queen"), ("prince", "princess")]
Array = np.ndarray


# -- helpers ---------------------------------------------------------------------------


def unit(v: Array) -> Array:
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def neutral(vectors: Array, direction: Array) -> Array:
    """Unit vectors without their component along `direction`, renormalised."""
    d = unit(direction)
    v = np.atleast_2d(np.asarray(vectors, np.float64))
    return unit(v - np.outer(v @ d, d))


def key(word: str, weight: float | None = None) -> pb.Term:
    return pb.Term(key=word) if weight is None else pb.Term(key=word, weight=weight)


def vector_msg(values: Array) -> pb.Vector:
    return pb.Vector(values=[float(x) for x in values])


def decoded(vector: pb.Vector) -> Array:
    if vector.packed:
        return np.frombuffer(vector.packed, "<f4").astype(np.float64)
    return np.array(vector.values, np.float64)


def pairs(
    items: Sequence[tuple[str, str]] = GENDER, method: pb.DirectionMethod = pb.PCA
) -> pb.Direction:
    term_pairs = [pb.TermPair(a=key(a), b=key(b)) for a, b in items]
    return pb.Direction(pairs=pb.DirectionPairs(pairs=term_pairs, method=method))


def text_pairs(items: Sequence[tuple[str, str]]) -> pb.Direction:
    term_pairs = [pb.TermPair(a=pb.Term(text=a), b=pb.Term(text=b)) for a, b in items]
    return pb.Direction(pairs=pb.DirectionPairs(pairs=term_pairs))


def equals(field: str, value: str) -> pb.Filter:
    return pb.Filter(condition=pb.Condition(key=field, equals=struct_pb2.Value(string_value=value)))


def error_of(call: Any, request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call(request, timeout=TIMEOUT)
    return err.value


def expect(call: Any, request: Any, code: grpc.StatusCode, *needles: str) -> str:
    err = error_of(call, request)
    details = str(err.details())
    assert err.code() == code, (err.code(), details)
    for needle in needles:
        assert needle in details, (needle, details)
    return details


def ranked(scores: Array, k: int, exclude: Sequence[int] = ()) -> tuple[list[int], Array]:
    scores = np.array(scores, np.float64)
    scores[list(exclude)] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return order.tolist(), scores[order]


@dataclass
class Stubs:
    directions: pb_grpc.DirectionsStub
    arithmetic: pb_grpc.ArithmeticStub
    embeddings: pb_grpc.EmbeddingsStub
    collections: pb_grpc.CollectionsStub

    def define(self, direction: pb.Direction, space: str = "tiny", **kw: Any) -> Array:
        request = pb.DefineRequest(space=space, direction=direction, **kw)
        return decoded(self.directions.Define(request, timeout=TIMEOUT).vector)

    def listed(self, **kw: Any) -> dict[str, pb.SavedDirection]:
        reply = self.directions.List(pb.ListDirectionsRequest(**kw), timeout=TIMEOUT)
        return {d.name: d for d in reply.directions}

    def nearest(self, words: Sequence[str], remove: pb.Direction, **kw: Any) -> Any:
        options = pb.QueryOptions(remove=[remove], **kw)
        request = pb.NearestRequest(
            space="tiny", query=[key(w) for w in words], k=5, options=options
        )
        return self.arithmetic.Nearest(request, timeout=TIMEOUT)


@contextmanager
def stubs_for(target: str) -> Iterator[Stubs]:
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        yield Stubs(
            pb_grpc.DirectionsStub(channel),
            pb_grpc.ArithmeticStub(channel),
            pb_grpc.EmbeddingsStub(channel),
            pb_grpc.CollectionsStub(channel),
        )


@contextmanager
def own_server(tiny_kv: Any, data_dir: Path, **kw: Any) -> Iterator[Stubs]:
    server = start_test_server(tiny_kv, sentence_model=False, data_dir=data_dir, **kw)
    with server as target, stubs_for(target) as stubs:
        yield stubs


@dataclass(frozen=True)
class Tiny:
    keys: list[str]
    unit: Array  # float64 unit rows

    def rows(self, *words: str) -> list[int]:
        return [self.keys.index(w) for w in words]

    def vec(self, word: str) -> Array:
        return np.asarray(self.unit[self.keys.index(word)])


@pytest.fixture(scope="module")
def tiny(tiny_kv: Any) -> Tiny:
    return Tiny(list(tiny_kv.index_to_key), unit(tiny_kv.vectors))


@pytest.fixture(scope="module")
def shared(server_target: str) -> Iterator[Stubs]:
    with stubs_for(server_target) as stubs:
        yield stubs


@pytest.fixture(scope="module")
def book(tiny_kv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stubs]:
    """A server of this module: a data directory of its own and a config direction."""
    spec = DirectionSpec(pairs=tuple((Term(key=a), Term(key=b)) for a, b in GENDER))
    settings = Settings(directions=(DirectionConfig("gender", "tiny", spec, "from config"),))
    with own_server(tiny_kv, tmp_path_factory.mktemp("book"), settings=settings) as stubs:
        yield stubs


def pair_figures(tiny: Tiny, items: Sequence[tuple[str, str]]) -> Array:
    a, b = zip(*items, strict=True)
    return np.asarray(tiny.unit[tiny.rows(*b)] - tiny.unit[tiny.rows(*a)])


def pca_direction(diffs: Array) -> Array:
    direction = np.linalg.svd(diffs, full_matrices=False)[2][0]
    return np.asarray(-direction if diffs.mean(axis=0) @ direction < 0 else direction)


# -- 1. Define -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [pb.PACKED, pb.FLOATS])
def test_define_pairs_equal_numpy(shared: Stubs, tiny: Tiny, fmt: pb.VectorFormat) -> None:
    diffs = pair_figures(tiny, GENDER)
    lengths = np.linalg.norm(diffs, axis=1)
    for method, expected in [
        (pb.PCA, pca_direction(diffs)),
        (pb.MEAN_DIFFERENCE, unit(diffs.mean(axis=0))),
    ]:
        request = pb.DefineRequest(direction=pairs(GENDER, method), vector_format=fmt)
        reply = shared.directions.Define(request, timeout=TIMEOUT)
        assert reply.space == "tiny"
        assert bool(reply.vector.packed) == (fmt == pb.PACKED)
        got = decoded(reply.vector)
        assert np.linalg.norm(got) == pytest.approx(1, abs=1e-5)
        np.testing.assert_allclose(got, expected, atol=1e-5)
        along = diffs @ expected
        explained = (along**2).sum() / (lengths**2).sum()
        assert reply.explained_variance == pytest.approx(explained, abs=1e-5)
        np.testing.assert_allclose(reply.pair_cosines, along / lengths, atol=1e-5)


@pytest.mark.parametrize("fmt", [pb.PACKED, pb.FLOATS])
def test_define_poles_and_vector_equal_numpy(
    shared: Stubs, tiny: Tiny, fmt: pb.VectorFormat
) -> None:
    start, end = ["man", "king", "prince"], ["woman", "queen"]
    s, e = tiny.unit[tiny.rows(*start)], tiny.unit[tiny.rows(*end)]
    expected = unit(e.mean(axis=0) - s.mean(axis=0))
    poles = pb.DirectionPoles(from_terms=[key(w) for w in start], to_terms=[key(w) for w in end])
    request = pb.DefineRequest(direction=pb.Direction(poles=poles), vector_format=fmt)
    reply = shared.directions.Define(request, timeout=TIMEOUT)
    np.testing.assert_allclose(decoded(reply.vector), expected, atol=1e-5)
    all_diffs = (e[None, :, :] - s[:, None, :]).reshape(-1, s.shape[1])
    explained = ((all_diffs @ expected) ** 2).sum() / (all_diffs**2).sum()
    assert reply.explained_variance == pytest.approx(explained, abs=1e-5)
    np.testing.assert_allclose(reply.from_projections, s @ expected, atol=1e-5)
    np.testing.assert_allclose(reply.to_projections, e @ expected, atol=1e-5)
    assert list(reply.pair_cosines) == []
    raw = np.arange(16, dtype=np.float64) - 4
    request = pb.DefineRequest(direction=pb.Direction(vector=vector_msg(raw)), vector_format=fmt)
    reply = shared.directions.Define(request, timeout=TIMEOUT)
    np.testing.assert_allclose(decoded(reply.vector), unit(raw), atol=1e-6)
    assert reply.explained_variance == pytest.approx(1.0)


# -- 2. bad input ----------------------------------------------------------------------


def test_bad_input_names_the_item_and_the_server_goes_on(shared: Stubs) -> None:
    d, a, e = shared.directions, shared.arithmetic, shared.embeddings

    def define(direction: pb.Direction) -> pb.DefineRequest:
        return pb.DefineRequest(space="tiny", direction=direction)

    invalid, not_found = Code.INVALID_ARGUMENT, Code.NOT_FOUND
    same = pairs([("man", "woman"), ("king", "king")])
    expect(d.Define, define(same), invalid, "direction.pairs[1]", "'king'")
    short = pb.Direction(vector=vector_msg(np.ones(3)))
    expect(d.Define, define(short), invalid, "direction.vector")
    expect(d.Define, define(pb.Direction(pairs=pb.DirectionPairs())), invalid, "direction")
    expect(d.Define, define(pb.Direction()), invalid, "direction")
    expect(d.Define, define(pb.Direction(name="no-such")), not_found, "direction.name", "no-such")
    unknown = pairs([("man", "woman"), ("king", "qqzzxx")])
    expect(d.Define, define(unknown), not_found, "direction.pairs[1].b", "qqzzxx")
    weat = pb.AssociateRequest(
        targets_x=[key("king"), key("prince")],
        targets_y=[key("queen")],
        attributes_a=[key("cat")],
        attributes_b=[key("dog")],
    )
    expect(d.Associate, weat, invalid, "targets_y")
    many = pb.ComponentsRequest(terms=[key("king"), key("queen"), key("cat")], n=5)
    expect(d.Components, many, invalid, "n:")
    expect(d.Project, pb.ProjectRequest(direction=pairs()), invalid, "terms")
    walk = pb.NavigateRequest(start=key("king"), direction=pairs(), target=1.5)
    expect(d.Navigate, walk, invalid, "target")
    encode = pb.EncodeRequest(model=SENTENCE, inputs=["hello"], remove=[pairs()])
    expect(e.Encode, encode, invalid, "remove[0].pairs[0].a")
    nearest = pb.NearestRequest(
        query=[key("king")], options=pb.QueryOptions(remove=[pb.Direction(name="nope")])
    )
    expect(a.Nearest, nearest, not_found, "options.remove[0].name", "nope")
    # Still serving.
    assert len(shared.define(pairs())) == 16


# -- 3. Save / List / Delete -----------------------------------------------------------


def test_save_list_overwrite_delete(book: Stubs, tiny: Tiny) -> None:
    d = book.directions
    first = pb.SaveDirectionRequest(
        space="tiny", name="g1", direction=pairs(GENDER[:1]), description="one pair"
    )
    saved = d.Save(first, timeout=TIMEOUT)
    assert (saved.space, saved.name, saved.description) == ("tiny", "g1", "one pair")
    assert not saved.from_config
    np.testing.assert_allclose(decoded(saved.vector), book.define(pairs(GENDER[:1])), atol=1e-6)
    assert saved.definition == pairs(GENDER[:1])
    listed = book.listed(space="tiny")
    assert not listed["g1"].HasField("vector")
    with_vector = book.listed(with_vector=True, vector_format=pb.PACKED)["g1"]
    np.testing.assert_allclose(decoded(with_vector.vector), decoded(saved.vector), atol=1e-7)
    expect(d.Save, first, Code.ALREADY_EXISTS, "g1", "overwrite")
    second = pb.SaveDirectionRequest(space="tiny", name="g1", direction=pairs(), overwrite=True)
    d.Save(second, timeout=TIMEOUT)
    replaced = book.listed(with_vector=True)["g1"]
    np.testing.assert_allclose(decoded(replaced.vector), book.define(pairs()), atol=1e-6)
    assert replaced.description == ""
    d.Delete(pb.DeleteDirectionRequest(space="tiny", name="g1"), timeout=TIMEOUT)
    assert "g1" not in book.listed()
    gone = pb.DeleteDirectionRequest(space="tiny", name="g1")
    expect(d.Delete, gone, Code.NOT_FOUND, "g1")
    bad = pb.SaveDirectionRequest(space="tiny", name="../x", direction=pairs())
    expect(d.Save, bad, Code.INVALID_ARGUMENT, "name")
    by_name = pb.SaveDirectionRequest(space="tiny", name="x", direction=pb.Direction(name="gender"))
    expect(d.Save, by_name, Code.INVALID_ARGUMENT, "direction")


def test_saved_directions_survive_a_restart(tiny_kv: Any, tiny: Tiny, tmp_path: Path) -> None:
    with own_server(tiny_kv, tmp_path) as stubs:
        request = pb.SaveDirectionRequest(space="tiny", name="sex", direction=pairs())
        saved = decoded(stubs.directions.Save(request, timeout=TIMEOUT).vector)
        by_pairs = stubs.nearest(["king"], pairs())
    with own_server(tiny_kv, tmp_path) as stubs:
        listed = stubs.listed(with_vector=True)
        assert list(listed) == ["sex"]
        np.testing.assert_allclose(decoded(listed["sex"].vector), saved, atol=1e-7)
        assert stubs.nearest(["king"], pb.Direction(name="sex")).neighbors == by_pairs.neighbors
        project = pb.ProjectRequest(
            space="tiny", direction=pb.Direction(name="sex"), terms=[key("queen")]
        )
        reply = stubs.directions.Project(project, timeout=TIMEOUT)
        assert reply.projections[0].projection == pytest.approx(tiny.vec("queen") @ saved, abs=1e-5)


# -- 4. config directions --------------------------------------------------------------


def check_config_direction(stubs: Stubs, name: str, direction: pb.Direction) -> None:
    listed = stubs.listed(with_vector=True)[name]
    assert listed.from_config and listed.space == "tiny"
    np.testing.assert_allclose(decoded(listed.vector), stubs.define(direction), atol=1e-6)
    named = pb.Direction(name=name)
    assert stubs.nearest(["king"], named).neighbors == stubs.nearest(["king"], direction).neighbors
    d = stubs.directions
    delete = pb.DeleteDirectionRequest(space="tiny", name=name)
    expect(d.Delete, delete, Code.FAILED_PRECONDITION, name, "config")
    save = pb.SaveDirectionRequest(space="tiny", name=name, direction=pairs(), overwrite=True)
    expect(d.Save, save, Code.FAILED_PRECONDITION, name, "config")
    assert stubs.listed()[name].from_config


def test_config_direction_is_listed_usable_and_read_only(book: Stubs) -> None:
    assert book.listed()["gender"].description == "from config"
    check_config_direction(book, "gender", pairs())


def test_config_direction_from_a_toml_file(tiny_kv: Any, tmp_path: Path) -> None:
    config = tmp_path / "latent.toml"
    config.write_text(
        '[[directions]]\nname = "formal"\nspace = "tiny"\n'
        'pairs = [["man", "woman"], ["king", "queen"]]\nmethod = "mean_difference"\n'
    )
    settings = load_settings(argparse.Namespace(config=str(config)), environ={})
    [entry] = settings.directions
    assert entry.name == "formal"
    with own_server(tiny_kv, tmp_path / "data", settings=settings) as stubs:
        check_config_direction(stubs, "formal", pairs(GENDER[:2], pb.MEAN_DIFFERENCE))


# -- 5. remove over the wire ------------------------------------------------------------

MALE = np.eye(16)[1] + 0.1 * np.eye(16)[4]  # the male axis, a little youth


def removals(tiny: Tiny) -> list[tuple[pb.Direction, Array]]:
    return [
        (pairs([("man", "woman")]), tiny.vec("woman") - tiny.vec("man")),
        (pb.Direction(vector=vector_msg(MALE)), MALE),
    ]


def assert_neighbors(got: Any, tiny: Tiny, rows: list[int], scores: Array) -> None:
    assert [n.key for n in got] == [tiny.keys[r] for r in rows]
    np.testing.assert_allclose([n.score for n in got], scores, atol=1e-5)


def brute_query(tiny: Tiny, d: Array, terms: Sequence[tuple[str, float]], k: int) -> Any:
    space = neutral(tiny.unit, d)
    rows = [tiny.keys.index(w) for w, _ in terms]
    q = unit(sum(w * neutral(tiny.vec(word), d)[0] for word, w in terms))
    return ranked(space @ q, k, rows)


@pytest.mark.parametrize("exact", [True, False])
def test_nearest_analogy_batch_with_remove_equal_brute_force(
    shared: Stubs, tiny: Tiny, exact: bool
) -> None:
    for direction, d in removals(tiny):
        options = pb.QueryOptions(exact=exact, remove=[direction])
        query = [key("king"), key("prince", 0.5)]
        reply = shared.arithmetic.Nearest(
            pb.NearestRequest(space="tiny", query=query, k=8, options=options), timeout=TIMEOUT
        )
        assert reply.searched_with == (pb.EXACT if exact else pb.HNSW)
        assert_neighbors(
            reply.neighbors, tiny, *brute_query(tiny, d, [("king", 1), ("prince", 0.5)], 8)
        )
        analogy = pb.AnalogyRequest(
            space="tiny",
            positive=[key("king"), key("woman")],
            negative=[key("man")],
            k=6,
            options=options,
        )
        reply = shared.arithmetic.Analogy(analogy, timeout=TIMEOUT)
        expected = brute_query(tiny, d, [("king", 1), ("woman", 1), ("man", -1)], 6)
        assert_neighbors(reply.neighbors, tiny, *expected)
        words = ["king", "cat", "Paris"]
        batch = pb.BatchNearestRequest(
            space="tiny",
            queries=[pb.NearestQuery(query=[key(w)]) for w in words],
            k=5,
            options=options,
        )
        results = shared.arithmetic.BatchNearest(batch, timeout=TIMEOUT).results
        for word, result in zip(words, results, strict=True):
            assert_neighbors(result.neighbors, tiny, *brute_query(tiny, d, [(word, 1)], 5))


def test_interpolate_and_similarity_with_remove(shared: Stubs, tiny: Tiny) -> None:
    for direction, d in removals(tiny):
        request = pb.InterpolateRequest(
            space="tiny",
            start=key("king"),
            end=key("cat"),
            steps=5,
            options=pb.QueryOptions(remove=[direction]),
            vector_format=pb.PACKED,
        )
        points = shared.arithmetic.Interpolate(request, timeout=TIMEOUT).points
        assert len(points) == 5
        for point in points:
            np.testing.assert_allclose(decoded(point.vector) @ unit(d), 0, atol=1e-5)
        a, b = ["king", "man"], ["queen", "woman", "cat"]
        request2 = pb.SimilarityRequest(
            space="tiny", a=[key(w) for w in a], b=[key(w) for w in b], remove=[direction]
        )
        reply = shared.arithmetic.Similarity(request2, timeout=TIMEOUT)
        expected = neutral(tiny.unit[tiny.rows(*a)], d) @ neutral(tiny.unit[tiny.rows(*b)], d).T
        assert (reply.rows, reply.cols) == (2, 3)
        np.testing.assert_allclose(reply.scores, expected.ravel(), atol=1e-5)


def test_encode_with_remove_is_orthogonal_to_the_direction(shared: Stubs) -> None:
    for space, direction, inputs in [
        ("tiny", pairs([("man", "woman")]), ["king", "cat", "prince"]),
        (
            SENTENCE,
            text_pairs([("he is here", "she is here")]),
            ["the king rode out", "a nurse at work", "he is here"],
        ),
    ]:
        d = shared.define(direction, space=space)
        request = pb.EncodeRequest(
            model=space, inputs=inputs, remove=[direction], vector_format=pb.PACKED
        )
        reply = shared.embeddings.Encode(request, timeout=TIMEOUT)
        vectors = np.stack([decoded(e.vector) for e in reply.embeddings])
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
        np.testing.assert_allclose(vectors @ d, 0, atol=1e-5)
        plain = pb.EncodeRequest(model=space, inputs=inputs, vector_format=pb.PACKED)
        before = np.stack(
            [decoded(e.vector) for e in shared.embeddings.Encode(plain, timeout=TIMEOUT).embeddings]
        )
        np.testing.assert_allclose(vectors, neutral(before, d), atol=1e-5)


# -- 6. Project and Navigate ------------------------------------------------------------


def test_project_terms_and_top(shared: Stubs, tiny: Tiny) -> None:
    d = shared.define(pairs())
    words = ["king", "queen", "cat", "Paris"]
    request = pb.ProjectRequest(space="tiny", direction=pairs(), terms=[key(w) for w in words])
    reply = shared.directions.Project(request, timeout=TIMEOUT)
    assert [p.term.key for p in reply.projections] == words
    got = [p.projection for p in reply.projections]
    np.testing.assert_allclose(got, tiny.unit[tiny.rows(*words)] @ d, atol=1e-5)
    for restrict in (0, 20):
        request = pb.ProjectRequest(space="tiny", direction=pairs(), top=5, restrict=restrict)
        reply = shared.directions.Project(request, timeout=TIMEOUT)
        values = (tiny.unit @ d)[: restrict or len(tiny.keys)]
        low, high = np.argsort(values)[:5], np.argsort(-values)[:5]
        assert [n.key for n in reply.from_end] == [tiny.keys[r] for r in low]
        assert [n.key for n in reply.to_end] == [tiny.keys[r] for r in high]
        np.testing.assert_allclose([n.score for n in reply.from_end], values[low], atol=1e-5)
        np.testing.assert_allclose([n.score for n in reply.to_end], values[high], atol=1e-5)


def test_navigate_from_king_reaches_queen(shared: Stubs) -> None:
    d = shared.define(pairs([("man", "woman")]))
    request = pb.NavigateRequest(
        space="tiny", start=key("king"), direction=pairs([("man", "woman")]), steps=6
    )
    reply = shared.directions.Navigate(request, timeout=TIMEOUT)
    assert reply.start.key == "king"
    assert len(reply.points) == 7
    np.testing.assert_allclose([p.offset for p in reply.points], 0.1 * np.arange(7), atol=1e-6)
    firsts = [p.neighbors[0].key for p in reply.points]
    assert "queen" in firsts, firsts
    for point in reply.points:
        assert "king" not in [n.key for n in point.neighbors]
        v = decoded(point.vector)
        assert np.linalg.norm(v) == pytest.approx(1, abs=1e-5)
        assert point.projection == pytest.approx(v @ d, abs=1e-5)
    request = pb.NavigateRequest(
        space="tiny", start=key("king"), direction=pairs(), steps=4, target=0.5, k=3
    )
    reply = shared.directions.Navigate(request, timeout=TIMEOUT)
    assert len(reply.points) == 5 and reply.points[0].offset == 0
    assert reply.points[-1].projection == pytest.approx(0.5, abs=1e-5)
    assert decoded(reply.points[-1].vector) @ shared.define(pairs()) == pytest.approx(0.5, abs=1e-5)


# -- 7. Associate ----------------------------------------------------------------------


def test_associate_equals_numpy_weat(shared: Stubs, tiny: Tiny) -> None:
    x, y = ["king", "prince", "man"], ["queen", "princess", "woman"]
    a, b = ["cat", "kitten", "frog"], ["dog", "Paris"]
    request = pb.AssociateRequest(
        space="tiny",
        targets_x=[key(w) for w in x],
        targets_y=[key(w) for w in y],
        attributes_a=[key(w) for w in a],
        attributes_b=[key(w) for w in b],
    )
    reply = shared.directions.Associate(request, timeout=TIMEOUT)
    ua, ub = tiny.unit[tiny.rows(*a)], tiny.unit[tiny.rows(*b)]

    def s(words: Sequence[str]) -> Array:
        w = tiny.unit[tiny.rows(*words)]
        return np.asarray((w @ ua.T).mean(axis=1) - (w @ ub.T).mean(axis=1))

    sx, sy = s(x), s(y)
    both = np.concatenate([sx, sy])
    np.testing.assert_allclose(reply.x_associations, sx, atol=1e-5)
    np.testing.assert_allclose(reply.y_associations, sy, atol=1e-5)
    effect = (sx.mean() - sy.mean()) / both.std(ddof=0)
    assert reply.effect_size == pytest.approx(effect, abs=1e-4)
    assert reply.statistic == pytest.approx(sx.sum() - sy.sum(), abs=1e-5)
    assert reply.exact and reply.partitions == math.comb(6, 3)
    observed = sx.sum() - sy.sum()
    hits = sum(
        2 * both[list(part)].sum() - both.sum() >= observed - 1e-9
        for part in itertools.combinations(range(6), 3)
    )
    assert reply.p_value == pytest.approx(hits / math.comb(6, 3))


# -- 8. a collection -------------------------------------------------------------------


def test_collection_search_and_project_with_remove_and_filter(book: Stubs) -> None:
    rng = np.random.default_rng(11)
    docs = rng.normal(0, 1, (12, 16))
    groups = ["a" if i % 3 else "b" for i in range(12)]
    name = "dir-api-docs"
    info = book.collections.CreateCollection(
        pb.CreateCollectionRequest(name=name, dimension=16, metric=pb.COSINE), timeout=TIMEOUT
    )
    assert (info.model, info.dimension) == ("", 16)
    documents = []
    for i, (v, g) in enumerate(zip(docs, groups, strict=True)):
        metadata = struct_pb2.Struct()
        metadata.update({"group": g, "n": i})
        documents.append(pb.Document(id=f"d{i}", vector=vector_msg(v), metadata=metadata))
    book.collections.Upsert(pb.UpsertRequest(collection=name, documents=documents), timeout=TIMEOUT)
    d, q = rng.normal(0, 1, 16), rng.normal(0, 1, 16)
    allowed = [i for i, g in enumerate(groups) if g == "a"]
    scores = neutral(unit(docs), d) @ neutral(q, d)[0]
    for exact in (True, False):
        request = pb.SearchRequest(
            collection=name,
            query=pb.SearchQuery(vector=vector_msg(q)),
            k=4,
            filter=equals("group", "a"),
            options=pb.QueryOptions(exact=exact, remove=[pb.Direction(vector=vector_msg(d))]),
        )
        hits = book.collections.Search(request, timeout=TIMEOUT).hits
        order = sorted(allowed, key=lambda i: -scores[i])[:4]
        assert [h.id for h in hits] == [f"d{i}" for i in order]
        np.testing.assert_allclose([h.score for h in hits], scores[order], atol=1e-5)
    request2 = pb.ProjectRequest(
        space=name, direction=pb.Direction(vector=vector_msg(d)), top=3, filter=equals("group", "a")
    )
    reply = book.directions.Project(request2, timeout=TIMEOUT)
    values = unit(docs) @ unit(d)
    low = sorted(allowed, key=lambda i: values[i])[:3]
    high = sorted(allowed, key=lambda i: -values[i])[:3]
    assert [n.key for n in reply.from_end] == [f"d{i}" for i in low]
    assert [n.key for n in reply.to_end] == [f"d{i}" for i in high]
    np.testing.assert_allclose([n.score for n in reply.to_end], values[high], atol=1e-5)


def test_a_deleted_collection_takes_its_saved_directions_along(book: Stubs) -> None:
    """A new collection of the same name starts without the old one's directions."""
    name = "dir-api-gone"
    create = pb.CreateCollectionRequest(name=name, dimension=16, metric=pb.COSINE)
    book.collections.CreateCollection(create, timeout=TIMEOUT)
    axis = pb.Direction(vector=vector_msg(np.eye(16)[0]))
    save = pb.SaveDirectionRequest(space=name, name="first-axis", direction=axis)
    book.directions.Save(save, timeout=TIMEOUT)
    assert "first-axis" in book.listed(space=name)
    book.collections.DeleteCollection(pb.DeleteCollectionRequest(name=name), timeout=TIMEOUT)
    assert book.listed(space=name) == {}
    assert "gender" in book.listed(space="tiny")  # other spaces' directions stay
    book.collections.CreateCollection(create, timeout=TIMEOUT)
    expect(
        book.directions.Define,
        pb.DefineRequest(space=name, direction=pb.Direction(name="first-axis")),
        grpc.StatusCode.NOT_FOUND,
        "first-axis",
    )
    book.collections.DeleteCollection(pb.DeleteCollectionRequest(name=name), timeout=TIMEOUT)
