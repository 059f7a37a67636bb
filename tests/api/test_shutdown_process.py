"""Deadlines and the stop sequence, over real `latentd serve` processes (a tiny word file,
`--no-default-models`; the default sentence model where Encode is needed):

- a burst of Encode calls whose 50 ms deadline passes leaves the server idle within a
  second (its CPU time, from /proc/PID/stat, stops growing) and still answering;
- SIGTERM during heavy Encode traffic: health NOT_SERVING and new calls UNAVAILABLE
  during the grace, the calls in flight finish or are cancelled, exit 0 soon after
  the grace;
- SIGTERM or SIGINT during a stream of Upserts from several threads: exit 0, and after a
  restart every acknowledged document is there with its text, metadata and vector."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.testing import (
    child_env,
    latentd_command,
    read_serving_line,
    serving_port,
    stop_process,
    wait_for,
)

GRACE_S = 3.0
# About 220 tokens: long for all-MiniLM-L6-v2 (256 at most), so each costs real work.
LONG_TEXT = " ".join(["the quick brown fox jumps over the lazy dog"] * 24)


@dataclass
class Server:
    process: subprocess.Popen[str]
    target: str
    log: Path

    def cpu_seconds(self) -> float:
        """utime + stime of the server process."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # clock ticks (USER_HZ = 100)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8")


def start(tmp_path: Path, *, sentence_model: bool, data_dir: Path | None = None) -> Server:
    from latentd.app import default_sentence_dir

    words = tmp_path / "words.txt"
    words.write_text("3 2\na 1 0\nb 0 1\nc 1 1\n", encoding="utf-8")
    log = tmp_path / "latentd.log"
    args = [
        "serve",
        "--no-default-models",
        "--no-index",
        "--port",
        "0",
        "--grace",
        str(GRACE_S),
        "--word-model",
        f"w={words}",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--data-dir",
        str(data_dir or tmp_path / "data"),
    ]
    if sentence_model:
        args += ["--sentence-model", f"s={default_sentence_dir()}"]
    with log.open("a", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [*latentd_command(), *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=child_env(drop_latent=True, PYTHONUNBUFFERED="1"),
        )
    try:
        line = read_serving_line(process, timeout=120)
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(f"latentd did not start:\n{log.read_text()}") from None
    return Server(process, f"127.0.0.1:{serving_port(line)}", log)


@pytest.fixture
def encode_server(tmp_path: Path) -> Iterator[Server]:
    server = start(tmp_path, sentence_model=True)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            stop_process(server.process)


def encode(stub: pb_grpc.EmbeddingsStub, inputs: int, timeout: float) -> pb.EncodeResponse:
    return stub.Encode(pb.EncodeRequest(model="s", inputs=[LONG_TEXT] * inputs), timeout=timeout)


def code_of(error: grpc.RpcError) -> grpc.StatusCode:
    return error.code()  # type: ignore[no-any-return]


def test_a_burst_past_its_deadline_leaves_the_server_idle(encode_server: Server) -> None:
    """200 Encode calls of 16 long texts (about 3,500 tokens each, a second of the
    model's time) with a 50 ms deadline. Once the burst has ended the server finishes at
    most the forward pass it is in and the calls still arriving (0.4 s of CPU measured);
    it used to run a round for every job it found alive (2.9 s). The bound is on CPU
    time, which other processes on the machine do not stretch."""
    codes: Counter[grpc.StatusCode] = Counter()

    def caller(channel: grpc.Channel) -> None:
        stub = pb_grpc.EmbeddingsStub(channel)
        for _ in range(10):
            try:
                encode(stub, 16, timeout=0.05)
                codes[grpc.StatusCode.OK] += 1
            except grpc.RpcError as exc:
                codes[code_of(exc)] += 1

    with grpc.insecure_channel(encode_server.target) as channel:
        encode(pb_grpc.EmbeddingsStub(channel), 1, timeout=30)  # connected and warm
        threads = [threading.Thread(target=caller, args=(channel,)) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        at_end = encode_server.cpu_seconds()
        assert codes == {grpc.StatusCode.DEADLINE_EXCEEDED: 200}, codes
        idle_from = wait_until_idle(encode_server, quiet_s=1.0, timeout=15)
        assert idle_from is not None, "the server kept computing after the burst"
        spent = idle_from - at_end
        assert spent < 1.0, f"the server spent {spent:.2f}s of CPU after the burst"
        # And it still answers.
        reply = encode(pb_grpc.EmbeddingsStub(channel), 2, timeout=30)
        assert len(reply.embeddings) == 2


def wait_until_idle(server: Server, quiet_s: float, timeout: float) -> float | None:
    """The server's CPU time once it has stopped growing for `quiet_s` seconds (None if
    it never does within `timeout`)."""
    deadline = time.monotonic() + timeout
    last, quiet_since = server.cpu_seconds(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = server.cpu_seconds()
        if now - last > 0.02:  # computing (/proc counts in 10 ms ticks)
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return last
    return None


def test_sigterm_during_heavy_encode_traffic(encode_server: Server) -> None:
    """Four callers of 8 long texts keep the model busy; one call of 64 (about 14,000
    tokens, seconds of the model's time) is in flight at the signal, so the grace lasts
    until it ends or is cancelled."""
    outcomes: Counter[grpc.StatusCode] = Counter()
    stop = threading.Event()

    def caller() -> None:
        with grpc.insecure_channel(encode_server.target) as channel:
            stub = pb_grpc.EmbeddingsStub(channel)
            while not stop.is_set():
                try:
                    encode(stub, 8, timeout=60)
                    outcomes[grpc.StatusCode.OK] += 1
                except grpc.RpcError as exc:
                    outcomes[code_of(exc)] += 1
                    return

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    with (
        grpc.insecure_channel(encode_server.target) as channel,
        grpc.insecure_channel(encode_server.target) as probe,
    ):
        try:
            assert wait_for(lambda: outcomes[grpc.StatusCode.OK] >= 2, timeout=60)
            big = pb_grpc.EmbeddingsStub(channel).Encode.future(
                pb.EncodeRequest(model="s", inputs=[LONG_TEXT] * 64), timeout=60
            )
            assert health_check(probe) == health_pb2.HealthCheckResponse.SERVING
            time.sleep(0.3)  # the big call reaches the model
            signalled = time.monotonic()
            encode_server.process.send_signal(signal.SIGTERM)
            # During the grace: health says NOT_SERVING and a new call is refused.
            not_serving = wait_for(
                lambda: health_check(probe) == health_pb2.HealthCheckResponse.NOT_SERVING,
                timeout=GRACE_S,
                interval=0.02,
            )
            assert not_serving is not None, "health never said NOT_SERVING"
            with pytest.raises(grpc.RpcError) as refused:
                encode(pb_grpc.EmbeddingsStub(probe), 1, timeout=5)
            status = encode_server.process.wait(timeout=GRACE_S + 30)
            exited_after = time.monotonic() - signalled
            try:
                big.result()
                outcomes[grpc.StatusCode.OK] += 1
            except grpc.RpcError as exc:
                outcomes[code_of(exc)] += 1
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in refused.value.details()
    assert status == 0, encode_server.log_text()[-3000:]
    assert exited_after < GRACE_S + 3, f"exited {exited_after:.1f}s after SIGTERM"
    assert set(outcomes) <= {
        grpc.StatusCode.OK,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
    }, outcomes
    assert "Traceback" not in encode_server.log_text()


def health_check(channel: grpc.Channel) -> int:
    stub: Any = health_pb2_grpc.HealthStub(channel)  # its stubs declare no Check
    return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status)


# -- acknowledged writes survive a graceful stop -------------------------------------------

COLLECTION = "acked"
DIM = 8
WRITERS = 4


@dataclass(frozen=True)
class Written:
    text: str
    metadata: dict[str, object]
    vector: tuple[float, ...]


def document(doc_id: str, written: Written) -> pb.Document:
    doc = pb.Document(id=doc_id, text=written.text, vector=pb.Vector(values=written.vector))
    doc.metadata.update(written.metadata)
    return doc


def write_until_refused(
    stub: pb_grpc.CollectionsStub, writer: int, acked: dict[str, Written], failures: list[str]
) -> None:
    """Upserts of 10 new documents each until one fails (the server stops)."""
    rng = np.random.default_rng(writer)
    batch = 0
    while True:
        docs = {}
        for i in range(10):
            doc_id = f"w{writer}-{batch}-{i}"
            vector = tuple(float(x) for x in rng.normal(size=DIM).astype(np.float32))
            docs[doc_id] = Written(
                f"text of {doc_id} ⚙", {"writer": writer, "batch": batch, "i": i}, vector
            )
        try:
            stub.Upsert(
                pb.UpsertRequest(
                    collection=COLLECTION, documents=[document(k, v) for k, v in docs.items()]
                ),
                timeout=30,
            )
        except grpc.RpcError as exc:
            failures.append(f"{code_of(exc).name}: {exc.details()}")
            return
        acked.update(docs)
        batch += 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_upserts_keeps_every_acknowledged_write(
    tmp_path: Path, signum: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    server = start(tmp_path, sentence_model=False, data_dir=data_dir)
    acked: list[dict[str, Written]] = [{} for _ in range(WRITERS)]
    failures: list[str] = []
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = pb_grpc.CollectionsStub(channel)
            stub.CreateCollection(
                pb.CreateCollectionRequest(name=COLLECTION, dimension=DIM), timeout=30
            )
            threads = [
                threading.Thread(target=write_until_refused, args=(stub, w, acked[w], failures))
                for w in range(WRITERS)
            ]
            for thread in threads:
                thread.start()
            assert wait_for(lambda: all(len(a) >= 50 for a in acked), timeout=60)
            server.process.send_signal(signum)
            status = server.process.wait(timeout=GRACE_S + 30)
            for thread in threads:
                thread.join(timeout=60)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
    assert status == 0, server.log_text()[-3000:]
    assert len(failures) == WRITERS  # each writer stopped at a refused write
    assert all(f.split(":")[0] in {"UNAVAILABLE", "CANCELLED"} for f in failures), failures

    restarted = start(tmp_path, sentence_model=False, data_dir=data_dir)
    try:
        expected = {k: v for writer in acked for k, v in writer.items()}
        with grpc.insecure_channel(restarted.target) as channel:
            reply = pb_grpc.CollectionsStub(channel).Get(
                pb.GetRequest(collection=COLLECTION, ids=sorted(expected), with_vector=True),
                timeout=60,
            )
    finally:
        assert stop_process(restarted.process) == 0
    assert list(reply.missing) == []
    assert len(reply.documents) == len(expected)
    for doc in reply.documents:
        want = expected[doc.id]
        assert doc.text == want.text
        assert json_format.MessageToDict(doc.metadata) == want.metadata
        np.testing.assert_array_equal(np.asarray(doc.vector.values, np.float32), want.vector)
