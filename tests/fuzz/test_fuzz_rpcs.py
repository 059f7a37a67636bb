"""Property-based fuzzing of every RPC of latent.v1 over a real server: arbitrary requests
(from each request message's descriptor) and targeted ones (that reach term resolution,
search, removal, filters and collection writes) must be answered OK (with no NaN or
infinity in the response) or with a documented error code and a short message, never
UNKNOWN or INTERNAL, and the server must stay healthy after each test.

The RPCs come from the proto's descriptors, so a new RPC is fuzzed by the generic
strategy at once, and `test_every_rpc_has_a_targeted_strategy` fails until it has a
targeted one. LATENT_FUZZ_EXAMPLES sets the examples per RPC and strategy (default 100:
28 RPCs x 2 strategies, about 5,200 requests, about 1.5 minutes on 2 cores)."""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
from collections.abc import Callable, Iterator

import grpc
import numpy as np
import pytest
from descriptor_strategies import messages
from google.protobuf import text_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from request_strategies import TARGETED, fixture_requests

from latent.v1 import latent_pb2 as pb
from latentd.api.errors import MAX_MESSAGE_CHARS
from latentd.testing import health_status

EXAMPLES = int(os.environ.get("LATENT_FUZZ_EXAMPLES", "100"))
CALL_TIMEOUT_S = 30.0
Code = grpc.StatusCode

# The codes README "### Errors" documents for bad input, and DEADLINE_EXCEEDED because
# every call here has a deadline. UNAVAILABLE is documented only while models load or an
# index builds (the fuzz server has loaded; a collection's index may be building).
DOCUMENTED = {
    Code.OK,
    Code.INVALID_ARGUMENT,
    Code.NOT_FOUND,
    Code.ALREADY_EXISTS,
    Code.FAILED_PRECONDITION,
    Code.RESOURCE_EXHAUSTED,
    Code.DEADLINE_EXCEEDED,
}
STILL_BUILDING = "still building its HNSW index"

METHODS: dict[str, MethodDescriptor] = {
    f"{service.name}.{method.name}": method
    for service in pb.DESCRIPTOR.services_by_name.values()
    for method in service.methods
}


Call = Callable[[Message], tuple[Code, str]]


@pytest.fixture(scope="module")
def calls(channel: grpc.Channel) -> dict[str, Call]:
    """RPC name -> a function sending a request and returning (code, details)."""

    def caller(method: MethodDescriptor) -> Call:
        stub = channel.unary_unary(
            f"/{method.containing_service.full_name}/{method.name}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=GetMessageClass(method.output_type).FromString,
        )

        def call(request: Message) -> tuple[Code, str]:
            try:
                response = stub(request, timeout=CALL_TIMEOUT_S)
            except grpc.RpcError as exc:
                return exc.code(), exc.details() or ""
            odd = non_finite(response)
            return Code.OK, f"non-finite numbers in the response: {odd[:5]}" if odd else ""

        return call

    return {name: caller(method) for name, method in METHODS.items()}


@pytest.fixture(autouse=True)
def fixture_data_then_health(fuzz_target: str, calls: dict[str, Call]) -> Iterator[None]:
    """Before each test the server gets its collections, documents and directions back
    (an earlier test may have deleted them); after it, it must still say SERVING."""
    for rpc, request in fixture_requests():
        code, details = calls[rpc](request)
        assert code in (Code.OK, Code.ALREADY_EXISTS), f"fixture {rpc}: {code.name}: {details}"
    yield
    assert health_status(fuzz_target, timeout=10) == health_pb2.HealthCheckResponse.SERVING


def non_finite(message: Message, path: str = "") -> list[str]:
    """The paths of NaN and infinite numbers in a response (float fields, packed vectors):
    an OK answer that holds one is wrong however it came about."""
    found: list[str] = []
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value.items():  # Struct.fields: string -> Value
                found += non_finite(item, f"{name}[{key!r}].")
            continue
        values = value if field.is_repeated else [value]
        for i, item in enumerate(values):
            where = f"{name}[{i}]" if field.is_repeated else name
            if field.type == field.TYPE_MESSAGE:
                found += non_finite(item, f"{where}.")
            elif field.type in (field.TYPE_FLOAT, field.TYPE_DOUBLE) and not math.isfinite(item):
                found.append(f"{where}={item}")
            elif field.name == "packed" and not np.isfinite(np.frombuffer(item, "<f4")).all():
                found.append(where)
    return found


def shown(request: Message) -> str:
    text = text_format.MessageToString(request, as_utf8=True)
    return text if len(text) <= 1500 else text[:1500] + f"... ({len(text)} characters)"


def check_answer(rpc: str, request: Message, code: Code, details: str) -> None:
    documented = STILL_BUILDING in details if code is Code.UNAVAILABLE else code in DOCUMENTED
    if code is Code.OK:
        short = not details  # an OK answer's details: its non-finite numbers, if any
    else:
        short = bool(details.strip()) and len(details) <= MAX_MESSAGE_CHARS
    assert documented and short, (
        f"{rpc} answered {code.name}: {details!r}\nrequest:\n{shown(request)}"
    )


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@functools.cache
def strategy_for(rpc: str, kind: str) -> st.SearchStrategy[Message]:
    if kind == "generic":
        return messages(METHODS[rpc].input_type)
    return TARGETED[rpc]()


def fuzz(
    rpc: str,
    kind: str,
    data: st.DataObject,
    calls: dict[str, Call],
    tally: Counter[tuple[str, str, str]],
) -> None:
    request = data.draw(strategy_for(rpc, kind), label="request")
    code, details = calls[rpc](request)
    tally[(rpc, kind, code.name)] += 1
    check_answer(rpc, request, code, details)


@pytest.mark.parametrize("rpc", list(METHODS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_generic_requests_get_documented_answers(
    rpc: str,
    data: st.DataObject,
    calls: dict[str, Call],
    fuzz_tally: Counter[tuple[str, str, str]],
) -> None:
    fuzz(rpc, "generic", data, calls, fuzz_tally)


@pytest.mark.parametrize("rpc", list(METHODS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_targeted_requests_get_documented_answers(
    rpc: str,
    data: st.DataObject,
    calls: dict[str, Call],
    fuzz_tally: Counter[tuple[str, str, str]],
) -> None:
    fuzz(rpc, "targeted", data, calls, fuzz_tally)


def test_every_rpc_has_a_targeted_strategy() -> None:
    assert set(TARGETED) == set(METHODS), (
        f"RPCs without a targeted strategy: {sorted(set(METHODS) - set(TARGETED))}; "
        f"strategies for no RPC: {sorted(set(TARGETED) - set(METHODS))}"
    )
