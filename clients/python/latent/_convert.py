"""Python values <-> latent.v1 messages, shared by Client and AsyncClient.

Request builders validate what the proto cannot express (term forms, enum names) and
raise ``ValueError``; everything else is left to the server, which owns the limits and
the defaults: an option given as None leaves its field unset (proto3 ``optional``
fields, and the zero value of the others), so that the server's default applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any, TypeAlias, TypeGuard, cast

import numpy as np
import numpy.typing as npt

from latent.types import (
    AnalogyResult,
    DoesntMatchResult,
    EncodeResult,
    IndexState,
    InterpolateResult,
    InterpolationPoint,
    ModelInfo,
    ModelKind,
    NearestResult,
    Neighbor,
    ResolvedTerm,
    SimilarityResult,
    Term,
    Text,
)
from latent.v1 import latent_pb2 as pb

# What a caller may pass where the proto takes a Term.
TermLike: TypeAlias = str | Text | Term | npt.NDArray[Any] | Sequence[float]
# One term, or several terms that the server combines.
TermsLike: TypeAlias = TermLike | Sequence[TermLike]

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
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 1:
        raise ValueError(f"a vector term must be 1-dimensional, got shape {array.shape}")
    return pb.Vector(values=array.tolist())


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
    exact: bool, ef: int | None, restrict: int | None, include_inputs: bool
) -> pb.QueryOptions:
    # ef and restrict: 0 is the server's default (and no restriction).
    return pb.QueryOptions(exact=exact, ef=ef, restrict=restrict, include_inputs=include_inputs)


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
# Requests: None leaves a field unset, so that the server's default applies


def encode_request(
    inputs: str | Sequence[str],
    model: str,
    normalize: bool | None,
    dimensions: int | None,
    prompt_name: str | None,
    truncate: bool,
) -> pb.EncodeRequest:
    return pb.EncodeRequest(
        model=model,
        inputs=[inputs] if isinstance(inputs, str) else list(inputs),
        normalize=normalize,
        dimensions=dimensions,
        prompt_name=prompt_name,
        truncate=truncate,
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
    )


def similarity_request(a: TermsLike, b: TermsLike, space: str) -> pb.SimilarityRequest:
    return pb.SimilarityRequest(space=space, a=terms(a), b=terms(b))


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
    return np.asarray(v.values, dtype=np.float32)


def encode_result(resp: pb.EncodeResponse) -> EncodeResult:
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
