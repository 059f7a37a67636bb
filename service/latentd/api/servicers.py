"""The gRPC servicers. Each method is three steps: convert the request, call the core,
convert the result. Errors become status codes in the server's interceptor
(api/errors.py), which also stops the core's work when the caller has gone: the
methods leave their context (`_`) to it."""

from __future__ import annotations

from typing import Any

import grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api import convert
from latentd.core.arithmetic import analogy, interpolate, nearest
from latentd.core.collection_search import search
from latentd.core.collections import Collections
from latentd.core.comparison import doesnt_match, similarity
from latentd.core.direction_queries import (
    associate,
    components,
    define_direction,
    navigate,
    project,
    save_direction,
)
from latentd.core.encoding import encode
from latentd.core.limits import Limits
from latentd.core.registry import Registry

Context = grpc.ServicerContext


class _Core:
    """What the core's operations take besides the request: the limits and the saved
    directions (read per call: the registry gets them once models have loaded)."""

    def __init__(self, registry: Registry, limits: Limits) -> None:
        self.registry = registry
        self.limits = limits

    @property
    def core(self) -> dict[str, Any]:
        return {"limits": self.limits, "directions": self.registry.directions}


class ModelsServicer(pb_grpc.ModelsServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def ListModels(self, request: pb.ListModelsRequest, _: Context) -> pb.ListModelsResponse:
        return convert.list_models_response(self.registry)


class EmbeddingsServicer(_Core, pb_grpc.EmbeddingsServicer):
    def Encode(self, request: pb.EncodeRequest, _: Context) -> pb.EncodeResponse:
        space = self.registry.get(request.model, default_kind="sentence", field="model")
        result = encode(space, **self.core, **convert.encode_args(request))
        return convert.encode_response(space.name, result, request.vector_format)


class ArithmeticServicer(_Core, pb_grpc.ArithmeticServicer):
    def Analogy(self, request: pb.AnalogyRequest, _: Context) -> pb.AnalogyResponse:
        space = self.registry.get(request.space)
        [result] = analogy(space, **self.core, **convert.analogy_args(request))
        return convert.analogy_response(space.name, result)

    def BatchAnalogy(self, request: pb.BatchAnalogyRequest, _: Context) -> pb.BatchAnalogyResponse:
        space = self.registry.get(request.space)
        results = analogy(space, **self.core, **convert.batch_analogy_args(request))
        return convert.batch_analogy_response(space.name, results)

    def Nearest(self, request: pb.NearestRequest, _: Context) -> pb.NearestResponse:
        space = self.registry.get(request.space)
        [result] = nearest(space, **self.core, **convert.nearest_args(request))
        return convert.nearest_response(space.name, result)

    def BatchNearest(self, request: pb.BatchNearestRequest, _: Context) -> pb.BatchNearestResponse:
        space = self.registry.get(request.space)
        results = nearest(space, **self.core, **convert.batch_nearest_args(request))
        return convert.batch_nearest_response(space.name, results)

    def Interpolate(self, request: pb.InterpolateRequest, _: Context) -> pb.InterpolateResponse:
        space = self.registry.get(request.space)
        result = interpolate(space, **self.core, **convert.interpolate_args(request))
        return convert.interpolate_response(space.name, result, request.vector_format)

    def Similarity(self, request: pb.SimilarityRequest, _: Context) -> pb.SimilarityResponse:
        space = self.registry.get(request.space)
        result = similarity(space, **self.core, **convert.similarity_args(request))
        return convert.similarity_response(space.name, result)

    def DoesntMatch(self, request: pb.DoesntMatchRequest, _: Context) -> pb.DoesntMatchResponse:
        space = self.registry.get(request.space)
        result = doesnt_match(space, limits=self.limits, **convert.doesnt_match_args(request))
        return convert.doesnt_match_response(space.name, result)


class CollectionsServicer(_Core, pb_grpc.CollectionsServicer):
    """Collections and their documents. A collection is also a space: the Arithmetic
    RPCs find it by name through the registry."""

    @property
    def collections(self) -> Collections:
        # NotReady while the server loads; NotFound when collections are not enabled.
        return self.registry.collections_or_fail()

    def CreateCollection(
        self, request: pb.CreateCollectionRequest, _: Context
    ) -> pb.CollectionInfo:
        info = self.collections.create(**convert.create_collection_args(request))
        return convert.create_collection_response(info)

    def GetCollection(self, request: pb.GetCollectionRequest, _: Context) -> pb.CollectionInfo:
        info = self.collections.info(**convert.get_collection_args(request))
        return convert.get_collection_response(info)

    def ListCollections(
        self, request: pb.ListCollectionsRequest, _: Context
    ) -> pb.ListCollectionsResponse:
        return convert.list_collections_response(self.collections.list())

    def DeleteCollection(
        self, request: pb.DeleteCollectionRequest, _: Context
    ) -> pb.DeleteCollectionResponse:
        self.collections.delete(**convert.delete_collection_args(request))
        return convert.delete_collection_response()

    def Upsert(self, request: pb.UpsertRequest, _: Context) -> pb.UpsertResponse:
        collection = self.collections.get(request.collection)
        upserted = collection.upsert(limits=self.limits, **convert.upsert_args(request))
        return convert.upsert_response(upserted)

    def Get(self, request: pb.GetRequest, _: Context) -> pb.GetResponse:
        collection = self.collections.get(request.collection)
        found, missing = collection.get_documents(**convert.get_args(request))
        return convert.get_response(found, missing, request.vector_format)

    def Delete(self, request: pb.DeleteRequest, _: Context) -> pb.DeleteResponse:
        collection = self.collections.get(request.collection)
        deleted = collection.delete(**convert.delete_args(request))
        return convert.delete_response(deleted)

    def Count(self, request: pb.CountRequest, _: Context) -> pb.CountResponse:
        collection = self.collections.get(request.collection)
        count = collection.count(**convert.count_args(request))
        return convert.count_response(count)

    def Scroll(self, request: pb.ScrollRequest, _: Context) -> pb.ScrollResponse:
        collection = self.collections.get(request.collection)
        documents, next_page_token = collection.scroll(**convert.scroll_args(request))
        return convert.scroll_response(documents, next_page_token, request.vector_format)

    def Search(self, request: pb.SearchRequest, _: Context) -> pb.SearchResponse:
        collection = self.collections.get(request.collection)
        [hits] = search(collection, **self.core, **convert.search_args(request))
        return convert.search_response(collection.name, hits, request.vector_format)

    def BatchSearch(self, request: pb.BatchSearchRequest, _: Context) -> pb.BatchSearchResponse:
        collection = self.collections.get(request.collection)
        results = search(collection, **self.core, **convert.batch_search_args(request))
        return convert.batch_search_response(collection.name, results, request.vector_format)


class DirectionsServicer(_Core, pb_grpc.DirectionsServicer):
    """Named axes of a space: define, save, project, walk, test associations."""

    def Define(self, request: pb.DefineRequest, _: Context) -> pb.DefineResponse:
        space = self.registry.get(request.space)
        result = define_direction(space, **self.core, **convert.define_args(request))
        return convert.define_response(space.name, result, request.vector_format)

    def Save(self, request: pb.SaveDirectionRequest, _: Context) -> pb.SavedDirection:
        space = self.registry.get(request.space)
        entry = save_direction(space, **self.core, **convert.save_direction_args(request))
        return convert.saved_direction(entry)

    def List(self, request: pb.ListDirectionsRequest, _: Context) -> pb.ListDirectionsResponse:
        self.registry.check_ready()
        entries = self.registry.directions.list(**convert.list_directions_args(request))
        return convert.list_directions_response(entries, request.with_vector, request.vector_format)

    def Delete(self, request: pb.DeleteDirectionRequest, _: Context) -> pb.DeleteDirectionResponse:
        space = self.registry.get(request.space)
        self.registry.directions.delete(space.name, **convert.delete_direction_args(request))
        return convert.delete_direction_response()

    def Project(self, request: pb.ProjectRequest, _: Context) -> pb.ProjectResponse:
        space = self.registry.get(request.space)
        result = project(space, **self.core, **convert.project_args(request))
        return convert.project_response(space.name, result)

    def Navigate(self, request: pb.NavigateRequest, _: Context) -> pb.NavigateResponse:
        space = self.registry.get(request.space)
        result = navigate(space, **self.core, **convert.navigate_args(request))
        return convert.navigate_response(space.name, result, request.vector_format)

    def Associate(self, request: pb.AssociateRequest, _: Context) -> pb.AssociateResponse:
        space = self.registry.get(request.space)
        result = associate(space, limits=self.limits, **convert.associate_args(request))
        return convert.associate_response(space.name, result)

    def Components(self, request: pb.ComponentsRequest, _: Context) -> pb.ComponentsResponse:
        space = self.registry.get(request.space)
        result = components(space, limits=self.limits, **convert.components_args(request))
        return convert.components_response(space.name, result, request.vector_format)
