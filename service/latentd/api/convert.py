"""proto <-> core conversion. No arithmetic here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TypeVar

import numpy as np

from latent.v1 import latent_pb2 as pb
from latentd.core.errors import invalid
from latentd.core.types import (
    AnalogyMethod,
    IndexState,
    InterpolationPath,
    Neighbor,
    QueryOptions,
    Resolved,
    SearchResult,
    Term,
)

E = TypeVar("E", bound=Enum)

DEFAULT_K = 10
DEFAULT_STEPS = 5

INDEX_STATE = {
    IndexState.NONE: pb.INDEX_STATE_UNSPECIFIED,
    IndexState.EXACT: pb.EXACT,
    IndexState.BUILDING: pb.BUILDING,
    IndexState.HNSW: pb.HNSW,
}
MODEL_KIND = {"word": pb.WORD, "sentence": pb.SENTENCE}


def enum_value(value: int, mapping: dict[int, E], field: str, proto_enum: object) -> E:
    if value not in mapping:
        known = ", ".join(proto_enum.Name(v) for v in mapping)  # type: ignore[attr-defined]
        raise invalid(field, f"unknown value {value} (known: {known})")
    return mapping[value]


def method(value: int) -> AnalogyMethod:
    return enum_value(value, {pb.COSADD: AnalogyMethod.COSADD, pb.COSMUL: AnalogyMethod.COSMUL},
                      "method", pb.AnalogyMethod)


def path(value: int) -> InterpolationPath:
    return enum_value(value, {pb.LERP: InterpolationPath.LERP, pb.SLERP: InterpolationPath.SLERP},
                      "path", pb.InterpolationPath)


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


def optional(message: object, name: str, default: int) -> int:
    return getattr(message, name) if message.HasField(name) else default  # type: ignore[attr-defined]


def options(message: pb.QueryOptions) -> QueryOptions:
    return QueryOptions(exact=message.exact, ef=message.ef, restrict=message.restrict,
                        include_inputs=message.include_inputs)


def vector(values: np.ndarray) -> pb.Vector:
    return pb.Vector(values=values.tolist())


def neighbor_list(items: Sequence[Neighbor]) -> list[pb.Neighbor]:
    return [pb.Neighbor(key=n.key, score=n.score) for n in items]


def resolved(item: Resolved) -> pb.ResolvedTerm:
    return pb.ResolvedTerm(input=item.input, key=item.key, unknown_tokens=item.unknown_tokens)


def resolved_list(items: Sequence[Resolved]) -> list[pb.ResolvedTerm]:
    return [resolved(r) for r in items]


def analogy_response(space: str, result: SearchResult) -> pb.AnalogyResponse:
    positive, negative = result.resolved
    return pb.AnalogyResponse(
        space=space, neighbors=neighbor_list(result.neighbors),
        positive=resolved_list(positive), negative=resolved_list(negative),
        searched_with=INDEX_STATE[result.searched_with],
    )


def nearest_response(space: str, result: SearchResult) -> pb.NearestResponse:
    return pb.NearestResponse(
        space=space, neighbors=neighbor_list(result.neighbors),
        query=resolved_list(result.resolved[0]), searched_with=INDEX_STATE[result.searched_with],
    )
