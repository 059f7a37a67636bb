"""Typed facade over the generated stubs: ``Client`` (blocking) and ``AsyncClient`` (asyncio).

Both take plain Python values (see :data:`TermLike`), send one RPC per method call and
return numpy arrays or the frozen dataclasses of :mod:`latent.types`. A failed call
raises a :class:`latent.LatentError` subclass chosen by its status code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import grpc
import grpc.aio
import numpy as np
import numpy.typing as npt

from latent import _convert as cv
from latent._convert import TermLike, TermsLike, channel_options
from latent.errors import from_rpc_error
from latent.types import (
    AnalogyMethod,
    AnalogyResult,
    DoesntMatchResult,
    EncodeResult,
    InterpolateResult,
    InterpolationPath,
    ModelInfo,
    NearestResult,
    SimilarityResult,
)
from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

__all__ = ["DEFAULT_TARGET", "AsyncClient", "Client", "TermLike", "TermsLike", "channel_options"]

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0


# ---------------------------------------------------------------------------
# Requests (shared by both clients)


def _encode_request(
    inputs: str | Sequence[str],
    model: str,
    normalize: bool | None,
    dimensions: int | None,
    prompt_name: str | None,
    truncate: bool,
) -> pb.EncodeRequest:
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    request = pb.EncodeRequest(
        model=model, inputs=texts, prompt_name=prompt_name or "", truncate=truncate
    )
    # Optional fields are set only when given, so the server's defaults apply otherwise.
    if normalize is not None:
        request.normalize = normalize
    if dimensions is not None:
        request.dimensions = dimensions
    return request


def _analogy_request(
    positive: TermsLike,
    negative: TermsLike,
    k: int | None,
    space: str,
    method: str,
    options: pb.QueryOptions,
) -> pb.AnalogyRequest:
    request = pb.AnalogyRequest(
        space=space,
        positive=cv.terms(positive),
        negative=cv.terms(negative),
        method=cv.method(method),
        options=options,
    )
    if k is not None:
        request.k = k
    return request


def _batch_analogy_request(
    queries: Sequence[Sequence[TermsLike]],
    k: int | None,
    space: str,
    method: str,
    options: pb.QueryOptions,
) -> pb.BatchAnalogyRequest:
    request = pb.BatchAnalogyRequest(
        space=space,
        queries=[cv.analogy_query(q) for q in queries],
        method=cv.method(method),
        options=options,
    )
    if k is not None:
        request.k = k
    return request


def _nearest_request(
    query: TermsLike, k: int | None, space: str, options: pb.QueryOptions
) -> pb.NearestRequest:
    request = pb.NearestRequest(space=space, query=cv.terms(query), options=options)
    if k is not None:
        request.k = k
    return request


def _batch_nearest_request(
    queries: Sequence[TermsLike], k: int | None, space: str, options: pb.QueryOptions
) -> pb.BatchNearestRequest:
    if isinstance(queries, str):
        raise TypeError("batch_nearest takes a sequence of queries, not a str")
    request = pb.BatchNearestRequest(
        space=space,
        queries=[pb.NearestQuery(query=cv.terms(q)) for q in queries],
        options=options,
    )
    if k is not None:
        request.k = k
    return request


def _interpolate_request(
    start: TermLike,
    end: TermLike,
    steps: int | None,
    path: str,
    k: int | None,
    space: str,
    options: pb.QueryOptions,
) -> pb.InterpolateRequest:
    request = pb.InterpolateRequest(
        space=space,
        start=cv.single_term(start),
        end=cv.single_term(end),
        path=cv.path(path),
        options=options,
    )
    if steps is not None:
        request.steps = steps
    if k is not None:
        request.k = k
    return request


def _similarity_request(a: TermsLike, b: TermsLike, space: str) -> pb.SimilarityRequest:
    return pb.SimilarityRequest(space=space, a=cv.terms(a), b=cv.terms(b))


def _doesnt_match_request(terms: Sequence[TermLike], space: str) -> pb.DoesntMatchRequest:
    if isinstance(terms, str):
        raise TypeError("doesnt_match takes a sequence of terms, not a str")
    return pb.DoesntMatchRequest(space=space, terms=[cv.term(t) for t in terms])


class _Base:
    """Channel set-up and stubs shared by both clients."""

    target: str
    timeout: float | None

    def __init__(
        self,
        target: str,
        timeout: float | None,
        wait_for_ready: bool,
        channel: Any,
    ) -> None:
        self.target = target
        self.timeout = timeout
        # False: a call to an unreachable server fails (after the retries of the service
        # config) instead of waiting for the whole deadline.
        self._wait_for_ready = wait_for_ready
        self._channel = channel
        self._models = pb_grpc.ModelsStub(channel)
        self._embeddings = pb_grpc.EmbeddingsStub(channel)
        self._arithmetic = pb_grpc.ArithmeticStub(channel)

    def _deadline(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r}, timeout={self.timeout!r})"


# ---------------------------------------------------------------------------
# Blocking client


class Client(_Base):
    """Blocking client for latentd.

    ``timeout`` is the default deadline of every call in seconds (None: no deadline); each
    method also takes ``timeout=`` to override it. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        wait_for_ready: bool = False,
    ) -> None:
        opts = channel_options(options)
        channel = (
            grpc.secure_channel(target, credentials, options=opts)
            if credentials is not None
            else grpc.insecure_channel(target, options=opts)
        )
        super().__init__(target, timeout, wait_for_ready, channel)

    def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, rpc: Callable[..., Any], request: Any, timeout: float | None) -> Any:
        try:
            return rpc(
                request, timeout=self._deadline(timeout), wait_for_ready=self._wait_for_ready
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

    def models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        """The models the server has loaded."""
        resp = self._call(self._models.ListModels, pb.ListModelsRequest(), timeout)
        return [cv.model_info(m) for m in resp.models]

    def encode(
        self,
        inputs: str | Sequence[str],
        model: str = "",
        *,
        normalize: bool | None = True,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed texts (or words, for a word model): float32 array of shape (n, dimension)."""
        return self.encode_detailed(
            inputs,
            model,
            normalize=normalize,
            dimensions=dimensions,
            prompt_name=prompt_name,
            truncate=truncate,
            timeout=timeout,
        ).vectors

    def encode_detailed(
        self,
        inputs: str | Sequence[str],
        model: str = "",
        *,
        normalize: bool | None = True,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> EncodeResult:
        """Like :meth:`encode`, with the model name, truncation flags and unknown tokens."""
        request = _encode_request(inputs, model, normalize, dimensions, prompt_name, truncate)
        return cv.encode_result(self._call(self._embeddings.Encode, request, timeout))

    def analogy(
        self,
        positive: TermsLike,
        negative: TermsLike = (),
        *,
        k: int | None = 10,
        space: str = "",
        method: AnalogyMethod = "cosadd",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> AnalogyResult:
        """``positive - negative``: ``analogy(["king", "woman"], ["man"])`` -> queen first."""
        request = _analogy_request(
            positive, negative, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        return cv.analogy_result(self._call(self._arithmetic.Analogy, request, timeout))

    def batch_analogy(
        self,
        queries: Sequence[Sequence[TermsLike]],
        *,
        k: int | None = 10,
        space: str = "",
        method: AnalogyMethod = "cosadd",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[AnalogyResult]:
        """Many ``(positive, negative)`` analogies in one RPC; one result per query, in order."""
        request = _batch_analogy_request(
            queries, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = self._call(self._arithmetic.BatchAnalogy, request, timeout)
        return [cv.analogy_result(r) for r in resp.results]

    def nearest(
        self,
        query: TermsLike,
        *,
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> NearestResult:
        """Neighbours of one term, or of the weighted mean of several."""
        request = _nearest_request(query, k, space, cv.options(exact, ef, restrict, include_inputs))
        return cv.nearest_result(self._call(self._arithmetic.Nearest, request, timeout))

    def batch_nearest(
        self,
        queries: Sequence[TermsLike],
        *,
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[NearestResult]:
        """Many nearest queries in one RPC; one result per query, in order."""
        request = _batch_nearest_request(
            queries, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = self._call(self._arithmetic.BatchNearest, request, timeout)
        return [cv.nearest_result(r) for r in resp.results]

    def interpolate(
        self,
        start: TermLike,
        end: TermLike,
        *,
        steps: int | None = 5,
        path: InterpolationPath = "lerp",
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        """``steps`` points from ``start`` to ``end`` (both included) and their neighbours."""
        request = _interpolate_request(
            start, end, steps, path, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        return cv.interpolate_result(self._call(self._arithmetic.Interpolate, request, timeout))

    def similarity(
        self,
        a: TermsLike,
        b: TermsLike,
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> SimilarityResult:
        """Cosine matrix between the terms of ``a`` and ``b``, shape (len(a), len(b))."""
        request = _similarity_request(a, b, space)
        return cv.similarity_result(self._call(self._arithmetic.Similarity, request, timeout))

    def doesnt_match(
        self,
        terms: Sequence[TermLike],
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> DoesntMatchResult:
        """The term furthest from the mean of all of them."""
        request = _doesnt_match_request(terms, space)
        return cv.doesnt_match_result(self._call(self._arithmetic.DoesntMatch, request, timeout))


# ---------------------------------------------------------------------------
# asyncio client


class AsyncClient(_Base):
    """asyncio client for latentd (grpc.aio); the same methods as :class:`Client`, awaitable.

    Create it inside the event loop that uses it; use ``async with`` or ``await close()``.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        wait_for_ready: bool = False,
    ) -> None:
        opts = channel_options(options)
        channel = (
            grpc.aio.secure_channel(target, credentials, options=opts)
            if credentials is not None
            else grpc.aio.insecure_channel(target, options=opts)
        )
        super().__init__(target, timeout, wait_for_ready, channel)

    async def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, rpc: Callable[..., Any], request: Any, timeout: float | None) -> Any:
        try:
            return await rpc(
                request, timeout=self._deadline(timeout), wait_for_ready=self._wait_for_ready
            )
        except grpc.RpcError as error:  # grpc.aio.AioRpcError is a subclass
            raise from_rpc_error(error) from error

    async def models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        """The models the server has loaded."""
        resp = await self._call(self._models.ListModels, pb.ListModelsRequest(), timeout)
        return [cv.model_info(m) for m in resp.models]

    async def encode(
        self,
        inputs: str | Sequence[str],
        model: str = "",
        *,
        normalize: bool | None = True,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed texts (or words, for a word model): float32 array of shape (n, dimension)."""
        result = await self.encode_detailed(
            inputs,
            model,
            normalize=normalize,
            dimensions=dimensions,
            prompt_name=prompt_name,
            truncate=truncate,
            timeout=timeout,
        )
        return result.vectors

    async def encode_detailed(
        self,
        inputs: str | Sequence[str],
        model: str = "",
        *,
        normalize: bool | None = True,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> EncodeResult:
        """Like :meth:`encode`, with the model name, truncation flags and unknown tokens."""
        request = _encode_request(inputs, model, normalize, dimensions, prompt_name, truncate)
        return cv.encode_result(await self._call(self._embeddings.Encode, request, timeout))

    async def analogy(
        self,
        positive: TermsLike,
        negative: TermsLike = (),
        *,
        k: int | None = 10,
        space: str = "",
        method: AnalogyMethod = "cosadd",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> AnalogyResult:
        """``positive - negative``: ``analogy(["king", "woman"], ["man"])`` -> queen first."""
        request = _analogy_request(
            positive, negative, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        return cv.analogy_result(await self._call(self._arithmetic.Analogy, request, timeout))

    async def batch_analogy(
        self,
        queries: Sequence[Sequence[TermsLike]],
        *,
        k: int | None = 10,
        space: str = "",
        method: AnalogyMethod = "cosadd",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[AnalogyResult]:
        """Many ``(positive, negative)`` analogies in one RPC; one result per query, in order."""
        request = _batch_analogy_request(
            queries, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = await self._call(self._arithmetic.BatchAnalogy, request, timeout)
        return [cv.analogy_result(r) for r in resp.results]

    async def nearest(
        self,
        query: TermsLike,
        *,
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> NearestResult:
        """Neighbours of one term, or of the weighted mean of several."""
        request = _nearest_request(query, k, space, cv.options(exact, ef, restrict, include_inputs))
        return cv.nearest_result(await self._call(self._arithmetic.Nearest, request, timeout))

    async def batch_nearest(
        self,
        queries: Sequence[TermsLike],
        *,
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[NearestResult]:
        """Many nearest queries in one RPC; one result per query, in order."""
        request = _batch_nearest_request(
            queries, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = await self._call(self._arithmetic.BatchNearest, request, timeout)
        return [cv.nearest_result(r) for r in resp.results]

    async def interpolate(
        self,
        start: TermLike,
        end: TermLike,
        *,
        steps: int | None = 5,
        path: InterpolationPath = "lerp",
        k: int | None = 10,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        """``steps`` points from ``start`` to ``end`` (both included) and their neighbours."""
        request = _interpolate_request(
            start, end, steps, path, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = await self._call(self._arithmetic.Interpolate, request, timeout)
        return cv.interpolate_result(resp)

    async def similarity(
        self,
        a: TermsLike,
        b: TermsLike,
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> SimilarityResult:
        """Cosine matrix between the terms of ``a`` and ``b``, shape (len(a), len(b))."""
        request = _similarity_request(a, b, space)
        resp = await self._call(self._arithmetic.Similarity, request, timeout)
        return cv.similarity_result(resp)

    async def doesnt_match(
        self,
        terms: Sequence[TermLike],
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> DoesntMatchResult:
        """The term furthest from the mean of all of them."""
        request = _doesnt_match_request(terms, space)
        resp = await self._call(self._arithmetic.DoesntMatch, request, timeout)
        return cv.doesnt_match_result(resp)
