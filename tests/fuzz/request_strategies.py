"""Targeted request strategies, one per RPC: requests that get past the first checks and
reach deep code (term resolution, search, removal, filters, collections' writes), built
from what the fuzz server holds (the tiny word space of tests/conftest.py, the default
sentence model, the collections and saved directions of `fixture_requests`), mixed with
the hostile values of descriptor_strategies.

`TARGETED` maps every RPC ("Service.Method") to its strategy; the fuzz test fails when an
RPC of the proto has none."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from descriptor_strategies import doubles, float32s, odd_text, within_budget
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st

from latent.v1 import latent_pb2 as pb

S = st.SearchStrategy

WORD_SPACE = "tiny"
WORD_DIM = 16
SENTENCE_MODEL = "all-minilm-l6-v2"
SENTENCE_DIM = 384
# The named words of tests/conftest.py's tiny space (it also has word0 .. word199).
TINY_WORDS = (
    "man",
    "woman",
    "king",
    "queen",
    "prince",
    "princess",
    "cat",
    "dog",
    "frog",
    "kitten",
    "Paris",
    "france",
    "berlin",
    "germany",
)
TINY_KEYS = (*TINY_WORDS, "word0", "word7", "word199")
WORD_PAIRS = (("man", "woman"), ("king", "queen"), ("prince", "princess"), ("cat", "dog"))

# Collections the fuzz server is given before the tests (see fixture_requests), and names
# the fuzz creates and deletes itself. Fixture collections are never deleted by the fuzz.
TEXT_COLLECTION = "fz-text"  # the sentence model's vectors, cosine
VECTOR_COLLECTION = "fz-vec"  # 16-d vectors given, cosine
DOT_COLLECTION = "fz-dot"  # 16-d, inner product
L2_COLLECTION = "fz-l2"  # 4-d, Euclidean
FIXTURE_COLLECTIONS = (TEXT_COLLECTION, VECTOR_COLLECTION, DOT_COLLECTION, L2_COLLECTION)
SCRATCH_COLLECTIONS = ("fz-tmp-0", "fz-tmp-1", "fz-tmp.2")
BAD_NAMES = ("", "nope", ".hidden", "a/b", "../fz-vec", "x" * 65, "fz vec", "FZ-VEC", "fz-vec\x00")
# Directions saved before the tests, and names the fuzz saves and deletes itself.
SAVED_DIRECTIONS = {WORD_SPACE: "fz-gender", VECTOR_COLLECTION: "fz-axis"}
DIRECTION_NAMES = ("fz-gender", "fz-axis", "fz-d0", "fz-d1", "", "nope", "bad name", "x" * 65)

TEXTS = (
    "king and queen",
    "a cat sat on the mat",
    "Paris is in france",
    "the man and the woman",
    "zzqx vvbn",
    "word0 word7",
    "  ",
)
META_KEYS = ("color", "n", "tags", "flag", "missing", "", "a.b", "ñ")
COLORS = ("red", "green", "blue", "", "é")
TAGS = ("a", "b", "c")

WEIGHTS = (1.0, -1.0, 0.0, -0.0, 0.5, 2.0, 1e30, -1e30, 1e-40, math.nan, math.inf, -math.inf)

# Each field is usually valid and sometimes not (about 1 time in 10), so that a request
# often gets past every check and reaches the deep code, and still every check is hit.
UNUSUAL = 10  # percent


@st.composite
def _weighted(draw: st.DrawFn, choices: tuple[tuple[int, S[Any]], ...]) -> Any:
    pick = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, strategy in choices:
        if pick < weight:
            return draw(strategy)
        pick -= weight
    raise AssertionError("unreachable")


def mostly(usual: S[Any], *unusual: S[Any], percent: int = UNUSUAL) -> S[Any]:
    """`usual`, else (`percent` of the time) one of `unusual`."""
    if not unusual:
        return usual
    share = max(1, percent * 100 // len(unusual))
    return _weighted(((100 * 100 - percent * 100, usual), *((share, u) for u in unusual)))


def pick(usual: tuple[Any, ...], unusual: tuple[Any, ...] = ()) -> S[Any]:
    return mostly(st.sampled_from(usual), *([st.sampled_from(unusual)] if unusual else []))


def uint32s(usual: tuple[int, ...], unusual: tuple[int, ...] = ()) -> S[int]:
    """One of `usual`; sometimes one of `unusual` (past a limit) or any uint32."""
    return mostly(
        st.sampled_from(usual),
        *([st.sampled_from(unusual)] if unusual else []),
        st.integers(0, 2**32 - 1),
    )


def maybe(strategy: S[Any], present: int = 50) -> S[Any]:
    """None (the field left unset) or a value, `present` percent of the time."""
    return _weighted(((100 - present, st.none()), (present, strategy)))


def few(strategy: S[Any], most: int = 4, least: int = 1) -> S[list[Any]]:
    """A short list; sometimes an empty one, or one element repeated past the count
    limits (64 terms, 256 inputs, 1,024 documents), within a byte budget."""
    many = st.tuples(strategy, st.sampled_from((65, 257, 1025))).map(within_budget)
    return mostly(st.lists(strategy, min_size=least, max_size=most), st.just([]), many)


def build(cls: Callable[..., Message], *oneofs: S[dict[str, Any]], **fields: S[Any]) -> S[Any]:
    """cls(**fields) with a None value left unset; each of `oneofs` gives a dict of at
    most one member (or an empty dict)."""
    parts = st.tuples(st.fixed_dictionaries(fields), *oneofs)

    def make(drawn: tuple[dict[str, Any], ...]) -> Message:
        message = cls()
        for part in drawn:
            for name, value in part.items():
                if value is not None:
                    _set(message, name, value)
        return message

    return parts.map(make)


def _set(message: Message, name: str, value: Any) -> None:
    # Messages are copied with CopyFrom: a constructor or extend() re-parses them and
    # refuses nesting past protobuf's limit, which deep_filters must be able to send.
    field = message.DESCRIPTOR.fields_by_name[name]
    target = getattr(message, name)
    if field.message_type is None:
        if field.is_repeated:
            target.extend(value)
        else:
            setattr(message, name, value)
    elif field.is_repeated:
        for item in value:
            target.add().CopyFrom(item)
    else:
        target.CopyFrom(value)


def member(name: str, strategy: S[Any]) -> S[dict[str, Any]]:
    """One member of a oneof, as a dict for build()."""
    return strategy.map(lambda value: {name: value})


NOTHING: S[dict[str, Any]] = st.just({})


# -- vectors and terms -------------------------------------------------------------------


def _vector_values(seed: int, dim: int, kind: str) -> np.ndarray:
    values = np.random.default_rng(seed).normal(0, 1, dim).astype(np.float32)
    if dim == 0:
        return values
    spot = seed % dim
    if kind == "zeros":
        values[:] = 0
    elif kind == "nan":
        values[spot] = np.nan
    elif kind == "inf":
        values[spot] = -np.inf
    elif kind == "huge":
        values[:] = np.float32(3e38)  # its squared norm overflows float32
    elif kind == "tiny":
        values[:] = np.float32(1e-45)  # subnormal: its norm underflows
    elif kind == "one-hot":
        values[:] = 0
        values[spot] = 1
    elif kind == "negative-zero":
        values[:] = -0.0
    return values


def vectors(dim: int) -> S[pb.Vector]:
    """Usually a finite vector of `dim` values, as values or packed; sometimes a wrong
    dimension, zeros, NaN, an infinity, overflowing or subnormal values, values and
    packed both, or packed bytes that are not whole floats."""
    dims = pick((dim,), (0, 1, 3, dim - 1, dim + 1))
    kinds = pick(("normal", "normal", "one-hot"), ("zeros", "nan", "inf", "huge", "tiny"))
    kinds = mostly(kinds, st.just("negative-zero"), percent=2)
    forms = pick(("values", "packed"), ("both", "ragged"))

    def make(seed: int, dim: int, kind: str, form: str) -> pb.Vector:
        values = _vector_values(seed, dim, kind)
        packed = values.astype("<f4").tobytes()
        if form == "values":
            return pb.Vector(values=values.tolist())
        if form == "packed":
            return pb.Vector(packed=packed)
        if form == "both":
            return pb.Vector(values=values.tolist(), packed=packed)
        return pb.Vector(packed=packed + b"\x01" * (1 + seed % 3))

    return st.builds(make, st.integers(0, 2**32 - 1), dims, kinds, forms)


@dataclass(frozen=True)
class Target:
    """A space a request is aimed at: its name, the dimension of its vectors and keys it
    holds (words of the tiny space, ids of a collection's documents)."""

    name: str
    dim: int
    keys: tuple[str, ...]
    encodes_text: bool = True  # a collection of own vectors has no model for text terms


TEXT_IDS = tuple(f"t{i}" for i in range(12))
VECTOR_IDS = (*(f"d{i}" for i in range(12)), *(f"v{i}" for i in range(12, 40)))
WORD_TARGET = Target(WORD_SPACE, WORD_DIM, TINY_KEYS)
GOOD_TARGETS = (
    Target("", WORD_DIM, TINY_KEYS),
    WORD_TARGET,
    Target(SENTENCE_MODEL, SENTENCE_DIM, ()),
    Target(TEXT_COLLECTION, SENTENCE_DIM, TEXT_IDS),
    Target(VECTOR_COLLECTION, WORD_DIM, VECTOR_IDS, encodes_text=False),
    Target(DOT_COLLECTION, WORD_DIM, VECTOR_IDS, encodes_text=False),
    Target(L2_COLLECTION, 4, VECTOR_IDS, encodes_text=False),
)
COLLECTION_TARGETS = GOOD_TARGETS[3:]
OTHER_TARGETS = tuple(
    Target(name, WORD_DIM, ("d0", "d1")) for name in (*SCRATCH_COLLECTIONS, *BAD_NAMES)
)
UNKNOWN_KEYS = ("KING", "Queen", "kingg", "king queen", "d0 ", "x" * 513)


def targets(good: tuple[Target, ...] = GOOD_TARGETS) -> S[Target]:
    """Mostly a space that exists (or the default one); sometimes a scratch collection
    that may or may not exist, an invalid name or odd text."""
    odd = odd_text().map(lambda name: Target(name, WORD_DIM, TINY_KEYS))
    return mostly(st.sampled_from(good), st.sampled_from(OTHER_TARGETS), odd)


def aimed(make: Callable[[Target], S[Any]], good: tuple[Target, ...] = GOOD_TARGETS) -> S[Any]:
    """A request built for a target drawn first: its keys, vectors and directions fit
    that space (or, now and then, do not)."""
    return targets(good).flatmap(make)


def keys(target: Target) -> S[str]:
    known = st.sampled_from(target.keys or TINY_KEYS)
    return mostly(known, st.sampled_from(UNKNOWN_KEYS), odd_text())


def texts() -> S[str]:
    return mostly(st.sampled_from(TEXTS[:-1]), st.just(TEXTS[-1]), odd_text())


def weights() -> S[float | None]:
    return mostly(st.none(), st.sampled_from(WEIGHTS), float32s(), percent=15)


def terms(target: Target) -> S[pb.Term]:
    usual = [member("key", keys(target))] if target.keys else []  # a sentence model: none
    usual += [member("text", texts())] if target.encodes_text else []
    unusual = [NOTHING] + ([] if target.encodes_text else [member("text", texts())])
    return build(
        pb.Term,
        mostly(st.one_of(*usual), member("vector", vectors(target.dim)), *unusual, percent=20),
        weight=weights(),
    )


def term_lists(target: Target, most: int = 4, least: int = 1) -> S[list[pb.Term]]:
    return few(terms(target), most, least)


# -- directions, options, filters --------------------------------------------------------


def word_pairs(target: Target) -> S[pb.TermPair]:
    known = st.sampled_from(WORD_PAIRS if target.keys == TINY_KEYS else ()).map(
        lambda p: pb.TermPair(a=pb.Term(key=p[0]), b=pb.Term(key=p[1]))
    )
    any_terms = build(pb.TermPair, a=terms(target), b=terms(target))
    if target.keys != TINY_KEYS:
        return mostly(any_terms, build(pb.TermPair, a=maybe(terms(target))))
    return mostly(known, any_terms, build(pb.TermPair, a=maybe(terms(target))), percent=30)


def directions(target: Target) -> S[pb.Direction]:
    pairs = build(
        pb.DirectionPairs,
        pairs=few(word_pairs(target), 4),
        method=pick((pb.PCA, pb.MEAN_DIFFERENCE), (7, -1)),
    )
    poles = build(
        pb.DirectionPoles, from_terms=term_lists(target, 3), to_terms=term_lists(target, 3)
    )
    saved = SAVED_DIRECTIONS.get(target.name or WORD_SPACE)
    names = pick((saved,) if saved else DIRECTION_NAMES, DIRECTION_NAMES)
    return build(
        pb.Direction,
        mostly(
            st.one_of(
                member("pairs", pairs),
                member("poles", poles),
                member("vector", vectors(target.dim)),
                member("name", names),
            ),
            member("name", odd_text()),
            NOTHING,
        ),
    )


def query_options(target: Target) -> S[pb.QueryOptions]:
    return build(
        pb.QueryOptions,
        exact=st.booleans(),
        ef=uint32s((0, 0, 10, 64, 200), (1, 10_000, 10_001)),
        restrict=mostly(st.just(0), uint32s((1, 3, 10, 14, 100, 214), (215, 10**6)), percent=30),
        include_inputs=st.booleans(),
        remove=mostly(
            st.just([]), st.lists(directions(target), min_size=1, max_size=2), percent=25
        ),
    )


def removals(target: Target) -> S[list[pb.Direction]]:
    return st.lists(directions(target), min_size=1, max_size=2)


def options(target: Target) -> S[pb.QueryOptions | None]:
    return maybe(query_options(target), present=40)


def json_values(depth: int = 0) -> S[struct_pb2.Value]:
    """Any google.protobuf.Value: numbers (NaN and infinities included), strings, bools,
    null, lists and structs (nested a little)."""
    scalars = st.one_of(
        st.sampled_from(COLORS).map(lambda s: struct_pb2.Value(string_value=s)),
        odd_text().map(lambda s: struct_pb2.Value(string_value=s)),
        doubles().map(lambda x: struct_pb2.Value(number_value=x)),
        st.booleans().map(lambda b: struct_pb2.Value(bool_value=b)),
        st.just(struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)),
        st.just(struct_pb2.Value()),  # no kind set at all
    )
    if depth >= 2:
        return scalars
    inner = json_values(depth + 1)
    lists = st.lists(inner, max_size=3).map(
        lambda vs: struct_pb2.Value(list_value=struct_pb2.ListValue(values=vs))
    )
    structs = st.dictionaries(st.sampled_from(META_KEYS), inner, max_size=2).map(
        lambda d: struct_pb2.Value(struct_value=struct_pb2.Struct(fields=d))
    )
    return st.one_of(scalars, lists, structs)


def metadata() -> S[struct_pb2.Struct]:
    plain = st.fixed_dictionaries(
        {},
        optional={
            "color": st.sampled_from(COLORS).map(lambda s: struct_pb2.Value(string_value=s)),
            "n": mostly(st.floats(-100, 100), doubles()).map(
                lambda x: struct_pb2.Value(number_value=x)
            ),
            "tags": st.lists(st.sampled_from(TAGS), max_size=3).map(
                lambda ts: struct_pb2.Value(
                    list_value=struct_pb2.ListValue(
                        values=[struct_pb2.Value(string_value=t) for t in ts]
                    )
                )
            ),
            "flag": st.booleans().map(lambda b: struct_pb2.Value(bool_value=b)),
        },
    )
    wild = st.dictionaries(st.one_of(st.sampled_from(META_KEYS), odd_text()), json_values())
    return mostly(plain, wild, percent=20).map(lambda d: struct_pb2.Struct(fields=d))


def conditions() -> S[pb.Condition]:
    numbers = pick((0.0, 1.0, 2.5, 10.0, 39.0, -1.0), (1e300, math.nan, math.inf, -0.0))
    ranges = build(
        pb.Range, gt=maybe(numbers), gte=maybe(numbers), lt=maybe(numbers), lte=maybe(numbers)
    )
    plain = st.one_of(
        st.sampled_from(COLORS).map(lambda s: struct_pb2.Value(string_value=s)),
        st.sampled_from(TAGS).map(lambda s: struct_pb2.Value(string_value=s)),
        numbers.map(lambda x: struct_pb2.Value(number_value=x)),
        st.booleans().map(lambda b: struct_pb2.Value(bool_value=b)),
    )
    values = mostly(plain, json_values(1))
    ins = st.lists(values, min_size=1, max_size=4).map(lambda vs: struct_pb2.ListValue(values=vs))
    tests = mostly(
        st.one_of(
            member("equals", values),
            member("in", ins),
            member("range", ranges),
            member("exists", st.booleans()),
        ),
        NOTHING,
        member("in", st.just(struct_pb2.ListValue())),
    )
    return build(pb.Condition, tests, key=mostly(st.sampled_from(META_KEYS[:5]), odd_text()))


def filters() -> S[pb.Filter]:
    leaf = build(pb.Filter, condition=conditions())
    nested = st.recursive(
        leaf,
        lambda inner: build(
            pb.Filter,
            condition=maybe(conditions()),
            all=st.lists(inner, max_size=2),
            any=st.lists(inner, max_size=2),
            none=st.lists(inner, max_size=2),
        ),
        max_leaves=6,
    )
    return mostly(st.one_of(leaf, nested), st.just(pb.Filter()), deep_filters())


def deep_filters() -> S[pb.Filter]:
    """A chain of `all` filters, deeper than the server's filter limit (16) and than
    protobuf's parse limit (100 levels of nesting)."""

    def chain(depth: int) -> pb.Filter:
        top = pb.Filter()
        inner = top
        for _ in range(depth):
            inner = inner.all.add()  # in place: see _set
        inner.condition.key = "n"
        inner.condition.exists = True
        return top

    return st.sampled_from((15, 17, 60, 98, 99, 100, 101, 150, 400)).map(chain)


# -- Models, Embeddings, Arithmetic ------------------------------------------------------

FORMATS = pick((pb.FLOATS, pb.PACKED), (2, 99, -1))
METHODS = pick((pb.COSADD, pb.COSMUL), (2, -5))


def ks() -> S[int | None]:
    return maybe(uint32s((1, 3, 10, 50), (0, 214, 1000, 1001)))


def list_models() -> S[Any]:
    return st.just(pb.ListModelsRequest())


def encode() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.EncodeRequest,
            model=st.just(t.name),
            inputs=few(texts(), 5),
            normalize=maybe(st.booleans()),
            dimensions=maybe(uint32s((1, 8, t.dim), (0, t.dim - 1, t.dim + 1)), present=20),
            prompt_name=pick(("",), ("query", "nope", "\x00")),
            truncate=st.booleans(),
            vector_format=FORMATS,
            remove=mostly(st.just([]), removals(t)),
        )
    )


def analogy() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.AnalogyRequest,
            space=st.just(t.name),
            positive=term_lists(t),
            negative=term_lists(t, 3, least=0),
            k=ks(),
            method=METHODS,
            options=options(t),
        )
    )


def batch_analogy() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.BatchAnalogyRequest,
            space=st.just(t.name),
            queries=few(
                build(
                    pb.AnalogyQuery, positive=term_lists(t, 3), negative=term_lists(t, 2, least=0)
                ),
                4,
            ),
            k=ks(),
            method=METHODS,
            options=options(t),
        )
    )


def nearest() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.NearestRequest,
            space=st.just(t.name),
            query=term_lists(t),
            k=ks(),
            options=options(t),
        )
    )


def batch_nearest() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.BatchNearestRequest,
            space=st.just(t.name),
            queries=few(build(pb.NearestQuery, query=term_lists(t, 3)), 4),
            k=ks(),
            options=options(t),
        )
    )


def interpolate() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.InterpolateRequest,
            space=st.just(t.name),
            start=mostly(terms(t), st.none()),
            end=mostly(terms(t), st.none()),
            steps=maybe(uint32s((2, 3, 5, 20), (0, 1, 256, 257))),
            path=pick((pb.LERP, pb.SLERP), (2, -1)),
            k=ks(),
            options=options(t),
            vector_format=FORMATS,
        )
    )


def similarity() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.SimilarityRequest,
            space=st.just(t.name),
            a=term_lists(t),
            b=term_lists(t),
            remove=mostly(st.just([]), removals(t)),
        )
    )


def doesnt_match() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.DoesntMatchRequest, space=st.just(t.name), terms=term_lists(t, 6, least=2)
        )
    )


# -- Directions --------------------------------------------------------------------------


def define() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.DefineRequest,
            space=st.just(t.name),
            direction=mostly(directions(t), st.none()),
            vector_format=FORMATS,
        )
    )


def direction_names() -> S[str]:
    return mostly(
        st.sampled_from(("fz-d0", "fz-d1")), st.sampled_from(DIRECTION_NAMES[4:]), odd_text()
    )


def save() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.SaveDirectionRequest,
            space=st.just(t.name),
            name=direction_names(),
            direction=mostly(directions(t), st.none()),
            description=mostly(st.just("fuzz"), odd_text()),
            overwrite=mostly(st.just(True), st.just(False), percent=30),
        )
    )


def list_directions() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.ListDirectionsRequest,
            space=st.just(t.name),
            with_vector=st.booleans(),
            vector_format=FORMATS,
        )
    )


def delete_direction() -> S[Any]:
    # Not the fixture directions by name (fixture_data_then_health saves them again).
    return aimed(
        lambda t: build(pb.DeleteDirectionRequest, space=st.just(t.name), name=direction_names())
    )


def project() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.ProjectRequest,
            space=st.just(t.name),
            direction=mostly(directions(t), st.none()),
            terms=mostly(term_lists(t), st.just([]), percent=30),
            top=maybe(uint32s((1, 3, 10), (0, 214, 1000, 1001))),
            restrict=mostly(st.just(0), uint32s((1, 3, 14, 214), (215,)), percent=30),
            filter=maybe(filters(), present=30),
        )
    )


def navigate() -> S[Any]:
    offsets = mostly(st.sampled_from((0.1, -0.1, 0.5, 1.0)), float32s())
    return aimed(
        lambda t: build(
            pb.NavigateRequest,
            space=st.just(t.name),
            start=mostly(terms(t), st.none()),
            direction=mostly(directions(t), st.none()),
            steps=maybe(uint32s((1, 2, 6), (0, 255, 256, 257))),
            step=maybe(offsets),
            target=maybe(offsets, present=20),
            k=ks(),
            options=options(t),
            vector_format=FORMATS,
        )
    )


def associate() -> S[Any]:
    # targets_y as long as targets_x, usually.
    sizes = mostly(
        st.integers(1, 5).map(lambda n: (n, n)), st.tuples(st.integers(0, 5), st.integers(0, 5))
    )
    return st.tuples(targets(), sizes).flatmap(
        lambda p: build(
            pb.AssociateRequest,
            space=st.just(p[0].name),
            targets_x=st.lists(terms(p[0]), min_size=p[1][0], max_size=p[1][0]),
            targets_y=st.lists(terms(p[0]), min_size=p[1][1], max_size=p[1][1]),
            attributes_a=term_lists(p[0], 4),
            attributes_b=term_lists(p[0], 4),
            permutations=uint32s((0, 1, 2, 10, 1000), (10_000, 100_000, 10**9)),
            seed=mostly(st.integers(0, 100), st.sampled_from((2**63, 2**64 - 1))),
        )
    )


def components() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.ComponentsRequest,
            space=st.just(t.name),
            terms=term_lists(t, 6, least=3),
            n=maybe(uint32s((1, 2), (0, 16, 17, 385)), present=30),
            vector_format=FORMATS,
        )
    )


# -- Collections -------------------------------------------------------------------------


def create_collection() -> S[Any]:
    hnsw_values = uint32s((4, 16, 32, 100, 200), (0, 1, 2, 10_000, 10**6))
    scratch = st.sampled_from(SCRATCH_COLLECTIONS)
    usual = st.one_of(
        build(
            pb.CreateCollectionRequest,
            name=scratch,
            dimension=st.sampled_from((1, 4, 16)),
            metric=st.sampled_from((pb.COSINE, pb.DOT, pb.L2)),
        ),
        build(pb.CreateCollectionRequest, name=scratch, model=st.just(SENTENCE_MODEL)),
    )
    anything = build(
        pb.CreateCollectionRequest,
        name=mostly(scratch, st.sampled_from((*FIXTURE_COLLECTIONS, *BAD_NAMES)), odd_text()),
        model=pick(("", SENTENCE_MODEL), (WORD_SPACE, "nope")),
        dimension=uint32s((0, 4, 16, 384), (1, 383, 385, 100_000)),
        metric=pick((pb.COSINE, pb.DOT, pb.L2), (3, -1)),
        hnsw=maybe(build(pb.HnswConfig, m=maybe(hnsw_values), ef_construction=maybe(hnsw_values))),
        exist_ok=st.booleans(),
    )
    return st.one_of(usual, anything)


def collection_names() -> S[str]:
    return targets(COLLECTION_TARGETS).map(lambda t: t.name)


def get_collection() -> S[Any]:
    return build(pb.GetCollectionRequest, name=collection_names())


def list_collections() -> S[Any]:
    return st.just(pb.ListCollectionsRequest())


def delete_collection() -> S[Any]:
    # Never a fixture collection: the scratch ones, which CreateCollection makes.
    names = mostly(st.sampled_from(SCRATCH_COLLECTIONS), st.sampled_from(BAD_NAMES), odd_text())
    return build(pb.DeleteCollectionRequest, name=names)


def doc_ids(target: Target) -> S[str]:
    return mostly(keys(target), st.sampled_from(("é", "x" * 512, "x" * 513, "")))


def documents(target: Target) -> S[pb.Document]:
    with_text = target.name == TEXT_COLLECTION
    return build(
        pb.Document,
        id=doc_ids(target),
        text=mostly(st.sampled_from(TEXTS[:4]), st.just(""), odd_text()),
        vector=mostly(st.none(), vectors(target.dim))
        if with_text
        else mostly(vectors(target.dim), st.none()),
        metadata=maybe(metadata(), present=80),
    )


def upsert() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.UpsertRequest, collection=st.just(t.name), documents=few(documents(t), 5)
        ),
        COLLECTION_TARGETS,
    )


def get() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.GetRequest,
            collection=st.just(t.name),
            ids=few(doc_ids(t), 5),
            with_vector=st.booleans(),
            vector_format=FORMATS,
        ),
        COLLECTION_TARGETS,
    )


def delete() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.DeleteRequest,
            collection=st.just(t.name),
            ids=few(doc_ids(t), 4),
            filter=maybe(filters(), present=30),
        ),
        COLLECTION_TARGETS,
    )


def count() -> S[Any]:
    return build(pb.CountRequest, collection=collection_names(), filter=maybe(filters()))


def page_tokens() -> S[str]:
    return mostly(
        st.just(""), st.sampled_from(("ZDM", "ZDM=", "d3", "!!!", "eA==", "\x00")), odd_text()
    )


def scroll() -> S[Any]:
    return build(
        pb.ScrollRequest,
        collection=collection_names(),
        filter=maybe(filters()),
        page_token=page_tokens(),
        limit=maybe(uint32s((1, 3, 10, 100), (0, 1000, 1001, 10_000))),
        with_vector=st.booleans(),
        vector_format=FORMATS,
    )


def search_queries(target: Target) -> S[pb.SearchQuery]:
    query = st.one_of(
        member("vector", vectors(target.dim)),
        member("id", doc_ids(target)),
        *([member("text", texts())] if target.name == TEXT_COLLECTION else []),
    )
    return build(
        pb.SearchQuery,
        mostly(query, member("text", texts()), NOTHING),
        positive=mostly(st.just([]), st.lists(terms(target), min_size=1, max_size=2)),
        negative=mostly(st.just([]), st.lists(terms(target), min_size=1, max_size=2)),
    )


def _search_fields(target: Target) -> dict[str, S[Any]]:
    thresholds = pick((0.0, 0.5, -0.5), (-1e30, 1e30, math.nan, math.inf, -math.inf))
    return {
        "collection": st.just(target.name),
        "k": ks(),
        "filter": maybe(filters(), present=30),
        "options": options(target),
        "with_text": st.booleans(),
        "with_metadata": st.booleans(),
        "with_vector": st.booleans(),
        "score_threshold": maybe(thresholds, present=20),
        "vector_format": FORMATS,
    }


def search() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.SearchRequest, query=mostly(search_queries(t), st.none()), **_search_fields(t)
        ),
        COLLECTION_TARGETS,
    )


def batch_search() -> S[Any]:
    return aimed(
        lambda t: build(
            pb.BatchSearchRequest, queries=few(search_queries(t), 4), **_search_fields(t)
        ),
        COLLECTION_TARGETS,
    )


TARGETED: dict[str, Callable[[], S[Any]]] = {
    "Models.ListModels": list_models,
    "Embeddings.Encode": encode,
    "Arithmetic.Analogy": analogy,
    "Arithmetic.BatchAnalogy": batch_analogy,
    "Arithmetic.Nearest": nearest,
    "Arithmetic.BatchNearest": batch_nearest,
    "Arithmetic.Interpolate": interpolate,
    "Arithmetic.Similarity": similarity,
    "Arithmetic.DoesntMatch": doesnt_match,
    "Directions.Define": define,
    "Directions.Save": save,
    "Directions.List": list_directions,
    "Directions.Delete": delete_direction,
    "Directions.Project": project,
    "Directions.Navigate": navigate,
    "Directions.Associate": associate,
    "Directions.Components": components,
    "Collections.CreateCollection": create_collection,
    "Collections.GetCollection": get_collection,
    "Collections.ListCollections": list_collections,
    "Collections.DeleteCollection": delete_collection,
    "Collections.Upsert": upsert,
    "Collections.Get": get,
    "Collections.Delete": delete,
    "Collections.Count": count,
    "Collections.Scroll": scroll,
    "Collections.Search": search,
    "Collections.BatchSearch": batch_search,
}


# -- what the fuzz server holds before the tests -----------------------------------------


def fixture_requests() -> list[tuple[str, Message]]:
    """(RPC, request) pairs that give the fuzz server its collections, documents and saved
    directions; sent again before each test, so deletes by earlier tests do not leave
    later ones an empty server (creates with exist_ok, upserts replace)."""
    rng = np.random.default_rng(11)
    requests: list[tuple[str, Message]] = [
        (
            "Collections.CreateCollection",
            pb.CreateCollectionRequest(name=TEXT_COLLECTION, model=SENTENCE_MODEL, exist_ok=True),
        )
    ]
    for name, dim, metric in (
        (VECTOR_COLLECTION, WORD_DIM, pb.COSINE),
        (DOT_COLLECTION, WORD_DIM, pb.DOT),
        (L2_COLLECTION, 4, pb.L2),
    ):
        requests.append(
            (
                "Collections.CreateCollection",
                pb.CreateCollectionRequest(name=name, dimension=dim, metric=metric, exist_ok=True),
            )
        )
        docs = [
            _fixture_doc(f"{'d' if i < 12 else 'v'}{i}", rng.normal(0, 1, dim), i)
            for i in range(40)
        ]
        requests.append(("Collections.Upsert", pb.UpsertRequest(collection=name, documents=docs)))
    text_docs = [
        _fixture_doc(f"t{i}", None, i, text=f"{TEXTS[i % 6]} number {i}") for i in range(12)
    ]
    requests.append(
        ("Collections.Upsert", pb.UpsertRequest(collection=TEXT_COLLECTION, documents=text_docs))
    )
    gender = pb.Direction(
        pairs=pb.DirectionPairs(
            pairs=[pb.TermPair(a=pb.Term(key=a), b=pb.Term(key=b)) for a, b in WORD_PAIRS[:3]]
        )
    )
    axis = pb.Direction(vector=pb.Vector(values=[1.0] + [0.0] * (WORD_DIM - 1)))
    for space, direction in ((WORD_SPACE, gender), (VECTOR_COLLECTION, axis)):
        requests.append(
            (
                "Directions.Save",
                pb.SaveDirectionRequest(
                    space=space,
                    name=SAVED_DIRECTIONS[space],
                    direction=direction,
                    overwrite=True,
                ),
            )
        )
    return requests


def _fixture_doc(doc_id: str, vector: Any, i: int, text: str = "") -> pb.Document:
    doc = pb.Document(id=doc_id, text=text or f"document {i}")
    if vector is not None:
        doc.vector.packed = struct.pack(f"<{len(vector)}f", *vector)
    doc.metadata.update(
        {"color": COLORS[i % 3], "n": float(i), "tags": list(TAGS[: i % 4]), "flag": i % 2 == 0}
    )
    return doc
