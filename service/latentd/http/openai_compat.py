"""The OpenAI embeddings API over Encode and ListModels: `POST /v1/embeddings`,
`GET /v1/models` and `GET /v1/models/{id}`, in the shapes the `openai` package reads.

Requests become an EncodeRequest and go through the same pipeline as any call; only the
shapes differ. `usage` counts the tokens the sentence model read (the trailing
`x-compute-tokens`); a word model has no tokenizer, and reports 0."""

from __future__ import annotations

import base64
from typing import Any

import grpc
import numpy as np

from latent.v1 import latent_pb2 as pb
from latentd.http.message_json import shortest_floats

ENCODING_FORMATS = ("float", "base64")
TOKENS_HEADER = "x-compute-tokens"

# OpenAI's error types, by the HTTP status of the gRPC code.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    429: "rate_limit_error",
}


class InvalidEmbeddingsRequest(ValueError):
    """An OpenAI request that cannot become an EncodeRequest; names the parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


def encode_request(body: Any) -> tuple[pb.EncodeRequest, bool]:
    """The EncodeRequest of an OpenAI embeddings request, and whether base64 is wanted."""
    if not isinstance(body, dict):
        raise InvalidEmbeddingsRequest("body", "must be a JSON object")
    texts = _inputs(body.get("input"))
    model = body.get("model", "")
    if not isinstance(model, str):
        raise InvalidEmbeddingsRequest("model", "must be a string: a model of GET /v1/models")
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise InvalidEmbeddingsRequest(
            "encoding_format", f"must be 'float' or 'base64', got {encoding_format!r}"
        )
    request = pb.EncodeRequest(model=model, inputs=texts)
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
            raise InvalidEmbeddingsRequest("dimensions", "must be a positive integer")
        request.dimensions = dimensions
    if encoding_format == "base64":
        request.vector_format = pb.PACKED  # little-endian float32: base64 of it as it is
    return request, encoding_format == "base64"


def _inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    if isinstance(value, list) and value and all(isinstance(item, int | list) for item in value):
        raise InvalidEmbeddingsRequest(
            "input", "token arrays are not supported: send text, a string or a list of strings"
        )
    raise InvalidEmbeddingsRequest("input", "must be a string or a non-empty list of strings")


def embeddings_response(
    response: pb.EncodeResponse, as_base64: bool, trailing: list[tuple[str, str]]
) -> dict[str, Any]:
    tokens = int(dict(trailing).get(TOKENS_HEADER, "0"))
    data = []
    for index, embedding in enumerate(response.embeddings):
        vector: Any
        if as_base64:
            vector = base64.b64encode(embedding.vector.packed).decode("ascii")
        else:  # float32 written shortest, as proto3 JSON does: 0.8796388, not 0.8796387910842896
            vector = shortest_floats(np.asarray(embedding.vector.values, dtype=np.float32))
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {
        "object": "list",
        "data": data,
        "model": response.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def model_entry(model: pb.ModelInfo, created: int) -> dict[str, Any]:
    return {"id": model.name, "object": "model", "created": created, "owned_by": "latent"}


def models_response(response: pb.ListModelsResponse, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [model_entry(m, created) for m in response.models]}


def error_body(
    code: grpc.StatusCode, http_status: int, message: str, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape, which its client raises as BadRequestError, NotFoundError..."""
    kind = _ERROR_TYPES.get(http_status, "server_error" if http_status >= 500 else "api_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code.name.lower()}}
