"""Typed facade over the generated stubs: ``Client``, the blocking client.

It takes plain Python values (see :data:`TermLike` and :data:`DirectionLike`), sends one
RPC per method call and returns numpy arrays or the frozen dataclasses of
:mod:`latent.types`. A failed call
raises a :class:`latent.LatentError` subclass chosen by its status code. An option left
at None is not sent, so that the server's default applies.

Directions (``define_direction``, ``save_direction``, ``list_directions``,
``delete_direction``, ``project``, ``navigate``, ``associate``, ``components``) are axes
of a space given as :data:`DirectionLike`; ``remove=`` on the query methods projects
directions out of every vector before scoring.

``latent.async_client.AsyncClient`` is generated from this module by
``clients/python/tools/generate_async_client.py``: add or change a method here, then run
the generator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence, Sized
from types import TracebackType
from typing import Any, Self

import grpc
import numpy as np
import numpy.typing as npt

from latent import _calls
from latent import _convert as cv
from latent._base import ClientBase, DocumentScroll
from latent._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT, channel_options
from latent._convert import (
    DirectionLike,
    DirectionsLike,
    DocumentLike,
    FilterLike,
    TermLike,
    TermsLike,
)
from latent._security import PemLike, api_key_metadata, channel_credentials
from latent.errors import LatentError, from_rpc_error
from latent.types import (
    AnalogyMethod,
    AnalogyResult,
    AssociationResult,
    CollectionInfo,
    Component,
    DirectionFit,
    DoesntMatchResult,
    EncodeResult,
    GetResult,
    InterpolateResult,
    InterpolationPath,
    Metric,
    ModelInfo,
    NavigateResult,
    NearestResult,
    ProjectResult,
    SavedDirection,
    ScrollResult,
    SearchQuery,
    SearchResult,
    SimilarityResult,
)
from latent.v1 import latent_pb2 as pb

__all__ = [
    "DEFAULT_TARGET",
    "DEFAULT_TIMEOUT",
    "Client",
    "DirectionLike",
    "DirectionsLike",
    "DocumentLike",
    "FilterLike",
    "TermLike",
    "TermsLike",
    "channel_options",
]


class Client(ClientBase[grpc.Channel]):
    """Blocking client for latentd.

    ``timeout`` is the default deadline of every call in seconds (None: no deadline); each
    method also takes ``timeout=`` to override it. Use as a context manager or call
    :meth:`close`.

    ``api_key`` (None: the environment's ``LATENT_API_KEY``) is sent with every call as
    ``authorization: Bearer <key>``. ``tls=True``, or any of ``root_certificates``
    (None: the system's roots), ``client_cert`` and ``client_key`` (mutual TLS), makes a
    TLS channel; each takes PEM bytes or the path of a PEM file. ``credentials`` gives
    grpc channel credentials of your own instead.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        timeout: float | None = DEFAULT_TIMEOUT,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        wait_for_ready: bool = False,
        api_key: str | None = None,
        tls: bool = False,
        root_certificates: PemLike | None = None,
        client_cert: PemLike | None = None,
        client_key: PemLike | None = None,
    ) -> None:
        opts = channel_options(options)
        metadata = api_key_metadata(api_key)  # checked before a channel is made
        credentials = channel_credentials(
            credentials, tls, root_certificates, client_cert, client_key
        )
        channel = (
            grpc.secure_channel(target, credentials, options=opts)
            if credentials is not None
            else grpc.insecure_channel(target, options=opts)
        )
        super().__init__(target, timeout, wait_for_ready, channel)
        self._metadata = metadata  # holds the key: never in repr

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
            response, info = _calls.unary(
                rpc,
                request,
                timeout=self._deadline(timeout),
                metadata=self._call_metadata(self._metadata),
                wait_for_ready=self._wait_for_ready,
            )
        except grpc.RpcError as error:
            self._last_call.set(_calls.failed_call_info(error))
            raise from_rpc_error(error) from error
        self._last_call.set(info)
        return response

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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Embed texts (or words, for a word model): float32 array of shape (n, dimension).

        ``normalize`` and ``dimensions`` left at None take the server's defaults (unit
        length, every dimension). ``remove``: directions of the model's space (see
        :data:`DirectionLike`) projected out of each vector before it is normalised.
        """
        return self.encode_detailed(
            inputs,
            model,
            normalize=normalize,
            dimensions=dimensions,
            prompt_name=prompt_name,
            truncate=truncate,
            remove=remove,
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> EncodeResult:
        """Like :meth:`encode`, with the model name, truncation flags and unknown tokens."""
        request = cv.encode_request(
            inputs, model, normalize, dimensions, prompt_name, truncate, remove
        )
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> AnalogyResult:
        """``positive - negative``: ``analogy(["king", "woman"], ["man"])`` -> queen first.

        ``k`` and ``method`` left at None take the server's defaults. ``remove``:
        directions (see :data:`DirectionLike`) projected out of the query terms and of
        every candidate key before scoring, e.g. ``remove=[[("man", "woman")]]`` or the
        name of a saved direction; the same holds for every method that takes it.
        """
        request = cv.analogy_request(
            positive,
            negative,
            k,
            space,
            method,
            cv.options(exact, ef, restrict, include_inputs, remove),
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> list[AnalogyResult]:
        """Many ``(positive, negative)`` analogies in one RPC; one result per query, in order."""
        request = cv.batch_analogy_request(
            queries, k, space, method, cv.options(exact, ef, restrict, include_inputs, remove)
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> NearestResult:
        """Neighbours of one term, or of the weighted mean of several."""
        request = cv.nearest_request(
            query, k, space, cv.options(exact, ef, restrict, include_inputs, remove)
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> list[NearestResult]:
        """Many nearest queries in one RPC; one result per query, in order."""
        request = cv.batch_nearest_request(
            queries, k, space, cv.options(exact, ef, restrict, include_inputs, remove)
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
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> InterpolateResult:
        """``steps`` points from ``start`` to ``end`` (both included) and their neighbours.

        ``steps``, ``path`` and ``k`` (neighbours per point) left at None take the
        server's defaults.
        """
        request = cv.interpolate_request(
            start,
            end,
            steps,
            path,
            k,
            space,
            cv.options(exact, ef, restrict, include_inputs, remove),
        )
        return cv.interpolate_result(self._call(self._arithmetic.Interpolate, request, timeout))

    def similarity(
        self,
        a: TermsLike,
        b: TermsLike,
        *,
        space: str = "",
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> SimilarityResult:
        """Cosine matrix between the terms of ``a`` and ``b``, shape (len(a), len(b)),
        after projecting the ``remove`` directions out of every vector."""
        request = cv.similarity_request(a, b, space, remove)
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

    # Directions

    def define_direction(
        self, direction: DirectionLike, *, space: str = "", timeout: float | None = None
    ) -> DirectionFit:
        """A direction's unit vector and how well its inputs agree on it.

        ``direction`` is a saved name (``str``), a sequence of ``(a, b)`` term pairs
        (``[("man", "woman"), ("he", "she")]``: from each ``a`` to its ``b``, by PCA),
        :class:`latent.Pairs` (to choose ``method="mean_difference"``),
        :class:`latent.Poles` (``Poles(["bad"], ["good"])``), or a vector. The result's
        ``pair_cosines`` show the pair that does not fit.
        """
        request = cv.define_request(direction, space)
        return cv.direction_fit(self._call(self._directions.Define, request, timeout))

    def save_direction(
        self,
        name: str,
        direction: DirectionLike,
        *,
        space: str = "",
        description: str = "",
        overwrite: bool = False,
        timeout: float | None = None,
    ) -> SavedDirection:
        """Save a direction (pairs, poles or a vector) of a space under ``name``, for use by
        name wherever a direction is taken. An existing name raises
        :class:`latent.AlreadyExists` unless ``overwrite``; one from the server's config
        cannot be replaced (:class:`latent.FailedPrecondition`)."""
        request = cv.save_direction_request(name, direction, space, description, overwrite)
        return cv.saved_direction(self._call(self._directions.Save, request, timeout))

    def list_directions(
        self, *, space: str = "", with_vector: bool = False, timeout: float | None = None
    ) -> list[SavedDirection]:
        """The saved directions of ``space`` ("": of every space), by space then name;
        with ``with_vector``, each with its unit vector."""
        request = pb.ListDirectionsRequest(
            space=space, with_vector=with_vector, vector_format=pb.PACKED
        )
        resp = self._call(self._directions.List, request, timeout)
        return [cv.saved_direction(d) for d in resp.directions]

    def delete_direction(self, name: str, *, space: str = "", timeout: float | None = None) -> None:
        """Delete a saved direction (:class:`latent.NotFound` if there is none); one from
        the server's config cannot be deleted (:class:`latent.FailedPrecondition`)."""
        request = pb.DeleteDirectionRequest(space=space, name=name)
        self._call(self._directions.Delete, request, timeout)

    def project(
        self,
        direction: DirectionLike,
        terms: TermsLike = (),
        *,
        top: int | None = None,
        restrict: int | None = None,
        filter: FilterLike | None = None,
        space: str = "",
        timeout: float | None = None,
    ) -> ProjectResult:
        """Each term's projection on ``direction`` (the cosine of its unit vector with it)
        and, with ``top``, the ``top`` keys at each end of the space: ``from_end`` lowest
        first, ``to_end`` highest first. ``restrict`` (word spaces) takes only the N most
        frequent keys; ``filter`` (collections) only the matching documents (see
        :meth:`search`)."""
        request = cv.project_request(direction, terms, top, restrict, filter, space)
        return cv.project_result(self._call(self._directions.Project, request, timeout))

    def navigate(
        self,
        start: TermLike,
        direction: DirectionLike,
        *,
        steps: int | None = None,
        step: float | None = None,
        target: float | None = None,
        k: int | None = None,
        space: str = "",
        exact: bool = False,
        ef: int | None = None,
        restrict: int | None = None,
        include_inputs: bool = False,
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> NavigateResult:
        """A walk from ``start`` along ``direction``: point i is the start's unit vector
        plus ``i * step * direction`` for i in 0..steps (``steps + 1`` points), or, with
        ``target`` instead of ``step``, evenly spaced up to that projection; each point
        with its ``k`` neighbours (the start key excluded). ``steps``, ``step`` and ``k``
        left at None take the server's defaults."""
        request = cv.navigate_request(
            start,
            direction,
            steps,
            step,
            target,
            k,
            space,
            cv.options(exact, ef, restrict, include_inputs, remove),
        )
        return cv.navigate_result(self._call(self._directions.Navigate, request, timeout))

    def associate(
        self,
        targets_x: Sequence[TermLike],
        targets_y: Sequence[TermLike],
        attributes_a: Sequence[TermLike],
        attributes_b: Sequence[TermLike],
        *,
        permutations: int | None = None,
        seed: int = 0,
        space: str = "",
        timeout: float | None = None,
    ) -> AssociationResult:
        """The Word Embedding Association Test: do the targets X associate with the
        attributes A (and Y with B) more than the other way round? The effect size, and a
        one-sided p-value over ``permutations`` sampled partitions of X and Y (None: the
        server's default), or over every partition when there are no more (``exact``);
        ``seed`` fixes the sample."""
        request = cv.associate_request(
            targets_x, targets_y, attributes_a, attributes_b, permutations, seed, space
        )
        return cv.association_result(self._call(self._directions.Associate, request, timeout))

    def components(
        self,
        terms: Sequence[TermLike],
        n: int | None = None,
        *,
        space: str = "",
        timeout: float | None = None,
    ) -> list[Component]:
        """The ``n`` principal axes of a set of terms (None: the server's default), each with
        its share of the variance and every term's projection, lowest first."""
        request = cv.components_request(terms, n, space)
        resp = self._call(self._directions.Components, request, timeout)
        return [cv.component(c) for c in resp.components]

    # Collections

    def create_collection(
        self,
        name: str,
        *,
        model: str | None = None,
        dimension: int | None = None,
        metric: Metric | None = None,
        m: int | None = None,
        ef_construction: int | None = None,
        exist_ok: bool = False,
        backend: str | None = None,
        timeout: float | None = None,
    ) -> CollectionInfo:
        """Create a collection: of texts encoded by ``model`` (a loaded sentence model), or
        of your own vectors of ``dimension`` (no model).

        ``metric`` is ``"cosine"`` (the default), ``"dot"`` or ``"l2"``; ``m`` and
        ``ef_construction`` (HNSW) left at None take the server's defaults. ``backend``
        is ``"embedded"`` or ``"milvus"`` (None: the server's ``--collections-backend``).
        An existing collection raises :class:`latent.AlreadyExists`, unless ``exist_ok``
        and its settings are the same.
        """
        request = cv.create_collection_request(
            name, model, dimension, metric, m, ef_construction, exist_ok, backend
        )
        resp = self._call(self._collections.CreateCollection, request, timeout)
        return cv.collection_info(resp)

    def get_collection(self, name: str, *, timeout: float | None = None) -> CollectionInfo:
        """A collection's settings, document count, index state and size on disk."""
        request = pb.GetCollectionRequest(name=name)
        return cv.collection_info(self._call(self._collections.GetCollection, request, timeout))

    def list_collections(self, *, timeout: float | None = None) -> list[CollectionInfo]:
        """Every collection on the server."""
        request = pb.ListCollectionsRequest()
        resp = self._call(self._collections.ListCollections, request, timeout)
        return [cv.collection_info(c) for c in resp.collections]

    def delete_collection(self, name: str, *, timeout: float | None = None) -> None:
        """Delete a collection and everything in it."""
        request = pb.DeleteCollectionRequest(name=name)
        self._call(self._collections.DeleteCollection, request, timeout)

    def upsert(
        self,
        collection: str,
        documents: Iterable[DocumentLike],
        *,
        batch_size: int = 256,
        progress: Callable[[int, int | None], object] | None = None,
        timeout: float | None = None,
    ) -> int:
        """Add or replace documents; returns how many were upserted.

        Each document is a :class:`latent.Document` or a dict with its fields: ``id``,
        and ``text`` (encoded by the collection's model) or ``vector`` (your own), and
        ``metadata``, a dict of strings, numbers, bools and lists of strings. An existing
        id is replaced.

        ``documents`` may be any iterable (a generator too): it is sent in requests of
        at most ``batch_size`` documents and about 32,000 characters of text, each all or
        nothing, and ``timeout`` applies to each; a request over the server's limits per
        request (tokens, documents) is split in two and sent again.
        ``progress(done, total)`` is called after each request (``total`` is None when
        ``documents`` has no length). If a request fails, the batches before it stay
        written: the error names the failing document by its place in ``documents``.
        """
        total = len(documents) if isinstance(documents, Sized) else None
        done = 0
        for offset, batch in cv.document_batches(documents, batch_size):
            done += self._upsert_batch(collection, batch, offset, timeout)
            if progress is not None:
                progress(offset + len(batch), total)
        return done

    def _upsert_batch(
        self, collection: str, batch: list[pb.Document], offset: int, timeout: float | None
    ) -> int:
        """One Upsert request. A request the server finds too large (over its tokens or
        documents in one request, or its message size) wrote nothing, so it is sent again
        as two halves: long texts cannot make an upsert fail for its batch size alone."""
        request = pb.UpsertRequest(collection=collection, documents=batch)
        try:
            return self._call(self._collections.Upsert, request, timeout).upserted
        except LatentError as error:
            if len(batch) > 1 and cv.request_too_large(error):
                half = len(batch) // 2
                first = self._upsert_batch(collection, batch[:half], offset, timeout)
                return first + self._upsert_batch(collection, batch[half:], offset + half, timeout)
            raise cv.upsert_error(error, offset, len(batch)) from error

    def get(
        self,
        collection: str,
        ids: Sequence[str],
        *,
        with_vector: bool = False,
        timeout: float | None = None,
    ) -> GetResult:
        """Documents by id: those found, in the order asked, and the ids not found."""
        if isinstance(ids, str):
            ids = [ids]
        request = pb.GetRequest(
            collection=collection, ids=ids, with_vector=with_vector, vector_format=pb.PACKED
        )
        return cv.get_result(self._call(self._collections.Get, request, timeout))

    def delete(
        self,
        collection: str,
        ids: Sequence[str] | None = None,
        *,
        filter: FilterLike | None = None,
        timeout: float | None = None,
    ) -> int:
        """Delete documents by id, or those that match ``filter`` (both given: both must
        hold); returns how many were deleted. See :meth:`search` for the filter form."""
        if isinstance(ids, str):
            ids = [ids]
        request = pb.DeleteRequest(
            collection=collection, ids=ids or (), filter=cv.filter_message(filter)
        )
        resp = self._call(self._collections.Delete, request, timeout)
        return int(resp.deleted)

    def count(
        self,
        collection: str,
        *,
        filter: FilterLike | None = None,
        timeout: float | None = None,
    ) -> int:
        """How many documents (that match ``filter``) the collection holds."""
        request = pb.CountRequest(collection=collection, filter=cv.filter_message(filter))
        return int(self._call(self._collections.Count, request, timeout).count)

    def scroll_page(
        self,
        collection: str,
        *,
        filter: FilterLike | None = None,
        page_token: str = "",
        limit: int | None = None,
        with_vector: bool = False,
        timeout: float | None = None,
    ) -> ScrollResult:
        """One page of documents in id order, from ``page_token`` ("" for the first);
        pass the result's ``next_page_token`` for the next ("" after the last).
        ``limit`` (documents a page) left at None takes the server's default."""
        request = pb.ScrollRequest(
            collection=collection,
            filter=cv.filter_message(filter),
            page_token=page_token,
            limit=limit,
            with_vector=with_vector,
            vector_format=pb.PACKED,
        )
        return cv.scroll_result(self._call(self._collections.Scroll, request, timeout))

    def scroll(
        self,
        collection: str,
        *,
        filter: FilterLike | None = None,
        limit: int | None = None,
        with_vector: bool = False,
        timeout: float | None = None,
    ) -> DocumentScroll[grpc.Channel]:
        """Every document (that matches ``filter``), in id order: iterate the result. Pages
        of ``limit`` documents are fetched as the iteration goes, one RPC each (see
        :meth:`scroll_page`), and ``timeout`` applies to each."""
        return DocumentScroll(
            functools.partial(
                self.scroll_page,
                collection,
                filter=cv.filter_message(filter),
                limit=limit,
                with_vector=with_vector,
                timeout=timeout,
            )
        )

    def search(
        self,
        collection: str,
        query: TermLike | None = None,
        *,
        k: int | None = None,
        filter: FilterLike | None = None,
        positive: TermsLike = (),
        negative: TermsLike = (),
        exact: bool = False,
        ef: int | None = None,
        include_inputs: bool = False,
        with_text: bool = True,
        with_metadata: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> SearchResult:
        """The ``k`` documents closest to ``query`` (and ``positive``, away from
        ``negative``), best first.

        ``query`` is a text (``str`` or :class:`latent.Text`), a vector, or a stored
        document (``latent.Term(key=id)``). ``positive`` and ``negative`` are terms as in
        :meth:`analogy`, where a ``str`` is a document id and ``latent.Text`` a text.

        ``filter`` keeps the documents whose metadata matches; each item must hold:
        ``{"lang": "en"}`` (equals; on a list of strings: contains),
        ``{"year": {"gte": 2020, "lt": 2024}}`` (range: gt, gte, lt, lte),
        ``{"tag": {"in": ["a", "b"]}}`` (one of), ``{"lang": {"exists": True}}``, and
        ``{"all": [...]}``, ``{"any": [...]}``, ``{"none": [...]}`` of such dicts.

        ``k`` left at None takes the server's default; ``score_threshold`` keeps only
        hits that score at least that much. Documents given as terms (by id) are left
        out of the hits unless ``include_inputs``. The hits carry their text and
        metadata unless ``with_text`` or ``with_metadata`` is False, and their vector
        with ``with_vector``. ``remove``: directions of the collection (see
        :data:`DirectionLike`; a ``str`` term is a document id) projected out of the query
        and of every document before scoring.
        """
        request = cv.search_request(
            collection,
            cv.search_query(query, positive, negative),
            k,
            filter,
            cv.options(exact, ef, None, include_inputs, remove),
            with_text,
            with_metadata,
            with_vector,
            score_threshold,
        )
        return cv.search_result(self._call(self._collections.Search, request, timeout))

    def recommend(
        self,
        collection: str,
        positive: TermsLike,
        negative: TermsLike = (),
        *,
        k: int | None = None,
        filter: FilterLike | None = None,
        exact: bool = False,
        ef: int | None = None,
        include_inputs: bool = False,
        with_text: bool = True,
        with_metadata: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> SearchResult:
        """Documents like ``positive`` and unlike ``negative``: ``recommend("docs",
        ["doc-1", "doc-7"], ["doc-3"])``. A ``str`` is a document id; texts are
        :class:`latent.Text`. Otherwise as :meth:`search`: the given documents are left
        out of the hits unless ``include_inputs``."""
        return self.search(
            collection,
            None,
            k=k,
            filter=filter,
            positive=positive,
            negative=negative,
            exact=exact,
            ef=ef,
            include_inputs=include_inputs,
            with_text=with_text,
            with_metadata=with_metadata,
            with_vector=with_vector,
            score_threshold=score_threshold,
            remove=remove,
            timeout=timeout,
        )

    def batch_search(
        self,
        collection: str,
        queries: Sequence[SearchQuery | TermLike],
        *,
        k: int | None = None,
        filter: FilterLike | None = None,
        exact: bool = False,
        ef: int | None = None,
        include_inputs: bool = False,
        with_text: bool = True,
        with_metadata: bool = True,
        with_vector: bool = False,
        score_threshold: float | None = None,
        remove: DirectionsLike = (),
        timeout: float | None = None,
    ) -> list[SearchResult]:
        """Many searches in one RPC, with the same options; one result per query, in
        order. Each query is what :meth:`search` takes as ``query``, or a
        :class:`latent.SearchQuery` with positive and negative terms."""
        request = cv.batch_search_request(
            collection,
            queries,
            k,
            filter,
            cv.options(exact, ef, None, include_inputs, remove),
            with_text,
            with_metadata,
            with_vector,
            score_threshold,
        )
        resp = self._call(self._collections.BatchSearch, request, timeout)
        return [cv.search_result(r) for r in resp.results]
