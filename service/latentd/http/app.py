"""The FastAPI application of the HTTP twin: routes derived from the proto, the OpenAI
embeddings API, health, metrics, OpenAPI with docs that need no CDN, and the Explorer.

Each route converts, runs the call on a worker thread through the gRPC server's own
pipeline (calls.py), and converts back: no core code is called from here directly."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import grpc
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from google.protobuf import json_format
from google.protobuf.message import Message
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from latent.v1 import latent_pb2 as pb
from latentd import __version__
from latentd.api.auth import KeyRing, presented_key, refusal
from latentd.api.errors import Unparsable
from latentd.api.metrics import ServerMetrics
from latentd.api.pipeline import Pipeline
from latentd.http import openai_compat
from latentd.http.calls import HttpCallContext, Outcome, run_call
from latentd.http.json_schema import REF_PREFIX, message_schemas
from latentd.http.message_json import message_json
from latentd.http.routes import RpcRoute, rpc_routes
from latentd.http.status import http_status

EXPLORER_DIR = Path(__file__).parent / "explorer"
JSON_HINT = "send the request message as proto3 JSON (its schema: /openapi.json)"
ENCODE = "/latent.v1.Embeddings/Encode"
LIST_MODELS = "/latent.v1.Models/ListModels"


@dataclass
class HttpServing:
    """What the routes share: the pipeline, the server's state and limits."""

    pipeline: Pipeline
    serving: Callable[[], bool]  # health: ready and not stopping
    stopping: threading.Event  # set when the server stops: calls in flight are cancelled
    workers: anyio.CapacityLimiter | None  # threads for calls; None: anyio's default
    max_body_bytes: int
    keys: KeyRing | None = None
    metrics: ServerMetrics | None = None  # GET /metrics when set
    started: int = 0  # unix time, the `created` of /v1/models

    async def run(self, method: str, request: Message | Unparsable, http: Request) -> Outcome:
        """Run the call on a worker thread; a client that disconnects cancels it, as a
        gRPC caller's cancel does (the core stops at its next checkpoint)."""
        gone = threading.Event()
        client = http.client
        context = HttpCallContext(
            [(name, value) for name, value in http.headers.items()],
            f"http:{client.host}:{client.port}" if client else "http:unknown",
            (gone, self.stopping),
        )
        watcher = asyncio.create_task(_watch_disconnect(http, gone))
        try:
            return await anyio.to_thread.run_sync(
                run_call, self.pipeline, method, request, context, limiter=self.workers
            )
        finally:
            watcher.cancel()


async def _watch_disconnect(http: Request, gone: threading.Event) -> None:
    # Once the body is read, the next ASGI message is the client's disconnect.
    while True:
        message = await http.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


class BodyTooLarge(Exception):
    pass


async def read_body(http: Request, limit: int) -> bytes:
    declared = http.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in http.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def _too_large(limit: int) -> str:
    return (
        f"request: the body is over {limit} bytes (max_message_mb, as for gRPC); send less "
        "or raise --max-message-mb"
    )


def status_response(outcome: Outcome) -> JSONResponse:
    return JSONResponse(
        {"code": outcome.code.name, "message": outcome.message},
        status_code=http_status(outcome.code),
        headers=dict(outcome.trailing),
    )


def parsed(body: bytes, request_type: type[Message]) -> Message | Unparsable:
    """The request message of a proto3 JSON body (empty: the empty message); Unparsable,
    which the pipeline answers INVALID_ARGUMENT, when it is not."""
    name = request_type.DESCRIPTOR.full_name
    try:
        text = body.decode("utf-8") if body.strip() else "{}"
        if not isinstance(json.loads(text), dict):
            return Unparsable(f"{name}: the body is not a JSON object", JSON_HINT)
        return json_format.Parse(text, request_type())
    except UnicodeDecodeError:
        return Unparsable(f"{name}: the body is not UTF-8", JSON_HINT)
    except json.JSONDecodeError as exc:
        return Unparsable(f"{name}: not JSON: {exc}", JSON_HINT)
    except json_format.ParseError as exc:
        return Unparsable(f"{name}: {' '.join(str(exc).split())}", JSON_HINT)


def rpc_endpoint(route: RpcRoute, state: HttpServing) -> Callable[[Request], Awaitable[Response]]:
    async def call(http: Request) -> Response:
        try:
            body = await read_body(http, state.max_body_bytes)
        except BodyTooLarge:
            code = grpc.StatusCode.RESOURCE_EXHAUSTED
            return status_response(Outcome(None, code, _too_large(state.max_body_bytes)))
        outcome = await state.run(route.method, parsed(body, route.request_type), http)
        if outcome.response is None:
            return status_response(outcome)
        return JSONResponse(message_json(outcome.response), headers=dict(outcome.trailing))

    call.__name__ = f"{route.service}_{route.name}"
    return call


def create_app(state: HttpServing) -> FastAPI:
    app = FastAPIOffline(
        title="Latent",
        version=__version__,
        description="The HTTP/JSON twin of the latent.v1 gRPC API: each RPC is "
        "`POST /v1/<Service>/<Method>` with the request message as proto3 JSON. "
        "Errors: the gRPC code's HTTP status and `{code, message}`. "
        "OpenAI-compatible: `POST /v1/embeddings`, `GET /v1/models`.",
        favicon_url="data:,",
    )
    routes = rpc_routes()
    for route in routes:
        app.add_api_route(
            route.path,
            rpc_endpoint(route, state),
            methods=["POST"],
            tags=[route.service],
            summary=route.name,
            operation_id=f"{route.service}_{route.name}",
            openapi_extra={
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref(route.request_type)}},
                }
            },
            responses={
                200: {"content": {"application/json": {"schema": _ref(route.response_type)}}},
                "default": {
                    "description": "The gRPC status code's HTTP status",
                    "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "Status"}}},
                },
            },
        )
    _add_openai_routes(app, state)
    _add_operations_routes(app, state)
    _add_explorer(app)
    app.openapi = lambda: _openapi(app, routes)  # type: ignore[method-assign]
    return app


def _ref(message: type[Message]) -> dict[str, str]:
    return {"$ref": REF_PREFIX + message.DESCRIPTOR.full_name}


def _openapi(app: FastAPI, routes: list[RpcRoute]) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        roots = [m.DESCRIPTOR for r in routes for m in (r.request_type, r.response_type)]
        schemas.update(message_schemas(roots))
        schemas["Status"] = {
            "type": "object",
            "properties": {
                "code": {"type": "string", "examples": ["NOT_FOUND"]},
                "message": {"type": "string"},
            },
        }
        app.openapi_schema = document
    return app.openapi_schema


def _add_openai_routes(app: FastAPI, state: HttpServing) -> None:
    def failed(outcome: Outcome, param: str | None = None) -> JSONResponse:
        status = http_status(outcome.code)
        body = openai_compat.error_body(outcome.code, status, outcome.message, param)
        return JSONResponse(body, status_code=status, headers=dict(outcome.trailing))

    @app.post("/v1/embeddings", tags=["OpenAI"], summary="Create embeddings (OpenAI)")
    async def embeddings(http: Request) -> Response:
        """OpenAI's embeddings API: `input` (a string or a list), `model` (a model of
        GET /v1/models; empty: the default sentence model), `encoding_format` (float or
        base64), `dimensions` (keep the first N, renormalised)."""
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        try:
            body = json.loads(await read_body(http, state.max_body_bytes) or b"{}")
            request, as_base64 = openai_compat.encode_request(body)
        except BodyTooLarge:
            code = grpc.StatusCode.RESOURCE_EXHAUSTED
            return failed(Outcome(None, code, _too_large(state.max_body_bytes)))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return failed(Outcome(None, invalid, f"body: not JSON: {exc}"))
        except openai_compat.InvalidEmbeddingsRequest as exc:
            return failed(Outcome(None, invalid, str(exc)), exc.param)
        outcome = await state.run(ENCODE, request, http)
        if not isinstance(outcome.response, pb.EncodeResponse):
            return failed(outcome)
        content = openai_compat.embeddings_response(outcome.response, as_base64, outcome.trailing)
        return JSONResponse(content, headers=dict(outcome.trailing))

    async def listed(http: Request) -> Outcome:
        return await state.run(LIST_MODELS, pb.ListModelsRequest(), http)

    @app.get("/v1/models", tags=["OpenAI"], summary="List models (OpenAI)")
    async def models(http: Request) -> Response:
        outcome = await listed(http)
        if not isinstance(outcome.response, pb.ListModelsResponse):
            return failed(outcome)
        return JSONResponse(openai_compat.models_response(outcome.response, state.started))

    @app.get("/v1/models/{model}", tags=["OpenAI"], summary="Retrieve a model (OpenAI)")
    async def model(model: str, http: Request) -> Response:
        outcome = await listed(http)
        if not isinstance(outcome.response, pb.ListModelsResponse):
            return failed(outcome)
        for info in outcome.response.models:
            if info.name == model:
                return JSONResponse(openai_compat.model_entry(info, state.started))
        names = ", ".join(m.name for m in outcome.response.models)
        missing = Outcome(None, grpc.StatusCode.NOT_FOUND, f"no model {model!r}; have: {names}")
        return failed(missing, "model")


def _add_operations_routes(app: FastAPI, state: HttpServing) -> None:
    @app.get("/health", tags=["Operations"], summary="Ready to serve or not (no key needed)")
    async def health() -> JSONResponse:
        if state.serving():
            return JSONResponse({"status": "SERVING"})
        return JSONResponse({"status": "NOT_SERVING"}, status_code=503)

    metrics = state.metrics
    if metrics is None:
        return

    @app.get("/metrics", tags=["Operations"], summary="Prometheus metrics (with --metrics-port)")
    async def prometheus(http: Request) -> Response:
        if state.keys is not None:
            problem = refusal(state.keys, "GET /metrics", presented_key(http.headers.items()))
            if problem is not None:
                code = grpc.StatusCode.UNAUTHENTICATED
                return status_response(Outcome(None, code, str(problem)))
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_explorer(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def explorer() -> FileResponse:
        return FileResponse(EXPLORER_DIR / "index.html")

    app.mount("/explorer", StaticFiles(directory=EXPLORER_DIR), name="explorer")
