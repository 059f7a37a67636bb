"""The gRPC servicers: convert the request, call the core, convert the result."""

from __future__ import annotations

import grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api import convert
from latentd.api.errors import mapped_errors
from latentd.core import arithmetic
from latentd.core.limits import Limits
from latentd.core.registry import Registry


class ModelsServicer(pb_grpc.ModelsServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @mapped_errors
    def ListModels(self, request: pb.ListModelsRequest,
                   context: grpc.ServicerContext) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[
            pb.ModelInfo(
                name=space.name, kind=convert.MODEL_KIND[space.kind], dimension=space.dimension,
                num_keys=space.size, source=space.source,
                index_state=convert.INDEX_STATE[space.index_state],
                is_default=self.registry.is_default(space),
                max_tokens=getattr(space, "max_tokens", 0),
                prompt_names=getattr(space, "prompt_names", []),
                has_subwords=space.has_subwords,
            )
            for space in self.registry.spaces()
        ])


class EmbeddingsServicer(pb_grpc.EmbeddingsServicer):
    def __init__(self, registry: Registry, limits: Limits) -> None:
        self.registry = registry
        self.limits = limits

    @mapped_errors
    def Encode(self, request: pb.EncodeRequest,
               context: grpc.ServicerContext) -> pb.EncodeResponse:
        space = self.registry.get(request.model, default_kind="sentence", field="model")
        encoded = arithmetic.encode(
            space, list(request.inputs), self.limits,
            normalize=request.normalize if request.HasField("normalize") else True,
            dimensions=convert.optional(request, "dimensions", 0),
            prompt_name=request.prompt_name, truncate=request.truncate,
        )
        return pb.EncodeResponse(
            model=space.name, dimension=encoded.vectors.shape[1],
            embeddings=[
                pb.Embedding(vector=convert.vector(v), truncated=t, unknown_tokens=u)
                for v, t, u in zip(encoded.vectors, encoded.truncated, encoded.unknown_tokens,
                                   strict=True)
            ],
        )


class ArithmeticServicer(pb_grpc.ArithmeticServicer):
    def __init__(self, registry: Registry, limits: Limits) -> None:
        self.registry = registry
        self.limits = limits

    @mapped_errors
    def Analogy(self, request: pb.AnalogyRequest,
                context: grpc.ServicerContext) -> pb.AnalogyResponse:
        space = self.registry.get(request.space)
        [result] = arithmetic.analogy(
            space, [(convert.terms(request.positive), convert.terms(request.negative))],
            self.limits, k=convert.optional(request, "k", convert.DEFAULT_K),
            method=convert.method(request.method), options=convert.options(request.options),
        )
        return convert.analogy_response(space.name, result)

    @mapped_errors
    def BatchAnalogy(self, request: pb.BatchAnalogyRequest,
                     context: grpc.ServicerContext) -> pb.BatchAnalogyResponse:
        space = self.registry.get(request.space)
        results = arithmetic.analogy(
            space,
            [(convert.terms(q.positive), convert.terms(q.negative)) for q in request.queries],
            self.limits, k=convert.optional(request, "k", convert.DEFAULT_K),
            method=convert.method(request.method), options=convert.options(request.options),
            prefix="queries[{i}].",
        )
        return pb.BatchAnalogyResponse(
            results=[convert.analogy_response(space.name, r) for r in results])

    @mapped_errors
    def Nearest(self, request: pb.NearestRequest,
                context: grpc.ServicerContext) -> pb.NearestResponse:
        space = self.registry.get(request.space)
        [result] = arithmetic.nearest(
            space, [convert.terms(request.query)], self.limits,
            k=convert.optional(request, "k", convert.DEFAULT_K),
            options=convert.options(request.options),
        )
        return convert.nearest_response(space.name, result)

    @mapped_errors
    def BatchNearest(self, request: pb.BatchNearestRequest,
                     context: grpc.ServicerContext) -> pb.BatchNearestResponse:
        space = self.registry.get(request.space)
        results = arithmetic.nearest(
            space, [convert.terms(q.query) for q in request.queries], self.limits,
            k=convert.optional(request, "k", convert.DEFAULT_K),
            options=convert.options(request.options), prefix="queries[{i}].",
        )
        return pb.BatchNearestResponse(
            results=[convert.nearest_response(space.name, r) for r in results])

    @mapped_errors
    def Interpolate(self, request: pb.InterpolateRequest,
                    context: grpc.ServicerContext) -> pb.InterpolateResponse:
        space = self.registry.get(request.space)
        result = arithmetic.interpolate(
            space, convert.term(request.start), convert.term(request.end), self.limits,
            steps=convert.optional(request, "steps", convert.DEFAULT_STEPS),
            path=convert.path(request.path),
            k=convert.optional(request, "k", convert.DEFAULT_K),
            options=convert.options(request.options),
        )
        return pb.InterpolateResponse(
            space=space.name,
            points=[pb.InterpolationPoint(t=p.t, vector=convert.vector(p.vector),
                                          neighbors=convert.neighbor_list(p.neighbors))
                    for p in result.points],
            start=convert.resolved(result.start), end=convert.resolved(result.end),
            searched_with=convert.INDEX_STATE[result.searched_with],
        )

    @mapped_errors
    def Similarity(self, request: pb.SimilarityRequest,
                   context: grpc.ServicerContext) -> pb.SimilarityResponse:
        space = self.registry.get(request.space)
        result = arithmetic.similarity(space, convert.terms(request.a),
                                       convert.terms(request.b), self.limits)
        rows, cols = result.scores.shape
        return pb.SimilarityResponse(
            space=space.name, rows=rows, cols=cols, scores=result.scores.ravel().tolist(),
            a=convert.resolved_list(result.a), b=convert.resolved_list(result.b),
        )

    @mapped_errors
    def DoesntMatch(self, request: pb.DoesntMatchRequest,
                    context: grpc.ServicerContext) -> pb.DoesntMatchResponse:
        space = self.registry.get(request.space)
        result = arithmetic.doesnt_match(space, convert.terms(request.terms), self.limits)
        return pb.DoesntMatchResponse(
            space=space.name, index=result.index, key=result.key, score=result.score,
            terms=convert.resolved_list(result.terms),
        )
