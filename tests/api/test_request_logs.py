"""The server's log over a real server: one access line per RPC with its request id (the
caller's, or one the server makes), JSON lines that parse, and no text, key or API key of
a request in any line at INFO."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import grpc
import pytest

import latent
from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.observing import REQUEST_ID
from latentd.config import Settings
from latentd.logs import log_handler, request_context
from latentd.testing import start_test_server

SENTENCE = "all-minilm-l6-v2"
SERVER_MADE_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, anywhere in this process, as JSON lines."""
    yield from _captured("json")


@pytest.fixture
def text_log() -> Iterator[io.StringIO]:
    yield from _captured("text")


def _captured(log_format: str) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = log_handler(log_format, stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [e for e in entries(stream) if e["logger"] == "latentd.access"]


def test_an_access_line_per_call_with_the_callers_request_id(
    server_target: str, json_log: io.StringIO
) -> None:
    with latent.Client(server_target, timeout=60) as client:
        with client.request_id("req-json-1"):
            client.similarity("king", "queen")
        sent_back = client.last_call
        with client.request_id("req-json-2"), pytest.raises(latent.NotFound):
            client.nearest("nosuchwordatall")

    assert sent_back is not None and sent_back.request_id == "req-json-1"
    lines = {e["request_id"]: e for e in access_lines(json_log)}
    first, second = lines["req-json-1"], lines["req-json-2"]
    assert first["level"] == "INFO"
    assert first["method"] == "latent.v1.Arithmetic/Similarity"
    assert first["code"] == "OK"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert first["peer"].startswith(("ipv4:127.0.0.1:", "ipv6:"))
    assert first["message"].startswith("latent.v1.Arithmetic/Similarity OK ")
    assert datetime.fromisoformat(first["time"]).utcoffset() is not None
    assert (second["method"], second["code"]) == ("latent.v1.Arithmetic/Nearest", "NOT_FOUND")
    assert len(access_lines(json_log)) == 2  # one line per call, nothing else logged per call


def test_an_unacceptable_request_id_is_replaced(server_target: str, json_log: io.StringIO) -> None:
    # The client refuses these; another client might send them.
    with grpc.insecure_channel(server_target) as channel:
        stub = pb_grpc.ModelsStub(channel)
        for bad in ("has a space", "x" * 129):
            _, call = stub.ListModels.with_call(
                pb.ListModelsRequest(), metadata=[(REQUEST_ID, bad)], timeout=30
            )
            made = dict(call.trailing_metadata())[REQUEST_ID]
            assert SERVER_MADE_ID.fullmatch(made)
    logged = [e["request_id"] for e in access_lines(json_log)]
    assert len(logged) == 2 and all(SERVER_MADE_ID.fullmatch(r) for r in logged)


def test_text_lines_carry_the_request_id(server_target: str, text_log: io.StringIO) -> None:
    with latent.Client(server_target, timeout=60) as client, client.request_id("req-text-1"):
        client.similarity("king", "queen")
    (line,) = [line for line in text_log.getvalue().splitlines() if "latentd.access" in line]
    assert re.fullmatch(
        r"\S+ \S+ INFO latentd\.access: latent\.v1\.Arithmetic/Similarity OK [\d.]+ ms "
        r"peer \S+ request_id=req-text-1",
        line,
    )


def test_an_exception_is_one_json_line_with_its_traceback(json_log: io.StringIO) -> None:
    with request_context("req-failing"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("latentd.test").exception("it failed")
    (entry,) = entries(json_log)
    assert entry["message"] == "it failed"
    assert entry["request_id"] == "req-failing"
    assert entry["level"] == "ERROR"
    assert "Traceback" in entry["exception"] and "RuntimeError: boom" in entry["exception"]


MARKER = "zqxmarker"  # in every text, key and document the tests below send


def test_no_request_text_or_key_is_logged_at_info(
    server_target: str, json_log: io.StringIO
) -> None:
    with latent.Client(server_target, timeout=60) as client:
        client.encode([f"a {MARKER} sentence"], SENTENCE)
        client.encode([f"{MARKER}word"])  # a word model's Encode of an unknown word
        with pytest.raises(latent.NotFound):
            client.nearest(f"{MARKER}key")
        client.similarity(latent.Text(f"king {MARKER}"), "queen")
        client.create_collection("logged", model=SENTENCE)
        client.upsert("logged", [latent.Document(f"{MARKER}-id", text=f"{MARKER} document")])
        client.search("logged", latent.Text(f"{MARKER} query"), k=1)
        with pytest.raises(latent.InvalidArgument):
            client.encode(["x" * 100_000 + MARKER], SENTENCE)  # over max_text_chars
    log = json_log.getvalue()
    assert len(access_lines(json_log)) == 8
    assert MARKER not in log


def test_no_api_key_is_logged_at_info(tiny_kv: Any, json_log: io.StringIO) -> None:
    key, wrong = f"{MARKER}-right-key-0123456789", f"{MARKER}-wrong-key-0123456789"
    settings = Settings(api_keys=(key,))
    with start_test_server(tiny_kv, sentence_model=False, settings=settings) as target:
        with latent.Client(target, timeout=30, api_key=key) as client:
            client.similarity("king", "queen")
        with (
            latent.Client(target, timeout=30, api_key=wrong) as client,
            pytest.raises(latent.LatentError),
        ):
            client.similarity("king", "queen")
    codes = [e["code"] for e in access_lines(json_log)]
    assert codes == ["OK", "UNAUTHENTICATED"]
    assert MARKER not in json_log.getvalue()
