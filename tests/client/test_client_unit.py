"""Client pieces that need no server: term conversion, channel options, error mapping."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import numpy as np
import pytest

import latent
from latent import _convert as cv
from latent.cli import UsageError, parse_expression
from latent.client import channel_options
from latent.errors import from_rpc_error
from latent.v1 import latent_pb2 as pb


def test_import_is_light() -> None:
    code = "import sys, latent; print(sorted(m for m in ('grpc', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exports() -> None:
    for name in latent.__all__:
        assert getattr(latent, name) is not None
    assert issubclass(latent.NotFound, latent.LatentError)


def test_retry_service_config_and_message_limits() -> None:
    options = dict(channel_options())
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.max_send_message_length"] == 64 * 1024 * 1024
    assert options["grpc.max_receive_message_length"] == 64 * 1024 * 1024
    config = json.loads(options["grpc.service_config"])
    (method,) = config["methodConfig"]
    assert {n["service"] for n in method["name"]} == {
        "latent.v1.Models",
        "latent.v1.Embeddings",
        "latent.v1.Arithmetic",
    }
    policy = method["retryPolicy"]
    assert policy["maxAttempts"] == 5
    assert (policy["initialBackoff"], policy["maxBackoff"]) == ("0.1s", "2s")
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    extra = channel_options([("grpc.primary_user_agent", "test")])
    assert extra[-1] == ("grpc.primary_user_agent", "test")


def test_term_forms() -> None:
    assert cv.term("king") == pb.Term(key="king")
    assert cv.term(latent.Text("a cat")) == pb.Term(text="a cat")
    assert cv.term([1.0, 2]) == pb.Term(vector=pb.Vector(values=[1.0, 2.0]))
    assert cv.term(np.array([0.5, 0.25], dtype=np.float64)) == pb.Term(
        vector=pb.Vector(values=[0.5, 0.25])
    )
    weighted = cv.term(latent.Term(key="man", weight=-2.0))
    assert weighted.key == "man" and weighted.HasField("weight") and weighted.weight == -2.0
    assert not cv.term(latent.Term(text="x")).HasField("weight")
    assert cv.term(latent.Term(vector=np.ones(2))).vector.values == [1.0, 1.0]


def test_terms_single_or_many() -> None:
    assert [t.key for t in cv.terms("cat")] == ["cat"]
    assert [t.key for t in cv.terms(["cat", "dog"])] == ["cat", "dog"]
    assert len(cv.terms([0.1, 0.2, 0.3])) == 1  # a list of numbers is one vector
    assert len(cv.terms([np.ones(2), np.zeros(2)])) == 2
    assert cv.terms(()) == []
    with pytest.raises(TypeError):
        cv.term(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cv.term(np.ones((2, 2)))


def test_term_requires_one_form() -> None:
    with pytest.raises(ValueError):
        latent.Term()
    with pytest.raises(ValueError):
        latent.Term(key="a", vector=[1.0])
    assert latent.Term(vector=np.ones(2)) == latent.Term(vector=[1.0, 1.0])
    assert hash(latent.Term(key="a", weight=2.0)) == hash(latent.Term(key="a", weight=2.0))


def test_analogy_query_shapes() -> None:
    q = cv.analogy_query((["king", "woman"], "man"))
    assert [t.key for t in q.positive] == ["king", "woman"] and [t.key for t in q.negative] == [
        "man"
    ]
    assert not cv.analogy_query((["queen"],)).negative
    with pytest.raises(ValueError):
        cv.analogy_query("king")  # type: ignore[arg-type]


def test_optional_fields_only_when_given() -> None:
    from latent.client import _encode_request, _interpolate_request

    request = _encode_request("hi", "", None, None, None, False)
    assert not request.HasField("normalize") and not request.HasField("dimensions")
    request = _encode_request(["a", "b"], "m", True, 8, "query", True)
    assert request.normalize and request.dimensions == 8 and request.prompt_name == "query"
    request = _interpolate_request("a", "b", None, "slerp", 3, "", pb.QueryOptions())
    assert not request.HasField("steps") and request.k == 3 and request.path == pb.SLERP


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, latent.NotFound),
        (grpc.StatusCode.INVALID_ARGUMENT, latent.InvalidArgument),
        (grpc.StatusCode.FAILED_PRECONDITION, latent.FailedPrecondition),
        (grpc.StatusCode.UNAVAILABLE, latent.Unavailable),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, latent.ResourceExhausted),
        (grpc.StatusCode.DEADLINE_EXCEEDED, latent.DeadlineExceeded),
        (grpc.StatusCode.INTERNAL, latent.Internal),
        (grpc.StatusCode.PERMISSION_DENIED, latent.LatentError),
    ],
)
def test_error_mapping(code: grpc.StatusCode, cls: type[latent.LatentError]) -> None:
    error = from_rpc_error(_FakeRpcError(code, "the message"))
    assert type(error) is cls
    assert (error.code, error.message, str(error)) == (code, "the message", "the message")


def test_parse_expression() -> None:
    assert parse_expression(["king", "-", "man", "+", "woman"]) == (["king", "woman"], ["man"])
    assert parse_expression(["king - man + woman"]) == (["king", "woman"], ["man"])
    assert parse_expression(["king", "-man", "+woman"]) == (["king", "woman"], ["man"])
    assert parse_expression(["a cat", "-", "cat"], as_text=True) == (["a cat"], ["cat"])
    for bad in (["king", "-"], ["king", "-", "+", "man"], ["+"]):
        with pytest.raises(UsageError):
            parse_expression(bad)
