"""proto <-> core conversion: every request into the core's arguments, every result into
its response. No arithmetic here.

An optional field the caller left unset is left out of the arguments, so the core's
default applies: each default (k, steps, normalize, ...) has one owner, the core."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar

import numpy as np
from google.protobuf.message import Message

from latent.v1 import latent_pb2 as pb
from latentd.core.errors import invalid
from latentd.core.registry import Registry
from latentd.core.types import (
    AnalogyMethod,
    DoesntMatchResult,
    EncodeResult,
    IndexState,
    InterpolateResult,
    InterpolationPath,
    Neighbor,
    QueryOptions,
    Resolved,
    SearchResult,
    SimilarityResult,
    Term,
)

E = TypeVar("E", bound=Enum)
Args = dict[str, Any]

INDEX_STATE = {
    IndexState.NONE: pb.INDEX_STATE_UNSPECIFIED,
    IndexState.EXACT: pb.EXACT,
    IndexState.BUILDING: pb.BUILDING,
    IndexState.HNSW: pb.HNSW,
}
MODEL_KIND = {"word": pb.WORD, "sentence": pb.SENTENCE}


# -- pieces -----------------------------------------------------------------------------


def enum_value(value: int, mapping: dict[int, E], field: str, proto_enum: Any) -> E:
    if value not in mapping:
        known = ", ".join(proto_enum.Name(v) for v in mapping)
        raise invalid(field, f"unknown value {value} (known: {known})")
    return mapping[value]


def method(value: int) -> AnalogyMethod:
    return enum_value(
        value,
        {pb.COSADD: AnalogyMethod.COSADD, pb.COSMUL: AnalogyMethod.COSMUL},
        "method",
        pb.AnalogyMethod,
    )


def path(value: int) -> InterpolationPath:
    return enum_value(
        value,
        {pb.LERP: InterpolationPath.LERP, pb.SLERP: InterpolationPath.SLERP},
        "path",
        pb.InterpolationPath,
    )


def term(message: pb.Term) -> Term:
    weight = message.weight if message.HasField("weight") else None
    which = message.WhichOneof("value")
    if which == "key":
        return Term(key=message.key, weight=weight)
    if which == "text":
        return Term(text=message.text, weight=weight)
    if which == "vector":
        return Term(vector=np.asarray(message.vector.values, dtype=np.float32), weight=weight)
    return Term(weight=weight)  # no value: the core names the field in its error


def terms(messages: Iterable[pb.Term]) -> list[Term]:
    return [term(m) for m in messages]


def given(message: Message, *names: str) -> Args:
    """The optional fields the caller set; the core's defaults stand for the others."""
    return {name: getattr(message, name) for name in names if message.HasField(name)}


def options(message: pb.QueryOptions) -> QueryOptions:
    return QueryOptions(
        exact=message.exact,
        ef=message.ef,
        restrict=message.restrict,
        include_inputs=message.include_inputs,
    )


def vector(values: np.ndarray) -> pb.Vector:
    return pb.Vector(values=values.tolist())


def neighbor_list(items: Sequence[Neighbor]) -> list[pb.Neighbor]:
    return [pb.Neighbor(key=n.key, score=n.score) for n in items]


def resolved(item: Resolved) -> pb.ResolvedTerm:
    return pb.ResolvedTerm(input=item.input, key=item.key, unknown_tokens=item.unknown_tokens)


def resolved_list(items: Sequence[Resolved]) -> list[pb.ResolvedTerm]:
    return [resolved(r) for r in items]


# -- Models -----------------------------------------------------------------------------


def list_models_response(registry: Registry) -> pb.ListModelsResponse:
    return pb.ListModelsResponse(
        models=[
            pb.ModelInfo(
                name=space.name,
                kind=MODEL_KIND[space.kind],
                dimension=space.dimension,
                num_keys=space.size,
                source=space.source,
                index_state=INDEX_STATE[space.index_state],
                is_default=registry.is_default(space),
                max_tokens=space.max_tokens,
                prompt_names=space.prompt_names,
                has_subwords=space.has_subwords,
            )
            for space in registry.spaces()
        ]
    )


# -- Embeddings -------------------------------------------------------------------------


def encode_args(request: pb.EncodeRequest) -> Args:
    return dict(
        inputs=list(request.inputs),
        prompt_name=request.prompt_name,
        truncate=request.truncate,
        **given(request, "normalize", "dimensions"),
    )


def encode_response(model: str, result: EncodeResult) -> pb.EncodeResponse:
    return pb.EncodeResponse(
        model=model,
        dimension=result.vectors.shape[1],
        embeddings=[
            pb.Embedding(vector=vector(v), truncated=t, unknown_tokens=u)
            for v, t, u in zip(result.vectors, result.truncated, result.unknown_tokens, strict=True)
        ],
    )


# -- Arithmetic -------------------------------------------------------------------------


def _search_args(request: Any) -> Args:
    return dict(options=options(request.options), **given(request, "k"))


def analogy_args(request: pb.AnalogyRequest) -> Args:
    return dict(
        queries=[(terms(request.positive), terms(request.negative))],
        method=method(request.method),
        **_search_args(request),
    )


def batch_analogy_args(request: pb.BatchAnalogyRequest) -> Args:
    return dict(
        queries=[(terms(q.positive), terms(q.negative)) for q in request.queries],
        method=method(request.method),
        prefix="queries[{i}].",
        **_search_args(request),
    )


def analogy_response(space: str, result: SearchResult) -> pb.AnalogyResponse:
    positive, negative = result.resolved
    return pb.AnalogyResponse(
        space=space,
        neighbors=neighbor_list(result.neighbors),
        positive=resolved_list(positive),
        negative=resolved_list(negative),
        searched_with=INDEX_STATE[result.searched_with],
    )


def batch_analogy_response(space: str, results: Sequence[SearchResult]) -> pb.BatchAnalogyResponse:
    return pb.BatchAnalogyResponse(results=[analogy_response(space, r) for r in results])


def nearest_args(request: pb.NearestRequest) -> Args:
    return dict(queries=[terms(request.query)], **_search_args(request))


def batch_nearest_args(request: pb.BatchNearestRequest) -> Args:
    return dict(
        queries=[terms(q.query) for q in request.queries],
        prefix="queries[{i}].",
        **_search_args(request),
    )


def nearest_response(space: str, result: SearchResult) -> pb.NearestResponse:
    return pb.NearestResponse(
        space=space,
        neighbors=neighbor_list(result.neighbors),
        query=resolved_list(result.resolved[0]),
        searched_with=INDEX_STATE[result.searched_with],
    )


def batch_nearest_response(space: str, results: Sequence[SearchResult]) -> pb.BatchNearestResponse:
    return pb.BatchNearestResponse(results=[nearest_response(space, r) for r in results])


def interpolate_args(request: pb.InterpolateRequest) -> Args:
    return dict(
        start=term(request.start),
        end=term(request.end),
        path=path(request.path),
        **given(request, "steps"),
        **_search_args(request),
    )


def interpolate_response(space: str, result: InterpolateResult) -> pb.InterpolateResponse:
    return pb.InterpolateResponse(
        space=space,
        points=[
            pb.InterpolationPoint(
                t=p.t, vector=vector(p.vector), neighbors=neighbor_list(p.neighbors)
            )
            for p in result.points
        ],
        start=resolved(result.start),
        end=resolved(result.end),
        searched_with=INDEX_STATE[result.searched_with],
    )


def similarity_args(request: pb.SimilarityRequest) -> Args:
    return dict(a=terms(request.a), b=terms(request.b))


def similarity_response(space: str, result: SimilarityResult) -> pb.SimilarityResponse:
    rows, cols = result.scores.shape
    return pb.SimilarityResponse(
        space=space,
        rows=rows,
        cols=cols,
        scores=result.scores.ravel().tolist(),
        a=resolved_list(result.a),
        b=resolved_list(result.b),
    )


def doesnt_match_args(request: pb.DoesntMatchRequest) -> Args:
    return dict(terms=terms(request.terms))


def doesnt_match_response(space: str, result: DoesntMatchResult) -> pb.DoesntMatchResponse:
    return pb.DoesntMatchResponse(
        space=space,
        index=result.index,
        key=result.key,
        score=result.score,
        terms=resolved_list(result.terms),
    )
