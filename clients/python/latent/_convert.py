"""Python values <-> latent.v1 messages, shared by Client and AsyncClient.

Request builders validate what the proto cannot express (term forms, enum names) and
raise ``ValueError``; everything else is left to the server, which owns the limits and
the defaults: an option given as None leaves its field unset (proto3 ``optional``
fields, and the zero value of the others), so that the server's default applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from numbers import Real
from typing import Any, TypeAlias, TypeGuard, cast

import numpy as np
import numpy.typing as npt
from google.protobuf import json_format, struct_pb2

from latent.errors import InvalidArgument, LatentError, ResourceExhausted
from latent.types import (
    AnalogyResult,
    AssociationResult,
    CollectionInfo,
    Component,
    DirectionFit,
    DirectionMethod,
    Document,
    DoesntMatchResult,
    EncodeResult,
    GetResult,
    Hit,
    IndexState,
    InterpolateResult,
    InterpolationPoint,
    Metric,
    ModelInfo,
    ModelKind,
    NavigateResult,
    NavigationPoint,
    NearestResult,
    Neighbor,
    Pairs,
    Poles,
    Projection,
    ProjectResult,
    ResolvedTerm,
    SavedDirection,
    ScrollResult,
    SearchQuery,
    SearchResult,
    SimilarityResult,
    Term,
    Text,
)
from latent.v1 import latent_pb2 as pb

# What a caller may pass where the proto takes a Term.
TermLike: TypeAlias = str | Text | Term | npt.NDArray[Any] | Sequence[float]
# One term, or several terms that the server combines.
TermsLike: TypeAlias = TermLike | Sequence[TermLike]
# A filter on metadata: the dict form of :func:`filter_message`, or the message itself.
FilterLike: TypeAlias = Mapping[str, Any] | pb.Filter
# A document to upsert: latent.Document, or a dict with its fields.
DocumentLike: TypeAlias = Document | Mapping[str, Any]
# A direction of a space: a saved name (str), a sequence of (a, b) term pairs (PCA),
# latent.Pairs, latent.Poles, a vector (array or list of floats), or the message itself.
DirectionLike: TypeAlias = (
    str
    | Pairs
    | Poles
    | Sequence[tuple[TermLike, TermLike]]
    | npt.NDArray[Any]
    | Sequence[float]
    | pb.Direction
)
# One direction, or several (``remove=``).
DirectionsLike: TypeAlias = DirectionLike | Sequence[DirectionLike]

# ---------------------------------------------------------------------------
# Terms


def _is_vector(value: object) -> TypeGuard[npt.NDArray[Any] | Sequence[float]]:
    """A numpy array, or a non-empty list/tuple of plain numbers (bool is not a number here)."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(x, Real) and not isinstance(x, bool) for x in value)
    return False


def _vector(values: npt.ArrayLike) -> pb.Vector:
    # Packed little-endian float32: a copy of the array's bytes, not a list of floats.
    array = np.asarray(values, dtype="<f4")
    if array.ndim != 1:
        raise ValueError(f"a vector term must be 1-dimensional, got shape {array.shape}")
    return pb.Vector(packed=array.tobytes())


def term(value: TermLike) -> pb.Term:
    """One Term: str -> key, Text -> text, array or list of floats -> vector, Term as given."""
    if isinstance(value, str):
        return pb.Term(key=value)
    if isinstance(value, Text):
        return pb.Term(text=value.text)
    if isinstance(value, Term):
        msg = pb.Term()
        if value.key is not None:
            msg.key = value.key
        elif value.text is not None:
            msg.text = value.text
        elif value.vector is not None:
            msg.vector.CopyFrom(_vector(value.vector))
        if value.weight is not None:
            msg.weight = value.weight
        return msg
    if _is_vector(value):
        return pb.Term(vector=_vector(value))
    raise TypeError(
        f"a term is a str (key), latent.Text, latent.Term or a vector, not {type(value).__name__}"
    )


def terms(value: TermsLike) -> list[pb.Term]:
    """One term or a sequence of terms; a list of numbers is one vector term."""
    if isinstance(value, (str, Text, Term)) or _is_vector(value):
        return [term(value)]
    if isinstance(value, Iterable):
        # Not one term, so a sequence of them: TypeGuard cannot say so, a cast can.
        return [term(v) for v in cast("Iterable[TermLike]", value)]
    raise TypeError(f"expected a term or a sequence of terms, not {type(value).__name__}")


def single_term(value: TermLike) -> pb.Term:
    """Exactly one term (Interpolate's start and end)."""
    converted = terms(value)
    if len(converted) != 1:
        raise ValueError(f"expected one term, got {len(converted)}")
    return converted[0]


def options(
    exact: bool,
    ef: int | None,
    restrict: int | None,
    include_inputs: bool,
    remove: DirectionsLike = (),
) -> pb.QueryOptions:
    # ef and restrict: 0 is the server's default (and no restriction).
    return pb.QueryOptions(
        exact=exact,
        ef=ef,
        restrict=restrict,
        include_inputs=include_inputs,
        remove=directions(remove),
    )


def method(name: str | None) -> pb.AnalogyMethod | None:
    if name is None:
        return None
    try:
        return {"cosadd": pb.COSADD, "cosmul": pb.COSMUL}[name.lower()]
    except KeyError:
        raise ValueError(f"method must be 'cosadd' or 'cosmul', not {name!r}") from None


def path(name: str | None) -> pb.InterpolationPath | None:
    if name is None:
        return None
    try:
        return {"lerp": pb.LERP, "slerp": pb.SLERP}[name.lower()]
    except KeyError:
        raise ValueError(f"path must be 'lerp' or 'slerp', not {name!r}") from None


def analogy_query(query: Sequence[TermsLike]) -> pb.AnalogyQuery:
    """A (positive, negative) pair; a 1-tuple means no negative terms."""
    if isinstance(query, (str, Text, Term)) or not 1 <= len(query) <= 2:
        raise ValueError("each analogy query is a (positive, negative) pair")
    negative = query[1] if len(query) == 2 else ()
    return pb.AnalogyQuery(positive=terms(query[0]), negative=terms(negative))


# ---------------------------------------------------------------------------
# Directions

_DIRECTION_METHODS: dict[DirectionMethod, pb.DirectionMethod] = {
    "pca": pb.PCA,
    "mean_difference": pb.MEAN_DIFFERENCE,
}
_DIRECTION_METHOD_NAMES: dict[int, DirectionMethod] = {
    number: name for name, number in _DIRECTION_METHODS.items()
}


def _is_term(value: object) -> bool:
    return isinstance(value, str | Text | Term) or _is_vector(value)


def _is_pairs(value: object) -> TypeGuard[Sequence[tuple[TermLike, TermLike]]]:
    """A non-empty list/tuple of (a, b) pairs of terms (a list of numbers is a vector)."""
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(
            isinstance(p, list | tuple) and len(p) == 2 and all(_is_term(t) for t in p)
            for p in value
        )
    )


def direction(value: DirectionLike) -> pb.Direction:
    """One Direction: str -> a saved name, (a, b) pairs or Pairs -> pairs, Poles ->
    poles, an array or list of floats -> a vector; a Direction message as given."""
    if isinstance(value, pb.Direction):
        return value
    if isinstance(value, str):
        return pb.Direction(name=value)
    if isinstance(value, Pairs):
        return pb.Direction(
            pairs=pb.DirectionPairs(
                pairs=[pb.TermPair(a=term(a), b=term(b)) for a, b in value.pairs],
                method=_DIRECTION_METHODS[value.method],
            )
        )
    if isinstance(value, Poles):
        return pb.Direction(
            poles=pb.DirectionPoles(
                from_terms=[term(t) for t in value.from_terms],
                to_terms=[term(t) for t in value.to_terms],
            )
        )
    if _is_vector(value):
        return pb.Direction(vector=_vector(value))
    if _is_pairs(value):
        return direction(Pairs(value))
    raise TypeError(
        "a direction is a saved name (str), a sequence of (a, b) term pairs, latent.Pairs, "
        f"latent.Poles or a vector, not {_shown_type(value)}"
    )


def _shown_type(value: object) -> str:
    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
        return f"a {type(value).__name__} of str (pairs are [(a, b), ...])"
    return type(value).__name__


def directions(value: DirectionsLike) -> list[pb.Direction]:
    """One direction or a sequence of them (``remove=``); a sequence of pairs, or a list of
    numbers, is one direction."""
    # A sequence of pairs, or of numbers, is one direction, not several.
    if (
        isinstance(value, str | Pairs | Poles | pb.Direction)
        or _is_vector(value)
        or _is_pairs(value)
    ):
        return [direction(value)]
    if isinstance(value, Iterable):
        return [direction(v) for v in cast("Iterable[DirectionLike]", value)]
    raise TypeError(f"expected a direction or a sequence of them, not {type(value).__name__}")


def define_request(value: DirectionLike, space: str) -> pb.DefineRequest:
    return pb.DefineRequest(space=space, direction=direction(value), vector_format=pb.PACKED)


def save_direction_request(
    name: str, value: DirectionLike, space: str, description: str, overwrite: bool
) -> pb.SaveDirectionRequest:
    return pb.SaveDirectionRequest(
        space=space,
        name=name,
        direction=direction(value),
        description=description,
        overwrite=overwrite,
    )


def project_request(
    value: DirectionLike,
    values: TermsLike,
    top: int | None,
    restrict: int | None,
    filter: FilterLike | None,
    space: str,
) -> pb.ProjectRequest:
    return pb.ProjectRequest(
        space=space,
        direction=direction(value),
        terms=terms(values),
        top=top,
        restrict=restrict,
        filter=filter_message(filter),
    )


def navigate_request(
    start: TermLike,
    value: DirectionLike,
    steps: int | None,
    step: float | None,
    target: float | None,
    k: int | None,
    space: str,
    query_options: pb.QueryOptions,
) -> pb.NavigateRequest:
    return pb.NavigateRequest(
        space=space,
        start=single_term(start),
        direction=direction(value),
        steps=steps,
        step=step,
        target=target,
        k=k,
        options=query_options,
        vector_format=pb.PACKED,
    )


def _term_list(values: Sequence[TermLike], field: str) -> list[pb.Term]:
    if isinstance(values, str | Text | Term):
        raise TypeError(f"{field}: expected a sequence of terms, not one term")
    return [term(t) for t in values]


def associate_request(
    targets_x: Sequence[TermLike],
    targets_y: Sequence[TermLike],
    attributes_a: Sequence[TermLike],
    attributes_b: Sequence[TermLike],
    permutations: int | None,
    seed: int,
    space: str,
) -> pb.AssociateRequest:
    return pb.AssociateRequest(
        space=space,
        targets_x=_term_list(targets_x, "targets_x"),
        targets_y=_term_list(targets_y, "targets_y"),
        attributes_a=_term_list(attributes_a, "attributes_a"),
        attributes_b=_term_list(attributes_b, "attributes_b"),
        permutations=permutations,  # 0 or None: the server's default
        seed=seed,
    )


def components_request(
    values: Sequence[TermLike], n: int | None, space: str
) -> pb.ComponentsRequest:
    return pb.ComponentsRequest(
        space=space, terms=_term_list(values, "terms"), n=n, vector_format=pb.PACKED
    )


# ---------------------------------------------------------------------------
# Requests: None leaves a field unset, so that the server's default applies


def encode_request(
    inputs: str | Sequence[str],
    model: str,
    normalize: bool | None,
    dimensions: int | None,
    prompt_name: str | None,
    truncate: bool,
    remove: DirectionsLike = (),
) -> pb.EncodeRequest:
    return pb.EncodeRequest(
        model=model,
        inputs=[inputs] if isinstance(inputs, str) else list(inputs),
        normalize=normalize,
        dimensions=dimensions,
        prompt_name=prompt_name,
        truncate=truncate,
        vector_format=pb.PACKED,
        remove=directions(remove),
    )


def analogy_request(
    positive: TermsLike,
    negative: TermsLike,
    k: int | None,
    space: str,
    method_name: str | None,
    query_options: pb.QueryOptions,
) -> pb.AnalogyRequest:
    return pb.AnalogyRequest(
        space=space,
        positive=terms(positive),
        negative=terms(negative),
        k=k,
        method=method(method_name),
        options=query_options,
    )


def batch_analogy_request(
    queries: Sequence[Sequence[TermsLike]],
    k: int | None,
    space: str,
    method_name: str | None,
    query_options: pb.QueryOptions,
) -> pb.BatchAnalogyRequest:
    return pb.BatchAnalogyRequest(
        space=space,
        queries=[analogy_query(q) for q in queries],
        k=k,
        method=method(method_name),
        options=query_options,
    )


def nearest_request(
    query: TermsLike, k: int | None, space: str, query_options: pb.QueryOptions
) -> pb.NearestRequest:
    return pb.NearestRequest(space=space, query=terms(query), k=k, options=query_options)


def batch_nearest_request(
    queries: Sequence[TermsLike], k: int | None, space: str, query_options: pb.QueryOptions
) -> pb.BatchNearestRequest:
    if isinstance(queries, str):
        raise TypeError("batch_nearest takes a sequence of queries, not a str")
    return pb.BatchNearestRequest(
        space=space,
        queries=[pb.NearestQuery(query=terms(q)) for q in queries],
        k=k,
        options=query_options,
    )


def interpolate_request(
    start: TermLike,
    end: TermLike,
    steps: int | None,
    path_name: str | None,
    k: int | None,
    space: str,
    query_options: pb.QueryOptions,
) -> pb.InterpolateRequest:
    return pb.InterpolateRequest(
        space=space,
        start=single_term(start),
        end=single_term(end),
        steps=steps,
        path=path(path_name),
        k=k,
        options=query_options,
        vector_format=pb.PACKED,
    )


def similarity_request(
    a: TermsLike, b: TermsLike, space: str, remove: DirectionsLike = ()
) -> pb.SimilarityRequest:
    return pb.SimilarityRequest(space=space, a=terms(a), b=terms(b), remove=directions(remove))


def doesnt_match_request(values: Sequence[TermLike], space: str) -> pb.DoesntMatchRequest:
    if isinstance(values, str):
        raise TypeError("doesnt_match takes a sequence of terms, not a str")
    return pb.DoesntMatchRequest(space=space, terms=[term(t) for t in values])


# ---------------------------------------------------------------------------
# Responses

_KINDS: dict[int, ModelKind] = {pb.WORD: "word", pb.SENTENCE: "sentence"}
_STATES: dict[int, IndexState] = {pb.EXACT: "exact", pb.BUILDING: "building", pb.HNSW: "hnsw"}


def index_state(value: int) -> IndexState | None:
    return _STATES.get(value)


def model_info(m: pb.ModelInfo) -> ModelInfo:
    return ModelInfo(
        name=m.name,
        kind=_KINDS.get(m.kind, "unspecified"),
        dimension=m.dimension,
        num_keys=m.num_keys,
        source=m.source,
        index_state=index_state(m.index_state),
        is_default=m.is_default,
        max_tokens=m.max_tokens,
        prompt_names=list(m.prompt_names),
        has_subwords=m.has_subwords,
    )


def neighbors(items: Iterable[pb.Neighbor]) -> list[Neighbor]:
    return [Neighbor(n.key, n.score) for n in items]


def resolved(r: pb.ResolvedTerm) -> ResolvedTerm:
    return ResolvedTerm(r.input, r.key, list(r.unknown_tokens))


def vector(v: pb.Vector) -> npt.NDArray[np.float32]:
    if v.packed:
        return np.frombuffer(v.packed, dtype="<f4").astype(np.float32)
    return np.asarray(v.values, dtype=np.float32)


def encode_result(resp: pb.EncodeResponse) -> EncodeResult:
    if resp.embeddings and all(e.vector.packed for e in resp.embeddings):
        # One buffer for the whole matrix: no array per row.
        packed = b"".join(e.vector.packed for e in resp.embeddings)
        vectors = np.frombuffer(packed, dtype="<f4").astype(np.float32)
        vectors = vectors.reshape(len(resp.embeddings), -1)
    else:
        rows = [vector(e.vector) for e in resp.embeddings]
        vectors = np.stack(rows) if rows else np.zeros((0, resp.dimension), dtype=np.float32)
    return EncodeResult(
        model=resp.model,
        dimension=resp.dimension,
        vectors=vectors,
        truncated=[e.truncated for e in resp.embeddings],
        unknown_tokens=[list(e.unknown_tokens) for e in resp.embeddings],
    )


def analogy_result(resp: pb.AnalogyResponse) -> AnalogyResult:
    return AnalogyResult(
        space=resp.space,
        neighbors=neighbors(resp.neighbors),
        positive=[resolved(r) for r in resp.positive],
        negative=[resolved(r) for r in resp.negative],
        searched_with=index_state(resp.searched_with),
    )


def nearest_result(resp: pb.NearestResponse) -> NearestResult:
    return NearestResult(
        space=resp.space,
        neighbors=neighbors(resp.neighbors),
        query=[resolved(r) for r in resp.query],
        searched_with=index_state(resp.searched_with),
    )


def interpolate_result(resp: pb.InterpolateResponse) -> InterpolateResult:
    return InterpolateResult(
        space=resp.space,
        points=[
            InterpolationPoint(t=p.t, vector=vector(p.vector), neighbors=neighbors(p.neighbors))
            for p in resp.points
        ],
        start=resolved(resp.start),
        end=resolved(resp.end),
        searched_with=index_state(resp.searched_with),
    )


def similarity_result(resp: pb.SimilarityResponse) -> SimilarityResult:
    scores = np.asarray(resp.scores, dtype=np.float32).reshape(resp.rows, resp.cols)
    return SimilarityResult(
        space=resp.space,
        scores=scores,
        a=[resolved(r) for r in resp.a],
        b=[resolved(r) for r in resp.b],
    )


def doesnt_match_result(resp: pb.DoesntMatchResponse) -> DoesntMatchResult:
    return DoesntMatchResult(
        space=resp.space,
        index=resp.index,
        key=resp.key,
        score=resp.score,
        terms=[resolved(r) for r in resp.terms],
    )


def term_value(t: pb.Term) -> TermLike:
    """A Term message as the client's value: a key as ``str``, a text as :class:`Text`
    (with a weight, or a vector: :class:`Term`)."""
    weight = t.weight if t.HasField("weight") else None
    which = t.WhichOneof("value")
    if which == "text":
        return Text(t.text) if weight is None else Term(text=t.text, weight=weight)
    if which == "vector":
        return Term(vector=vector(t.vector).tolist(), weight=weight)
    return t.key if weight is None else Term(key=t.key, weight=weight)


def definition(d: pb.Direction) -> Pairs | Poles | npt.NDArray[np.float32] | None:
    """A saved direction's definition, as given (a name is not saved, so not expected)."""
    which = d.WhichOneof("definition")
    if which == "pairs":
        return Pairs(
            [(term_value(p.a), term_value(p.b)) for p in d.pairs.pairs],
            _DIRECTION_METHOD_NAMES.get(d.pairs.method, "pca"),
        )
    if which == "poles":
        return Poles(
            [term_value(t) for t in d.poles.from_terms], [term_value(t) for t in d.poles.to_terms]
        )
    if which == "vector":
        return vector(d.vector)
    return None


def direction_fit(resp: pb.DefineResponse) -> DirectionFit:
    return DirectionFit(
        space=resp.space,
        vector=vector(resp.vector),
        explained_variance=resp.explained_variance,
        pair_cosines=list(resp.pair_cosines),
        from_projections=list(resp.from_projections),
        to_projections=list(resp.to_projections),
        name=resp.name,
    )


def saved_direction(m: pb.SavedDirection) -> SavedDirection:
    return SavedDirection(
        space=m.space,
        name=m.name,
        definition=definition(m.definition) if m.HasField("definition") else None,
        description=m.description,
        explained_variance=m.explained_variance,
        vector=vector(m.vector) if m.HasField("vector") else None,
        from_config=m.from_config,
    )


def projections(items: Iterable[pb.Projection]) -> list[Projection]:
    return [Projection(resolved(p.term), p.projection) for p in items]


def project_result(resp: pb.ProjectResponse) -> ProjectResult:
    return ProjectResult(
        space=resp.space,
        projections=projections(resp.projections),
        from_end=neighbors(resp.from_end),
        to_end=neighbors(resp.to_end),
    )


def navigate_result(resp: pb.NavigateResponse) -> NavigateResult:
    return NavigateResult(
        space=resp.space,
        points=[
            NavigationPoint(
                offset=p.offset,
                projection=p.projection,
                vector=vector(p.vector),
                neighbors=neighbors(p.neighbors),
            )
            for p in resp.points
        ],
        start=resolved(resp.start),
        searched_with=index_state(resp.searched_with),
    )


def association_result(resp: pb.AssociateResponse) -> AssociationResult:
    return AssociationResult(
        space=resp.space,
        effect_size=resp.effect_size,
        p_value=resp.p_value,
        statistic=resp.statistic,
        exact=resp.exact,
        partitions=resp.partitions,
        x_associations=list(resp.x_associations),
        y_associations=list(resp.y_associations),
    )


def component(m: pb.Component) -> Component:
    return Component(
        vector=vector(m.vector),
        explained_variance=m.explained_variance,
        terms=projections(m.terms),
    )


# ---------------------------------------------------------------------------
# Collections: metadata values, filters, documents, queries

_METRICS: dict[str, pb.Metric] = {"cosine": pb.COSINE, "dot": pb.DOT, "l2": pb.L2}
_METRIC_NAMES: dict[int, Metric] = {pb.COSINE: "cosine", pb.DOT: "dot", pb.L2: "l2"}
_RANGE = ("gt", "gte", "lt", "lte")
_TESTS = (*_RANGE, "in", "exists")
_GROUPS = ("all", "any", "none")
_DOCUMENT_FIELDS = ("id", "text", "vector", "metadata")
# Whole numbers up to this size come back from the wire (a double) as int.
_EXACT_INTS = 2**53


def metric(name: str | None) -> pb.Metric | None:
    if name is None:
        return None
    try:
        return _METRICS[name.lower()]
    except KeyError:
        raise ValueError(f"metric must be 'cosine', 'dot' or 'l2', not {name!r}") from None


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python values, for a Struct."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def struct(values: Mapping[str, Any], field: str) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    for key, value in values.items():
        try:
            message.update({key: _plain(value)})
        except (ValueError, TypeError) as error:
            raise ValueError(f"{field}[{key!r}]: {error}") from None
    return message


def _unwire(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_INTS:
        return int(value)
    if isinstance(value, list):
        return [_unwire(v) for v in value]
    return value


def metadata(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a dict; whole numbers as int (the wire carries every number as a double)."""
    return {k: _unwire(v) for k, v in json_format.MessageToDict(message).items()}


def _value(value: Any, where: str) -> struct_pb2.Value:
    value = _plain(value)
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, Real):
        return struct_pb2.Value(number_value=float(value))
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value)
    raise TypeError(f"{where}: expected a str, number or bool, not {type(value).__name__}")


def _tests(key: str, test: Any) -> list[pb.Filter]:
    """The conditions of one ``key: test`` item of the dict form."""
    where = f"filter[{key!r}]"
    if not isinstance(test, Mapping):
        if test is None:
            raise ValueError(f"{where}: None is not a value; use {{'exists': False}}")
        if isinstance(test, list | tuple | set):
            raise ValueError(f"{where}: to match any of several values use {{'in': [...]}}")
        return [pb.Filter(condition=pb.Condition(key=key, equals=_value(test, where)))]
    unknown = [op for op in test if op not in _TESTS]
    if unknown or not test:
        raise ValueError(
            f"{where}: unknown test {unknown[0]!r}; tests: {', '.join(_TESTS)}"
            if unknown
            else f"{where}: an empty test; give one of {', '.join(_TESTS)}"
        )
    out = []
    bounds = {op: test[op] for op in _RANGE if op in test}
    if bounds:
        for op, bound in bounds.items():
            if isinstance(bound, bool) or not isinstance(_plain(bound), Real):
                raise TypeError(f"{where}[{op!r}]: expected a number, not {type(bound).__name__}")
        numbers = {op: float(_plain(b)) for op, b in bounds.items()}
        out.append(pb.Filter(condition=pb.Condition(key=key, range=pb.Range(**numbers))))
    if "in" in test:
        values = test["in"]
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise TypeError(f"{where}['in']: expected a list of values")
        condition = pb.Condition(key=key)
        # `in` is a Python keyword: the field is reached with getattr.
        getattr(condition, "in").CopyFrom(
            struct_pb2.ListValue(
                values=[_value(v, f"{where}['in'][{i}]") for i, v in enumerate(values)]
            )
        )
        out.append(pb.Filter(condition=condition))
    if "exists" in test:
        if not isinstance(test["exists"], bool):
            raise TypeError(f"{where}['exists']: expected True or False")
        out.append(pb.Filter(condition=pb.Condition(key=key, exists=test["exists"])))
    return out


def filter_message(value: FilterLike | None) -> pb.Filter | None:
    """A filter in its dict form as a message (None: no filter).

    Each item of the dict is one test, and all of them must hold:

    * ``{"lang": "en"}``: equals (on a list of strings: contains);
    * ``{"year": {"gte": 2020, "lt": 2024}}``: a range (``gt``, ``gte``, ``lt``, ``lte``);
    * ``{"tag": {"in": ["a", "b"]}}``: equals one of these;
    * ``{"lang": {"exists": True}}``: the key is present (False: absent);
    * ``{"all": [f, ...]}``, ``{"any": [f, ...]}``, ``{"none": [f, ...]}``: every one, at
      least one, not one of other filters in this form. A list value makes these keys
      combinators; ``{"all": "x"}`` is a test on the metadata key ``all``.

    A ``latent.v1`` ``Filter`` message passes through as it is.
    """
    if value is None or isinstance(value, pb.Filter):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"a filter is a dict, not {type(value).__name__}")
    tests: list[pb.Filter] = []
    groups: dict[str, list[pb.Filter]] = {}
    for key, test in value.items():
        if key in _GROUPS and isinstance(test, list | tuple):
            groups[key] = [_sub_filter(f, f"filter[{key!r}][{i}]") for i, f in enumerate(test)]
        else:
            tests.extend(_tests(key, test))
    if len(tests) == 1 and not groups:
        return tests[0]
    return pb.Filter(
        all=[*tests, *groups.get("all", [])], any=groups.get("any"), none=groups.get("none")
    )


def _sub_filter(value: Any, where: str) -> pb.Filter:
    if not isinstance(value, Mapping | pb.Filter):
        raise TypeError(f"{where}: a filter is a dict, not {type(value).__name__}")
    message = filter_message(value)
    assert message is not None
    return message


def document(value: DocumentLike, where: str = "document") -> pb.Document:
    """A document to upsert: ``latent.Document`` or a dict of its fields."""
    if isinstance(value, Document):
        fields: Mapping[str, Any] = {
            "id": value.id,
            "text": value.text,
            "vector": value.vector,
            "metadata": value.metadata,
        }
    elif isinstance(value, Mapping):
        unknown = [k for k in value if k not in _DOCUMENT_FIELDS]
        if unknown:
            raise ValueError(
                f"{where}: unknown field {unknown[0]!r}; a document has "
                f"{', '.join(_DOCUMENT_FIELDS)} (put other values in metadata)"
            )
        fields = value
    else:
        raise TypeError(
            f"{where}: a document is a dict or latent.Document, not {type(value).__name__}"
        )
    doc_id = fields.get("id")
    if not isinstance(doc_id, str):
        raise TypeError(f"{where}.id: expected a str, not {type(doc_id).__name__}")
    vector = fields.get("vector")
    message = pb.Document(
        id=doc_id,
        text=fields.get("text") or "",
        vector=None if vector is None else _vector(vector),
    )
    if fields.get("metadata"):
        message.metadata.CopyFrom(struct(fields["metadata"], f"{where}.metadata"))
    return message


# Characters of text in one Upsert request: English runs about 4 characters a token, so
# this stays well under the server's default of 16,384 tokens a request. A request over
# the limit anyway (another script, a lower limit) is split by the client and sent again.
UPSERT_TEXT_CHARS = 32_000


def document_batches(
    documents: Iterable[DocumentLike], size: int, text_chars: int = UPSERT_TEXT_CHARS
) -> Iterator[tuple[int, list[pb.Document]]]:
    """``(offset, messages)`` of at most ``size`` documents each, and at most
    ``text_chars`` characters of text (unless one document holds more), converted as
    they go."""
    if size < 1:
        raise ValueError(f"batch_size must be 1 or more, got {size}")
    batch: list[pb.Document] = []
    start = chars = 0
    for i, value in enumerate(documents):
        message = document(value, f"documents[{i}]")
        if batch and chars + len(message.text) > text_chars:
            yield start, batch
            start, batch, chars = start + len(batch), [], 0
        batch.append(message)
        chars += len(message.text)
        if len(batch) == size:
            yield start, batch
            start, batch, chars = start + size, [], 0
    if batch:
        yield start, batch


# What the server says of a request over a per-request limit (latentd: "at most N ... in
# one request"; gRPC: "Received message larger than max").
_TOO_LARGE = re.compile(r"in one request|message larger than max")


def request_too_large(error: LatentError) -> bool:
    """Whether ``error`` refused a request for its size alone, so that smaller requests
    with the same documents would pass."""
    return isinstance(error, InvalidArgument | ResourceExhausted) and bool(
        _TOO_LARGE.search(error.message)
    )


_DOCUMENT_INDEX = re.compile(r"documents\[(\d+)\]")


def upsert_error(error: LatentError, offset: int, size: int) -> LatentError:
    """A failed Upsert of the ``size`` documents at ``offset``: the server numbers
    documents within its request; this numbers them within the caller's documents (and
    names the one document of a request too large alone), and says that the
    earlier batches were written (each request is all or nothing, not the whole upsert)."""
    message = error.message
    if size == 1 and request_too_large(error) and not _DOCUMENT_INDEX.search(message):
        message = f"documents[0]: {message}"
    if offset:
        message = _DOCUMENT_INDEX.sub(lambda m: f"documents[{int(m[1]) + offset}]", message)
        written = "the first document was" if offset == 1 else f"the first {offset} documents were"
        message += f" ({written} upserted by earlier requests)"
    return error if message == error.message else type(error)(error.code, message)


def search_query(
    query: TermLike | None, positive: TermsLike = (), negative: TermsLike = ()
) -> pb.SearchQuery:
    """``query``: a ``str`` or :class:`Text` is a text, a vector is a vector, and
    ``Term(key=id)`` is a stored document. In ``positive`` and ``negative`` a ``str`` is a
    document id (a key of the collection), as in ``analogy``."""
    message = pb.SearchQuery(positive=terms(positive), negative=terms(negative))
    if query is None:
        return message
    if isinstance(query, str | Text):
        message.text = query if isinstance(query, str) else query.text
    elif isinstance(query, Term):
        if query.weight is not None:
            raise ValueError("a search query has no weight; give weighted terms in positive=")
        if query.key is not None:
            message.id = query.key
        elif query.text is not None:
            message.text = query.text
        elif query.vector is not None:
            message.vector.CopyFrom(_vector(query.vector))
    elif _is_vector(query):
        message.vector.CopyFrom(_vector(query))
    else:
        raise TypeError(
            "a query is a str (text), latent.Text, latent.Term or a vector, "
            f"not {type(query).__name__}"
        )
    return message


def batch_query(value: SearchQuery | TermLike) -> pb.SearchQuery:
    if isinstance(value, SearchQuery):
        return search_query(value.query, value.positive, value.negative)
    return search_query(value)


def create_collection_request(
    name: str,
    model: str | None,
    dimension: int | None,
    metric_name: str | None,
    m: int | None,
    ef_construction: int | None,
    exist_ok: bool,
    backend: str | None = None,
) -> pb.CreateCollectionRequest:
    return pb.CreateCollectionRequest(
        name=name,
        model=model,
        dimension=dimension,
        metric=metric(metric_name),
        hnsw=pb.HnswConfig(m=m, ef_construction=ef_construction),
        exist_ok=exist_ok,
        backend=backend,
    )


def search_request(
    collection: str,
    query: pb.SearchQuery,
    k: int | None,
    filter: FilterLike | None,
    query_options: pb.QueryOptions,
    with_text: bool,
    with_metadata: bool,
    with_vector: bool,
    score_threshold: float | None,
) -> pb.SearchRequest:
    return pb.SearchRequest(
        collection=collection,
        query=query,
        k=k,
        filter=filter_message(filter),
        options=query_options,
        with_text=with_text,
        with_metadata=with_metadata,
        with_vector=with_vector,
        score_threshold=score_threshold,
        vector_format=pb.PACKED,
    )


def batch_search_request(
    collection: str,
    queries: Sequence[SearchQuery | TermLike],
    k: int | None,
    filter: FilterLike | None,
    query_options: pb.QueryOptions,
    with_text: bool,
    with_metadata: bool,
    with_vector: bool,
    score_threshold: float | None,
) -> pb.BatchSearchRequest:
    if isinstance(queries, str):
        raise TypeError("batch_search takes a sequence of queries, not a str")
    return pb.BatchSearchRequest(
        collection=collection,
        queries=[batch_query(q) for q in queries],
        k=k,
        filter=filter_message(filter),
        options=query_options,
        with_text=with_text,
        with_metadata=with_metadata,
        with_vector=with_vector,
        score_threshold=score_threshold,
        vector_format=pb.PACKED,
    )


def collection_info(m: pb.CollectionInfo) -> CollectionInfo:
    return CollectionInfo(
        name=m.name,
        model=m.model,
        dimension=m.dimension,
        metric=_METRIC_NAMES.get(m.metric, "cosine"),
        m=m.hnsw.m,
        ef_construction=m.hnsw.ef_construction,
        count=m.count,
        index_state=index_state(m.index_state),
        disk_bytes=m.disk_bytes,
        backend=m.backend or "embedded",
    )


def document_result(m: pb.Document) -> Document:
    return Document(
        id=m.id,
        text=m.text,
        vector=vector(m.vector) if m.HasField("vector") else None,
        metadata=metadata(m.metadata),
    )


def get_result(resp: pb.GetResponse) -> GetResult:
    return GetResult(
        documents=[document_result(d) for d in resp.documents], missing=list(resp.missing)
    )


def scroll_result(resp: pb.ScrollResponse) -> ScrollResult:
    return ScrollResult(
        documents=[document_result(d) for d in resp.documents],
        next_page_token=resp.next_page_token,
    )


def hit(m: pb.Hit) -> Hit:
    return Hit(
        id=m.id,
        score=m.score,
        text=m.text,
        metadata=metadata(m.metadata),
        vector=vector(m.vector) if m.HasField("vector") else None,
    )


def search_result(resp: pb.SearchResponse) -> SearchResult:
    return SearchResult(
        collection=resp.collection,
        hits=[hit(h) for h in resp.hits],
        searched_with=index_state(resp.searched_with),
    )
