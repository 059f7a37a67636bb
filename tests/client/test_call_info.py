"""Client.last_call: the request id and the server's timing of the last call, per thread
and per asyncio task; Client.request_id() sends the caller's own id."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

import latent
from latent.cli import main

SENTENCE = "all-minilm-l6-v2"
SERVER_MADE_ID = re.compile(r"[0-9a-f]{32}")


def test_a_call_reports_its_request_id_and_total_time(server_target: str) -> None:
    with latent.Client(server_target, timeout=60) as client:
        assert client.last_call is None
        client.similarity("king", "queen")
        info = client.last_call
    assert info is not None
    assert info.request_id is not None and SERVER_MADE_ID.fullmatch(info.request_id)
    assert info.total_ms is not None and info.total_ms > 0
    # No sentence model ran: no model times.
    assert info.queue_ms is None and info.inference_ms is None


def test_encode_reports_queue_and_inference_time(server_target: str) -> None:
    with latent.Client(server_target, timeout=60) as client:
        client.encode(["a sentence to encode", "and another one"], SENTENCE)
        info = client.last_call
    assert info is not None and info.total_ms is not None
    assert info.queue_ms is not None and info.inference_ms is not None
    assert info.queue_ms >= 0 and info.inference_ms > 0
    # Both are parts of the server's whole time for the call.
    assert info.queue_ms + info.inference_ms <= info.total_ms


def test_the_callers_request_id_comes_back(server_target: str) -> None:
    with latent.Client(server_target, timeout=60) as client:
        with client.request_id("checkout-42/a.b_c"):
            client.models()
            inside = client.last_call
        client.models()  # outside the block: the server makes one
        after = client.last_call
    assert inside is not None and inside.request_id == "checkout-42/a.b_c"
    assert after is not None and after.request_id is not None
    assert SERVER_MADE_ID.fullmatch(after.request_id)


@pytest.mark.parametrize("bad", ["", "has a space", "x" * 129, "tab\there", "é-accent"])
def test_an_unacceptable_request_id_is_refused_before_a_call(server_target: str, bad: str) -> None:
    with latent.Client(server_target, timeout=60) as client:
        with (
            pytest.raises(ValueError, match="request_id: must be 1 to 128 visible ASCII"),
            client.request_id(bad),
        ):
            client.models()  # not reached
        assert client.last_call is None


def test_a_failed_call_has_its_info_too(server_target: str) -> None:
    with latent.Client(server_target, timeout=60) as client, client.request_id("failing-1"):
        with pytest.raises(latent.NotFound):
            client.nearest("nosuchwordatall")
        info = client.last_call
    assert info is not None
    assert info.request_id == "failing-1"
    assert info.total_ms is not None and info.total_ms > 0


def test_each_thread_sees_its_own_last_call(server_target: str) -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(4)

    with latent.Client(server_target, timeout=60) as client:

        def work(name: str) -> None:
            with client.request_id(name):
                barrier.wait()
                for _ in range(5):
                    client.similarity("king", "queen")
                barrier.wait()  # every thread has made its calls before any reads
                seen[name] = client.last_call.request_id if client.last_call else None

        threads = [threading.Thread(target=work, args=(f"thread-{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.last_call is None  # this thread made no call
    assert seen == {f"thread-{i}": f"thread-{i}" for i in range(4)}


def test_async_client_reports_per_task(server_target: str) -> None:
    async def main() -> tuple[latent.CallInfo | None, list[str | None]]:
        async with latent.AsyncClient(server_target, timeout=60) as client:
            await client.encode("an asynchronous sentence", SENTENCE)
            encoded = client.last_call

            async def task(name: str) -> str | None:
                with client.request_id(name):
                    await client.similarity("king", "queen")
                    await asyncio.sleep(0.01)  # the other tasks call meanwhile
                    return client.last_call.request_id if client.last_call else None

            ids = await asyncio.gather(*(task(f"task-{i}") for i in range(3)))
            return encoded, list(ids)

    encoded, ids = asyncio.run(main())
    assert encoded is not None and encoded.request_id is not None
    assert encoded.queue_ms is not None and encoded.inference_ms is not None
    assert encoded.inference_ms > 0
    assert ids == ["task-0", "task-1", "task-2"]


def test_the_command_prints_timing_on_stderr(
    server_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["encode", "a sentence", "--target", server_target, "--timing"])
    out, err = capsys.readouterr()
    assert code == 0 and out
    assert re.fullmatch(
        r"latent: request_id [0-9a-f]{32}, total [\d.]+ ms, queue [\d.]+ ms, "
        r"inference [\d.]+ ms\n",
        err,
    )
    assert main(["similarity", "king", "queen", "--target", server_target]) == 0
    assert capsys.readouterr().err == ""  # without --timing: nothing
