"""Client pieces that need no server: term conversion, channel options, error mapping."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import grpc
import numpy as np
import pytest
from google.protobuf.message import Message

import latent
from latent import _convert as cv
from latent._channel import channel_options
from latent.cli import UsageError, parse_expression
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
        "latent.v1.Collections",
        "latent.v1.Directions",
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
    # Vectors travel packed: little-endian float32 bytes.
    assert cv.term([1.0, 2]) == pb.Term(vector=pb.Vector(packed=np.array([1, 2], "<f4").tobytes()))
    assert cv.term(np.array([0.5, 0.25], dtype=np.float64)) == pb.Term(
        vector=pb.Vector(packed=np.array([0.5, 0.25], "<f4").tobytes())
    )
    weighted = cv.term(latent.Term(key="man", weight=-2.0))
    assert weighted.key == "man" and weighted.HasField("weight") and weighted.weight == -2.0
    assert not cv.term(latent.Term(text="x")).HasField("weight")
    assert list(cv.vector(cv.term(latent.Term(vector=np.ones(2))).vector)) == [1.0, 1.0]


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
    request = cv.encode_request("hi", "", None, None, None, False)
    assert not request.HasField("normalize") and not request.HasField("dimensions")
    request = cv.encode_request(["a", "b"], "m", True, 8, "query", True)
    assert request.normalize and request.dimensions == 8 and request.prompt_name == "query"
    request = cv.interpolate_request("a", "b", None, "slerp", 3, "", pb.QueryOptions())
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
        (grpc.StatusCode.UNAUTHENTICATED, latent.Unauthenticated),
        (grpc.StatusCode.PERMISSION_DENIED, latent.PermissionDenied),
        (grpc.StatusCode.DATA_LOSS, latent.DataLoss),
        (grpc.StatusCode.ABORTED, latent.LatentError),
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


def test_unreachable_is_a_subclass_of_unavailable() -> None:
    refused = _FakeRpcError(
        grpc.StatusCode.UNAVAILABLE,
        "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
        "Failed to connect to remote host: Connection refused",
    )
    assert type(from_rpc_error(refused)) is latent.ServerUnreachable
    assert isinstance(from_rpc_error(refused), latent.Unavailable)
    loading = _FakeRpcError(grpc.StatusCode.UNAVAILABLE, "latentd is loading models")
    assert type(from_rpc_error(loading)) is latent.Unavailable
    # Only UNAVAILABLE: the same words in another status are the server's own message.
    other = _FakeRpcError(grpc.StatusCode.NOT_FOUND, "unknown key 'connection refused'")
    assert type(from_rpc_error(other)) is latent.NotFound


# Request fields that carry what the caller asked for, not an option.
_OPERANDS = {
    "inputs",
    "positive",
    "negative",
    "query",
    "queries",
    "start",
    "end",
    "a",
    "b",
    "terms",
}


class _Sent(Exception):
    """Raised by the fake _call once it has recorded the request."""


def _requests_sent(
    monkeypatch: pytest.MonkeyPatch, calls: list[Callable[[latent.Client], object]]
) -> list[Message]:
    from latent.client import Client

    sent: list[Message] = []

    def fake_call(self: Client, rpc: object, request: Message, timeout: float | None) -> None:
        sent.append(request)
        raise _Sent

    monkeypatch.setattr(Client, "_call", fake_call)
    with Client("127.0.0.1:1") as client:
        for call in calls:
            with pytest.raises(_Sent):
                call(client)
    return sent


def _given(request: Message) -> set[str]:
    """The fields set in a request, besides its operands, an all-default options and the
    vector format (the client always asks for packed vectors)."""
    fields = {f.name for f, _ in request.ListFields()} - _OPERANDS
    if "vector_format" in fields:
        assert request.vector_format == pb.PACKED  # type: ignore[attr-defined]
        fields.discard("vector_format")
    options = getattr(request, "options", None)
    if options is not None and not options.ListFields():
        fields.discard("options")
    return fields


def test_client_leaves_unset_options_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Callable[[latent.Client], object]] = [
        lambda c: c.encode("a cat"),
        lambda c: c.encode_detailed(["a cat"]),
        lambda c: c.analogy(["king", "woman"], ["man"]),
        lambda c: c.batch_analogy([(["king", "woman"], ["man"])]),
        lambda c: c.nearest("cat"),
        lambda c: c.batch_nearest(["cat"]),
        lambda c: c.interpolate("cat", "dog"),
        lambda c: c.similarity("cat", "dog"),
        lambda c: c.doesnt_match(["cat", "dog", "king"]),
    ]
    sent = _requests_sent(monkeypatch, calls)
    assert [_given(r) for r in sent] == [set()] * len(calls)
    for request in sent:
        for name in ("k", "steps", "normalize", "dimensions"):
            if name in request.DESCRIPTOR.fields_by_name:
                assert not request.HasField(name), f"{type(request).__name__}.{name}"


def test_client_sends_what_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    analogy, interpolate, encode = _requests_sent(
        monkeypatch,
        [
            lambda c: c.analogy("king", "man", k=3, method="cosmul", ef=50, restrict=9),
            lambda c: c.interpolate("cat", "dog", steps=4, path="slerp", k=2),
            lambda c: c.encode("a cat", normalize=False, dimensions=64),
        ],
    )
    assert isinstance(analogy, pb.AnalogyRequest)
    assert (analogy.k, analogy.method) == (3, pb.COSMUL)
    assert (analogy.options.ef, analogy.options.restrict) == (50, 9)
    assert isinstance(interpolate, pb.InterpolateRequest)
    assert (interpolate.steps, interpolate.path, interpolate.k) == (4, pb.SLERP, 2)
    assert isinstance(encode, pb.EncodeRequest)
    assert encode.HasField("normalize") and not encode.normalize and encode.dimensions == 64


@pytest.mark.parametrize(
    ("argv", "given"),
    [
        (["analogy", "king", "-", "man", "+", "woman"], set()),
        (["nearest", "cat"], set()),
        (["interpolate", "cat", "dog"], {"k"}),  # the command's own 5 a point
        (["encode", "a cat"], set()),
        (["doesnt-match", "cat", "dog", "king"], set()),
        (["similarity", "cat", "dog"], set()),
    ],
)
def test_command_leaves_unset_options_to_the_server(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], given: set[str]
) -> None:
    from latent.cli import INTERPOLATE_K, main
    from latent.client import Client

    sent: list[Message] = []

    def fake_call(self: Client, rpc: object, request: Message, timeout: float | None) -> None:
        sent.append(request)
        raise latent.Internal(grpc.StatusCode.INTERNAL, "stop here")

    monkeypatch.setattr(Client, "_call", fake_call)
    assert main([*argv, "--target", "127.0.0.1:1"]) == 1
    (request,) = sent
    assert _given(request) == given
    if given:
        assert request.k == INTERPOLATE_K  # type: ignore[attr-defined]


def test_async_client_mirrors_client() -> None:
    """The generated AsyncClient has Client's methods, signatures and docstrings."""
    import inspect

    from latent.async_client import AsyncClient
    from latent.client import Client

    def public(cls: type) -> dict[str, Callable[..., object]]:
        return {n: f for n, f in vars(cls).items() if callable(f) and not n.startswith("_")} | {
            "__init__": vars(cls)["__init__"]
        }

    sync, aio = public(Client), public(AsyncClient)
    assert sorted(sync) == sorted(aio)
    for name, method in sync.items():
        # The same signature, but for the generator's rename grpc.Channel -> grpc.aio.Channel.
        expected = str(inspect.signature(method)).replace(
            "DocumentScroll[grpc.Channel]", "DocumentScroll[grpc.aio.Channel]"
        )
        assert expected == str(inspect.signature(aio[name])), name
        assert method.__doc__ == aio[name].__doc__, name
        if name == "scroll":  # returns a DocumentScroll: iterable, or async iterable here
            assert not inspect.iscoroutinefunction(aio[name])
        elif name != "__init__":
            assert inspect.iscoroutinefunction(aio[name]), name
    assert inspect.iscoroutinefunction(AsyncClient.__aenter__)
    assert inspect.iscoroutinefunction(AsyncClient.__aexit__)
