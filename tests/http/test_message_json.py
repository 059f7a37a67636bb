"""message_json gives exactly what json_format.MessageToDict gives, only faster: every
response message that carries vectors, with float32 values of every magnitude, zeros,
subnormals, the extremes and NaN/Infinity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format

from latent.v1 import latent_pb2 as pb
from latentd.http.message_json import message_json, shortest_floats


def awkward_floats(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.integers(-40, 38, count)
    values = (rng.normal(size=count) * scales).astype(np.float32)
    values[:8] = [0.0, -0.0, 1e-45, -1.4e-45, 3.4028235e38, 1.1754944e-38, 0.1, 1 / 3]
    return values


def vector(seed: int, count: int = 64) -> pb.Vector:
    return pb.Vector(values=awkward_floats(count, seed))


MESSAGES: list[Any] = [
    pb.EncodeResponse(
        model="m", dimension=64, embeddings=[pb.Embedding(vector=vector(i)) for i in range(3)]
    ),
    pb.InterpolateResponse(
        points=[pb.InterpolationPoint(t=0.5, vector=vector(7), neighbors=[pb.Neighbor(key="a")])]
    ),
    pb.SearchResponse(hits=[pb.Hit(id="x", score=0.25, vector=vector(9))]),
    pb.GetResponse(documents=[pb.Document(id="d", vector=vector(11))], missing=["z"]),
    pb.EncodeResponse(embeddings=[pb.Embedding(vector=pb.Vector(packed=b"\x00" * 8))]),
    pb.AnalogyResponse(neighbors=[pb.Neighbor(key="queen", score=0.8523603)]),
]


@pytest.mark.parametrize("message", MESSAGES)
def test_the_same_json_as_message_to_dict(message: Any) -> None:
    expected = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    assert message_json(message) == expected


def test_the_message_itself_is_left_as_it_was() -> None:
    message = MESSAGES[0]
    before = message.SerializeToString()
    message_json(message)
    assert message.SerializeToString() == before


def test_non_finite_values_are_spelled_as_proto3_json_does() -> None:
    values = np.array([np.nan, np.inf, -np.inf, 0.5], dtype=np.float32)
    assert shortest_floats(values) == ["NaN", "Infinity", "-Infinity", 0.5]
    message = pb.EncodeResponse(embeddings=[pb.Embedding(vector=pb.Vector(values=values))])
    expected = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    assert message_json(message) == expected
