"""Typed facade over the generated stubs: ``Client``, the blocking client.

It takes plain Python values (see :data:`TermLike`), sends one RPC per method call and
returns numpy arrays or the frozen dataclasses of :mod:`latent.types`. A failed call
raises a :class:`latent.LatentError` subclass chosen by its status code. An option left
at None is not sent, so that the server's default applies.

``latent.async_client.AsyncClient`` is generated from this module by
``clients/python/tools/generate_async_client.py``: add or change a method here, then run
the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import grpc
import numpy as np
import numpy.typing as npt

from latent import _convert as cv
from latent._base import ClientBase
from latent._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT, channel_options
from latent._convert import TermLike, TermsLike
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

__all__ = [
    "DEFAULT_TARGET",
    "DEFAULT_TIMEOUT",
    "Client",
    "TermLike",
    "TermsLike",
    "channel_options",
]


class Client(ClientBase[grpc.Channel]):
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

    # RPC methods: a request from ``cv.*_request``, ``self._call``, a result from ``cv``.

    def models(self, *, timeout: float | None = None) -> list[ModelInfo]:
        """The models the server has loaded."""
        resp = self._call(self._models.ListModels, pb.ListModelsRequest(), timeout)
        return [cv.model_info(m) for m in resp.models]

    def encode(
        self,
        inputs: str | Sequence[str],
        model: str = "",
        *,
        normalize: bool | None = None,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed texts (or words, for a word model): float32 array of shape (n, dimension).

        ``normalize`` and ``dimensions`` left at None take the server's defaults (unit
        length, every dimension).
        """
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
        normalize: bool | None = None,
        dimensions: int | None = None,
        prompt_name: str | None = None,
        truncate: bool = False,
        timeout: float | None = None,
    ) -> EncodeResult:
        """Like :meth:`encode`, with the model name, truncation flags and unknown tokens."""
        request = cv.encode_request(inputs, model, normalize, dimensions, prompt_name, truncate)
        return cv.encode_result(self._call(self._embeddings.Encode, request, timeout))

    def analogy(
        self,
        positive: TermsLike,
        negative: TermsLike = (),
        *,
        k: int | None = None,
        space: str = "",
        method: AnalogyMethod | None = None,
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> AnalogyResult:
        """``positive - negative``: ``analogy(["king", "woman"], ["man"])`` -> queen first.

        ``k`` and ``method`` left at None take the server's defaults.
        """
        request = cv.analogy_request(
            positive, negative, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        return cv.analogy_result(self._call(self._arithmetic.Analogy, request, timeout))

    def batch_analogy(
        self,
        queries: Sequence[Sequence[TermsLike]],
        *,
        k: int | None = None,
        space: str = "",
        method: AnalogyMethod | None = None,
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[AnalogyResult]:
        """Many ``(positive, negative)`` analogies in one RPC; one result per query, in order."""
        request = cv.batch_analogy_request(
            queries, k, space, method, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = self._call(self._arithmetic.BatchAnalogy, request, timeout)
        return [cv.analogy_result(r) for r in resp.results]

    def nearest(
        self,
        query: TermsLike,
        *,
        k: int | None = None,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> NearestResult:
        """Neighbours of one term, or of the weighted mean of several."""
        request = cv.nearest_request(
            query, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        return cv.nearest_result(self._call(self._arithmetic.Nearest, request, timeout))

    def batch_nearest(
        self,
        queries: Sequence[TermsLike],
        *,
        k: int | None = None,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> list[NearestResult]:
        """Many nearest queries in one RPC; one result per query, in order."""
        request = cv.batch_nearest_request(
            queries, k, space, cv.options(exact, ef, restrict, include_inputs)
        )
        resp = self._call(self._arithmetic.BatchNearest, request, timeout)
        return [cv.nearest_result(r) for r in resp.results]

    def interpolate(
        self,
        start: TermLike,
        end: TermLike,
        *,
        steps: int | None = None,
        path: InterpolationPath | None = None,
        k: int | None = None,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        """``steps`` points from ``start`` to ``end`` (both included) and their neighbours.

        ``steps``, ``path`` and ``k`` (neighbours per point) left at None take the
        server's defaults.
        """
        request = cv.interpolate_request(
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
        request = cv.similarity_request(a, b, space)
        return cv.similarity_result(self._call(self._arithmetic.Similarity, request, timeout))

    def doesnt_match(
        self,
        terms: Sequence[TermLike],
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> DoesntMatchResult:
        """The term furthest from the mean of all of them."""
        request = cv.doesnt_match_request(terms, space)
        return cv.doesnt_match_result(self._call(self._arithmetic.DoesntMatch, request, timeout))
